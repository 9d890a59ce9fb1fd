"""TensorBoard: the event files, read back with TensorBoard's own reader, hold what the History holds."""
import math
import os
import sys

import numpy as np
import pytest

from gradwork import models, optim
from gradwork.train import History, TensorBoard, fit

pytest.importorskip("tensorboardX", reason="tensorboardX is not installed: pip install \"gradwork[tensorboard]\"")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the test reads the event files with tensorboard's reader: "
                                               "pip install tensorboard")

N, BATCH = 48, 16
STEPS = N // BATCH


def data(rng):
    x = rng.standard_normal((N, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def read(log_dir):
    """Every event file under ``log_dir`` (not its sub-folders), as TensorBoard loads them."""
    accumulator = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.IMAGES: 0,
        event_accumulator.TENSORS: 0})
    return accumulator.Reload()


def scalars(events, tag):
    return [(e.step, e.value) for e in events.Scalars(tag)]


def train(rng, callbacks, epochs=3, initial_epoch=0, history=None, model=None, lr=0.05, x_y=None):
    model = model or models.MLP([4, 8, 2])
    x, y = x_y or data(rng)
    return fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=lr), epochs=epochs,
               val_data=(x[:16], y[:16]), batch_size=BATCH, shuffle=False, verbose=0,
               callbacks=callbacks if isinstance(callbacks, list) else [callbacks], initial_epoch=initial_epoch,
               history=history)


def test_per_epoch_scalars_equal_the_history(tmp_path, rng):
    history = train(rng, TensorBoard(tmp_path))
    events = read(tmp_path)
    expected_tags = {"loss/train", "accuracy/train", "loss/val", "accuracy/val", "lr"}
    assert expected_tags <= set(events.Tags()["scalars"])
    for key, tag in [("loss", "loss/train"), ("accuracy", "accuracy/train"), ("val_loss", "loss/val"),
                     ("val_accuracy", "accuracy/val"), ("lr", "lr")]:
        steps, values = zip(*scalars(events, tag))
        assert list(steps) == history.epoch == [0, 1, 2]
        assert values == pytest.approx(history[key], rel=1e-6)  # event files hold float32


def test_batch_loss_has_one_point_per_step(tmp_path, rng):
    train(rng, TensorBoard(tmp_path), epochs=3)
    points = scalars(read(tmp_path), "batch/loss")
    assert len(points) == STEPS * 3
    assert [s for s, _ in points] == list(range(STEPS * 3))
    assert all(math.isfinite(v) for _, v in points)


def test_a_resumed_run_continues_the_global_step_in_the_same_folder(tmp_path, rng):
    x_y = data(rng)
    model = models.MLP([4, 8, 2])
    first = train(rng, TensorBoard(tmp_path), epochs=2, model=model, x_y=x_y)
    resumed = History(first.history, first.epoch)
    history = train(rng, TensorBoard(tmp_path), epochs=4, initial_epoch=2, history=resumed, model=model, x_y=x_y)
    events = read(tmp_path)
    assert [s for s, _ in scalars(events, "batch/loss")] == list(range(STEPS * 4))
    steps, values = zip(*scalars(events, "loss/train"))
    assert list(steps) == [0, 1, 2, 3]
    assert values == pytest.approx(history["loss"], rel=1e-6)


def test_histograms_of_weights_and_gradients_every_n_epochs(tmp_path, rng):
    model = models.MLP([4, 8, 2])
    train(rng, TensorBoard(tmp_path, histograms_every=2), epochs=4, model=model)
    events = read(tmp_path)
    names = [name for name, _ in model.named_parameters()]
    assert set(events.Tags()["histograms"]) == {f"{kind}/{n}" for kind in ("weights", "gradients") for n in names}
    for name in names:
        weights = events.Histograms(f"weights/{name}")
        assert [h.step for h in weights] == [1, 3]  # after the 2nd and the 4th epoch
        assert weights[-1].histogram_value.num == model.state_dict()[name].size


def test_no_histograms_unless_asked(tmp_path, rng):
    train(rng, TensorBoard(tmp_path))
    assert read(tmp_path).Tags()["histograms"] == []


def test_the_learning_curves_are_written_as_an_image(tmp_path, rng):
    train(rng, TensorBoard(tmp_path), epochs=2)
    images = read(tmp_path).Images("learning_curves")
    assert len(images) == 1 and images[0].step == 1
    assert images[0].encoded_image_string.startswith(b"\x89PNG") and images[0].width > 100


def test_hyperparameters_are_written_with_the_final_metrics(tmp_path, rng):
    history = train(rng, TensorBoard(tmp_path, hparams={"lr": 0.05, "hidden": [8], "optimizer": "sgd"}))
    hparams_dir = tmp_path / "hparams"
    events = read(hparams_dir)
    contents = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in contents
    assert events.Scalars("loss/val")[-1].value == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert events.Scalars("accuracy/train")[-1].value == pytest.approx(history["accuracy"][-1], rel=1e-6)
    from tensorboard.plugins.hparams import plugin_data_pb2
    start = plugin_data_pb2.HParamsPluginData.FromString(contents["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.05
    assert start.hparams["hidden"].string_value == "[8]"


def test_the_writer_is_closed_when_training_diverges(tmp_path, rng):
    callback = TensorBoard(tmp_path)
    x, y = data(rng)
    x[BATCH:] *= 1e30  # the second step's loss overflows
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="loss became"):
        history = train(rng, callback, epochs=3, x_y=(x, y), lr=1e10)
    assert history.diverged and callback.writer is None
    events = read(tmp_path)
    assert len(scalars(events, "batch/loss")) == 2  # both steps, the infinite one included
    assert "loss/train" not in events.Tags()["scalars"]  # the diverged epoch has no averages


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="histograms_every must be a positive number of epochs or None, got 0"):
        TensorBoard("logs", histograms_every=0)
    with pytest.raises(ValueError, match="hparams must be a dict"):
        TensorBoard("logs", hparams=[("lr", 0.1)])


def test_a_missing_tensorboardx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "gradwork\[tensorboard\]"'):
        TensorBoard("logs")
    assert not os.path.exists("logs")
