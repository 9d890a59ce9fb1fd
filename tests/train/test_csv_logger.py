"""CSVLogger: one row per epoch, equal to the History; the header once; resuming appends."""
import csv
import math

import numpy as np
import pytest

from gradwork import models, optim
from gradwork.train import Callback, CSVLogger, History, fit


def data(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def train(callbacks, x_y, epochs, model, initial_epoch=0, history=None):
    x, y = x_y
    return fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=epochs,
               val_data=(x[:8], y[:8]), batch_size=16, verbose=0, callbacks=callbacks, initial_epoch=initial_epoch,
               history=history)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def as_history(path):
    header, *body = rows(path)
    return [int(r[0]) for r in body], {k: [float(r[i + 1]) for r in body] for i, k in enumerate(header[1:])}


def test_one_row_per_epoch_equal_to_the_history(tmp_path, rng):
    path = tmp_path / "log.csv"
    history = train([CSVLogger(path)], data(rng), 3, models.MLP([4, 8, 2]))
    assert rows(path)[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    epochs, values = as_history(path)
    assert epochs == history.epoch == [0, 1, 2]
    assert values == history.history  # every digit: the values are written with repr


def test_each_row_is_on_disk_when_its_epoch_ends(tmp_path, rng):
    path = tmp_path / "log.csv"
    seen = []

    class Look(Callback):
        def on_epoch_end(self, state, logs):
            seen.append(len(rows(path)))  # read by another file handle while training runs

    train([CSVLogger(path), Look()], data(rng), 3, models.MLP([4, 8, 2]))
    assert seen == [2, 3, 4]  # the header and one row per finished epoch


def test_resuming_with_append_adds_rows_under_the_one_header(tmp_path, rng):
    path, x_y, model = tmp_path / "log.csv", data(rng), models.MLP([4, 8, 2])
    first = train([CSVLogger(path)], x_y, 2, model)
    history = train([CSVLogger(path, append=True)], x_y, 4, model, initial_epoch=2,
                    history=History(first.history, first.epoch))
    assert sum(r[0] == "epoch" for r in rows(path)) == 1
    epochs, values = as_history(path)
    assert epochs == [0, 1, 2, 3] and values == history.history


def test_rows_of_epochs_trained_again_are_replaced(tmp_path, rng):
    path, x_y, model = tmp_path / "log.csv", data(rng), models.MLP([4, 8, 2])
    first = train([CSVLogger(path)], x_y, 3, model)  # the checkpoint is after epoch 2, the log after 3
    kept = History(first.history, first.epoch).truncated(2)
    history = train([CSVLogger(path, append=True)], x_y, 4, model, initial_epoch=2, history=kept)
    epochs, values = as_history(path)
    assert epochs == [0, 1, 2, 3] and values == history.history


def test_without_append_the_file_starts_afresh(tmp_path, rng):
    path = tmp_path / "log.csv"
    path.write_text("epoch,old\n0,1\n")
    train([CSVLogger(path)], data(rng), 1, models.MLP([4, 8, 2]))
    assert rows(path)[0][1] == "loss" and len(rows(path)) == 2


def test_append_to_a_missing_file_writes_the_header(tmp_path, rng):
    path = tmp_path / "log.csv"
    train([CSVLogger(path, append=True)], data(rng), 2, models.MLP([4, 8, 2]))
    assert rows(path)[0][0] == "epoch" and len(rows(path)) == 3


class State:
    """The one field of the training state a CSVLogger reads."""

    def __init__(self):
        self.epoch = 0


def started_logger(path):
    """A CSVLogger at the start of epoch 0, driven by hand, and the state it reads."""
    logger, state = CSVLogger(path), State()
    logger.on_train_begin(state)
    logger.on_epoch_begin(state)
    return logger, state


def test_non_finite_values_are_written_as_such(tmp_path):
    path = tmp_path / "log.csv"
    logger, state = started_logger(path)
    logger.on_epoch_end(state, {"loss": math.nan, "val_loss": math.inf, "margin": -math.inf, "lr": 0.1})
    logger.on_train_end(state)
    assert rows(path) == [["epoch", "loss", "val_loss", "margin", "lr"], ["0", "nan", "inf", "-inf", "0.1"]]
    assert math.isnan(float(rows(path)[1][1]))


def test_a_quantity_that_appears_later_is_warned_about(tmp_path):
    path = tmp_path / "log.csv"
    logger, state = started_logger(path)
    logger.on_epoch_end(state, {"loss": 1.0})
    state.epoch = 1
    with pytest.warns(RuntimeWarning, match="val_loss appeared after the header"):
        logger.on_epoch_end(state, {"loss": 0.5, "val_loss": 0.7})
    logger.on_train_end(state)
    assert rows(path) == [["epoch", "loss"], ["0", "1.0"], ["1", "0.5"]]


def test_appending_to_a_file_that_is_not_such_a_log_is_refused(tmp_path, rng):
    path = tmp_path / "notes.csv"
    path.write_text("name,score\nada,3\n")
    with pytest.raises(ValueError, match="was not written by CSVLogger"):
        train([CSVLogger(path, append=True)], data(rng), 1, models.MLP([4, 8, 2]))
    assert path.read_text() == "name,score\nada,3\n"
