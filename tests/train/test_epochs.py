"""The epoch loop every training function shares: divergence handling, schedules, model modes."""
import warnings

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn, optim
from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.train import fit


def diverging_run(**options):
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32) * 1e3
    y = x.sum(axis=1, keepdims=True)
    model = nn.Linear(4, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        return fit(model, (x, y), loss="mse", optimizer=optim.SGD(model.parameters(), lr=10.0), epochs=5,
                   metrics=(), verbose=0, **options)


def test_on_divergence_raise_raises_training_diverged_error_with_the_reason():
    with pytest.raises(TrainingDivergedError, match="lower learning rate"):
        diverging_run(on_divergence="raise")


def test_on_divergence_stop_stops_quietly_and_the_history_says_why():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = diverging_run(on_divergence="stop")
    assert history.diverged and "loss became" in history.stop_reason


def test_an_unknown_divergence_action_is_refused():
    with pytest.raises(ConfigError, match="on_divergence"):
        diverging_run(on_divergence="ignore")


def test_every_schedule_is_stepped_once_per_epoch_with_the_validation_loss():
    seen = []

    class Recorder(optim.lr_scheduler.StepLR):
        def step(self, metrics=None):
            seen.append(metrics)
            super().step(metrics)

    x = np.random.default_rng(1).standard_normal((32, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=3, val_data=(x[:8], y[:8]),
                  scheduler=Recorder(opt, step_size=1, gamma=0.5), verbose=0)
    assert seen == history["val_loss"]
    assert history["lr"] == [0.1, 0.05, 0.025]
    # ReduceLROnPlateau takes the same call (its step needs the value: a bare step() would raise).
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=2, scheduler=plateau, verbose=0)
    assert plateau.best < float("inf")


def test_evaluating_switches_to_eval_mode_without_a_graph_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with model.evaluating():
        assert not model.training and not model[1].training
        out = model(gw.ones(1, 2))
        assert not out.requires_grad
    assert model.training
    model.eval()
    with pytest.raises(RuntimeError), model.evaluating():
        raise RuntimeError("inside the block")
    assert not model.training  # the mode from before the block, also after an error
