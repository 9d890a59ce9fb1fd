"""fit/evaluate: the course's classic experiments and the loop's guarantees."""
import warnings

import numpy as np
import pytest

import gradwork as gw
from gradwork import models, nn, optim
from gradwork.data import datasets
from gradwork.train import (Callback, EarlyStopping, ModelCheckpoint, accuracy, confusion_matrix, evaluate, fit,
                            top_k_accuracy)

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def train_xor(activation, hidden=8, epochs=600):
    model = models.MLP([2, hidden, 2], activation=activation)
    fit(model, (XOR_X, XOR_Y), loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=0.05),
        epochs=epochs, batch_size=4, verbose=0)
    return evaluate(model, (XOR_X, XOR_Y))["accuracy"]


def test_xor_needs_a_nonlinear_hidden_layer():
    assert train_xor("tanh") == 1.0
    assert train_xor("relu") == 1.0
    # A stack of linear layers is one linear map: a line cannot separate XOR, at most 3 of 4 are right.
    assert train_xor("linear") <= 0.75


def test_zero_initialisation_keeps_hidden_units_identical():
    def trained(zero):
        gw.manual_seed(0)
        model = models.MLP([2, 4, 2], activation="tanh")
        if zero:
            for p in model.parameters():
                nn.init.zeros_(p)
        x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
        fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.5), epochs=20,
            verbose=0)
        return model.layers[0].weight.data

    w = trained(zero=True)
    assert np.all(w == w[0])  # symmetry is never broken: every hidden unit computes the same thing
    w = trained(zero=False)
    assert not np.allclose(w, w[0])


def test_mlp_reaches_95_percent_on_digits_with_the_cli_defaults_for_mlp():
    from gradwork.cli.main import build_parser
    from gradwork.cli.train import Experiment, config_from_args

    config = config_from_args(build_parser().parse_args(["train", "--model", "mlp"]))
    experiment = Experiment(config)
    history = fit(experiment.model, experiment.train_set, loss="cross_entropy", optimizer=experiment.optimizer,
                  epochs=config["epochs"], val_data=experiment.val_set, batch_size=config["batch_size"], verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 5
    assert evaluate(experiment.model, experiment.test_set)["accuracy"] >= 0.95


def small_digits():
    train, test = datasets.load_digits()
    return train, test


def test_history_has_train_and_validation_values_per_epoch():
    train, test = small_digits()
    model = models.MLP([64, 32, 10])
    history = fit(model, train, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=3,
                  val_data=test, metrics=("accuracy", "top3_accuracy"), verbose=0)
    assert len(history) == 3 and history.epoch == [0, 1, 2]
    for key in ("loss", "accuracy", "top3_accuracy", "val_loss", "val_accuracy", "val_top3_accuracy", "lr"):
        assert len(history[key]) == 3
    assert history["val_top3_accuracy"][-1] >= history["val_accuracy"][-1]


def test_fit_trains_in_train_mode_and_evaluates_in_eval_mode_without_a_graph():
    modes = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            modes.append((self.training, gw.is_grad_enabled()))
            return self.fc(x.flatten(1))

    train, test = small_digits()
    model = Spy()
    fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
        val_data=test, batch_size=512, verbose=0)
    assert modes[:3] == [(True, True)] * 3 and modes[-1] == (False, False)


def test_same_seed_gives_identical_histories():
    def run():
        gw.manual_seed(42)
        train, _ = small_digits()
        model = models.MLP([64, 32, 10], dropout=0.2)
        return fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
                   verbose=0).history

    assert run() == run()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_guard_stops_with_a_helpful_message():
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32) * 1e3
    y = x.sum(axis=1, keepdims=True)
    model = nn.Linear(4, 1)
    with pytest.warns(RuntimeWarning, match=r"loss became (nan|inf) at epoch \d+, step \d+; .*lower learning rate"):
        history = fit(model, (x, y), loss="mse", optimizer=optim.SGD(model.parameters(), lr=10.0), epochs=5,
                      metrics=(), verbose=0)
    assert "lower learning rate" in history.stop_reason and history.diverged
    assert len(history) < 5  # stopped early; the diverged epoch itself is not recorded
    assert all(np.isfinite(history["loss"]))


