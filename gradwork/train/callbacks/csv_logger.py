"""``CSVLogger``: one row per epoch in a CSV file, for a spreadsheet, pandas or ``tail -f``.

    epoch,loss,accuracy,val_loss,val_accuracy,lr
    0,0.912,0.731,0.402,0.884,0.001
    1,0.355,0.897,0.291,0.913,0.001

The columns are ``epoch`` (0-based, as ``history.json`` counts) and then every logged quantity in
the order of the first epoch's logs, fixed by the header, which is written once. Each row is flushed
to disk when its epoch ends, so a killed run loses no finished epoch. A non-finite value is written
as Python writes it (``nan``, ``inf``, ``-inf``; ``float()`` and pandas read them back).
With ``append=True`` (to continue a resumed run) rows are added under the existing header, after
dropping any row of an epoch that is about to be trained again (one that finished after the last
checkpoint was saved).
"""
import csv
import os
import warnings

from gradwork import _files
from gradwork.errors import ConfigError
from gradwork.train.callbacks.base import Callback


class CSVLogger(Callback):
    """Write ``epoch`` and every value of each epoch's logs as a row of ``path``.

    Args:
        path: the CSV file (its folder must exist).
        append: keep the rows already in ``path`` and add to them (resuming); otherwise start it afresh.
        separator: the field separator (default ``,``).
    """

    def __init__(self, path, append=False, separator=","):
        self.path, self.append, self.separator = os.fspath(path), append, separator
        self.columns, self._file, self._writer = None, None, None
        self._warned = set()

    def on_train_begin(self, state):
        self.columns, self._warned = None, set()
        if self.append and os.path.isfile(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f, delimiter=self.separator))
            if not rows or not rows[0] or rows[0][0] != "epoch":
                raise ConfigError(f"CSVLogger: {self.path} was not written by CSVLogger (its first line should "
                                  "start with 'epoch'); give another path, or append=False to start it afresh")
            self.columns, self._rows = rows[0][1:], rows[1:]
        else:
            self._rows = None  # start the file afresh

    def on_epoch_begin(self, state):
        if self._file is not None:
            return
        if self._rows is not None:
            kept = [row for row in self._rows if not _is_epoch_from(row, state.epoch)]
            if len(kept) != len(self._rows):  # epochs about to be trained again: their old rows go
                with _files.atomic_open(self.path, "w") as f:
                    writer = csv.writer(f, delimiter=self.separator, lineterminator="\n")
                    writer.writerow(["epoch", *self.columns])
                    writer.writerows(kept)
        self._file = open(self.path, "a" if self._rows is not None else "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")

    def on_epoch_end(self, state, logs):
        if self.columns is None:
            self.columns = list(logs)
            self._writer.writerow(["epoch", *self.columns])
        new = [k for k in logs if k not in self.columns and k not in self._warned]
        if new:
            self._warned.update(new)
            warnings.warn(f"CSVLogger: {', '.join(new)} appeared after the header of {self.path} was written "
                          f"({', '.join(self.columns)}); not written", RuntimeWarning, stacklevel=2)
        self._writer.writerow([state.epoch, *(_text(logs.get(k)) for k in self.columns)])
        self._file.flush()
        os.fsync(self._file.fileno())  # on disk, not only in the operating system's buffers

    def on_train_end(self, state):
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None


def _text(value):
    """A value as a CSV field: ``repr`` of the float (all its digits; ``nan``, ``inf``), empty if missing."""
    return "" if value is None else repr(float(value))


def _is_epoch_from(row, epoch):
    try:
        return int(row[0]) >= epoch
    except (ValueError, IndexError):
        return False