def test_early_stopping_restores_the_best_weights():
    train, test = small_digits()
    model = models.MLP([64, 16, 10])
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best=True)
    history = fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=3.0), epochs=30,
                  val_data=test, callbacks=[stopper], verbose=0)
    best = int(np.argmin(history["val_loss"]))
    assert len(history) == best + 3 < 30  # two epochs without improvement after the best, then stop
    assert "early stopping" in history.stop_reason
    restored = evaluate(model, test, loss="cross_entropy")["loss"]
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_early_stopping_without_validation_data_says_what_to_do():
    train, _ = small_digits()
    model = models.MLP([64, 10])
    with pytest.raises(KeyError, match="pass val_data"):
        fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
            callbacks=[EarlyStopping()], verbose=0)


def test_model_checkpoint_saves_the_best_epoch(tmp_path):
    train, test = small_digits()
    model = models.MLP([64, 16, 10])
    path = tmp_path / "best.safetensors"
    history = fit(model, train, loss="cross_entropy", optimizer=optim.Adam(model.parameters()), epochs=3,
                  val_data=test, callbacks=[ModelCheckpoint(path)], verbose=0)
    checkpoint = gw.io.load(path)
    assert checkpoint.epoch == int(np.argmin(history["val_loss"])) + 1
    assert checkpoint.optimizer_state is not None


def test_scheduler_is_stepped_every_epoch():
    train, _ = small_digits()
    model = models.MLP([64, 10])
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, train, loss="cross_entropy", optimizer=opt, epochs=3,
                  scheduler=optim.lr_scheduler.StepLR(opt, 1, 0.5), verbose=0)
    assert history["lr"] == [1.0, 0.5, 0.25]


def test_progress_is_printed_as_plain_lines_when_not_a_terminal(capsys):
    train, test = small_digits()
    model = models.MLP([64, 10])
    fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2,
        val_data=test, verbose=1)
    err = capsys.readouterr().err
    assert "epoch 1/2 loss" in err and "| val loss" in err and "epoch 2/2" in err


def test_verbose_zero_is_silent(capsys):
    train, _ = small_digits()
    model = models.MLP([64, 10])
    fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_clip_grad_norm_option_limits_every_step():
    norms = []

    class Recorder(Callback):
        def on_batch_end(self, state, logs):
            norms.append(np.sqrt(sum((p.grad ** 2).sum() for p in state.model.parameters())))

    train, _ = small_digits()
    model = models.MLP([64, 10])
    fit(model, train, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
        clip_grad_norm=0.05, callbacks=[Recorder()], verbose=0)
    assert max(norms) <= 0.05 * (1 + 1e-4)


def test_metrics():
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1]])
    labels = np.array([1, 0, 1, 1])
    assert accuracy(scores, labels) == 0.5
    assert top_k_accuracy(scores, labels, k=2) == 1.0
    np.testing.assert_array_equal(confusion_matrix(labels, scores, 3), [[1, 0, 0], [1, 1, 1], [0, 0, 0]])
    assert accuracy(np.array([0.9, 0.2]), np.array([1.0, 0.0])) == 1.0  # probabilities: threshold 0.5
    assert accuracy(np.array([[2.0], [-1.0]]), np.array([[1], [1]])) == 0.5  # logits: threshold 0


def test_fit_rejects_bad_inputs_clearly():
    model = models.MLP([64, 10])
    opt = optim.SGD(model.parameters(), lr=0.1)
    empty = (np.zeros((0, 64), np.float32), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="train_data is empty"):
        fit(model, empty, loss="cross_entropy", optimizer=opt, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fit(model, small_digits()[0], loss="cross_entropy", optimizer=opt, epochs=1, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, small_digits()[0], loss="hinge", optimizer=opt, epochs=1, verbose=0)
    bad_labels = (np.zeros((4, 64), np.float32), np.array([0, 1, 10, 2]))
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\)"):
        fit(model, bad_labels, loss="cross_entropy", optimizer=opt, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, small_digits()[0], loss="cross_entropy", optimizer=opt, epochs=0, verbose=0)
