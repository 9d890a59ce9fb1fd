"""``TensorBoard``: a callback that writes what training measures as TensorBoard event files
(through tensorboardX), to watch a run live with ``tensorboard --logdir runs``.

The tags, one scheme throughout — the quantity, then where it was measured::

    loss/train  loss/val  accuracy/train  accuracy/val  <metric>/train  <metric>/val   once per epoch
    lr                                                                                 once per epoch
    batch/loss                                                                         every step
    weights/<parameter name>  gradients/<parameter name>         histograms, every ``histograms_every`` epochs
    learning_curves                                                  the learning-curve picture, at the end

Per-epoch values are written at the epoch's number as ``history.json`` records it (0, 1, …), so a
chart's points are the history's values. The batch loss is written at the global step
``epoch · steps_per_epoch + step``, which keeps counting when a run is resumed (``initial_epoch > 0``;
counted on step by step from there, so it stays in order where epochs differ in length, as in word2vec).
The batch losses of an epoch that a kill cut short stay in the log, and the resumed run draws that
epoch's steps again beside them. (tensorboardX's ``purge_step`` is meant to hide them, but TensorBoard's
reader applied it only some of the time across two writers' files — a test of it failed 4 runs in 8 —
so it is not used.)

At the end come the learning-curve picture and the hyperparameters with the final metrics
(``add_hparams``: TensorBoard's HPARAMS tab, one row per run, in the sub-folder ``hparams``).
The writer is flushed after every epoch and closed at the end, also when training stops early or
diverges.

tensorboardX is an optional dependency (``pip install "gradwork[tensorboard]"``): it is imported when
a ``TensorBoard`` is made, never by ``import gradwork``; matplotlib only when the curves are drawn.
"""
import os
import time

from gradwork.backend import xp
from gradwork.errors import ConfigError, MissingExtraError
from gradwork.train.callbacks.base import Callback

HPARAMS_RUN = "hparams"  # the sub-folder add_hparams writes its session to


def summary_writer_class():
    """tensorboardX's ``SummaryWriter``, or a ``MissingExtraError`` (an ``ImportError``, and a user error
    that ``gradwork train`` reports in one line) that says how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise MissingExtraError('TensorBoard logging needs tensorboardX, which is not installed: '
                          'pip install "gradwork[tensorboard]" (and "tensorboard" to view the logs)') from None
    return SummaryWriter


def tag(key):
    """The TensorBoard tag of a logged quantity: ``val_loss`` → ``loss/val``, ``loss`` → ``loss/train``,
    ``lr`` → ``lr``."""
    if key == "lr":
        return "lr"
    if key.startswith("val_"):
        return f"{key[len('val_'):]}/val"
    return f"{key}/train"


class TensorBoard(Callback):
    """Write losses, metrics, the learning rate, the batch loss, histograms of the weights and their
    gradients, the learning curves and the hyperparameters under ``log_dir``.

    Args:
        log_dir: the folder of this run's event files (made if missing; a resumed run continues in it).
        histograms_every: write a histogram of every parameter and of its gradient (the last step's) every
            this many epochs; None (default) writes none — they cost time and disk on large models.
        hparams: the run's hyperparameters (``{"lr": 0.001, "optimizer": "adam", …}``: numbers, strings,
            booleans; other values are written as text), shown beside the final metrics. Without it, the
            optimiser's name and starting learning rate are written.
        curves: write the learning-curve picture (``tools.viz.plot_history``) at the end of training.
    """

    def __init__(self, log_dir, histograms_every=None, hparams=None, curves=True):
        if histograms_every is not None and (isinstance(histograms_every, bool) or not isinstance(histograms_every, int)
                                             or histograms_every < 1):
            raise ConfigError(f"TensorBoard: histograms_every must be a positive number of epochs or None, "
                              f"got {histograms_every!r}")
        if hparams is not None and (not isinstance(hparams, dict) or not all(isinstance(k, str) for k in hparams)):
            raise ConfigError(f"TensorBoard: hparams must be a dict of name -> value, got {hparams!r}")
        self.log_dir = os.fspath(log_dir)
        self.histograms_every, self.hparams, self.curves = histograms_every, hparams, curves
        self._SummaryWriter = summary_writer_class()  # a missing tensorboardX is said before training starts
        self.writer = None

    def on_train_begin(self, state):
        self.writer, self._global_step = None, 0
        self._start_lr = state.optimizer.param_groups[0]["lr"] if state.optimizer is not None else None

    def on_epoch_begin(self, state):
        if self.writer is None:  # made here, where the first epoch (initial_epoch when resuming) is known
            self._global_step = state.epoch * state.steps_per_epoch
            # tensorboardX names a file by the second and the host: a run resumed within the same second
            # would overwrite the first one's file without a suffix of its own
            self.writer = self._SummaryWriter(logdir=self.log_dir, filename_suffix=f".{time.time_ns()}")

    def on_batch_end(self, state, logs):
        # counted on from the first step of this run: epoch · steps_per_epoch + step for fit, and still one
        # step after the other where the number of steps changes from epoch to epoch (word2vec)
        self.writer.add_scalar("batch/loss", logs["batch_loss"], self._global_step)
        self._global_step += 1

    def on_epoch_end(self, state, logs):
        for key, value in logs.items():
            self.writer.add_scalar(tag(key), value, state.epoch)
        if self.histograms_every is not None and (state.epoch + 1) % self.histograms_every == 0:
            self._histograms(state)
        self.writer.flush()  # a killed run keeps every finished epoch

    def _histograms(self, state):
        for name, p in state.model.named_parameters():
            _histogram(self.writer, f"weights/{name}", p.data, state.epoch)
            if p.grad is not None:
                _histogram(self.writer, f"gradients/{name}", xp.asarray(p.grad), state.epoch)  # SparseGrad: dense

    def on_train_end(self, state):
        """Curves and hyperparameters, then flush and close — also after early stopping or divergence."""
        if self.writer is None:  # no epoch began in this run: nothing new to write
            return
        try:
            history = state.history
            if len(history):
                last = history.epoch[-1]
                if self.curves:
                    self._curves(history, last)
                self._hparams(state, history, last)
        finally:
            self.writer.close()
            self.writer = None

    def _curves(self, history, step):
        from gradwork.tools.viz import plot_history  # matplotlib: imported only now
        self.writer.add_figure("learning_curves", plot_history(history), step)

    def _hparams(self, state, history, step):
        hparams = self.hparams
        if hparams is None:
            hparams = {"optimizer": type(state.optimizer).__name__.lower(), "lr": self._start_lr}
        hparams = {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in hparams.items()
                   if v is not None}
        final = {tag(k): values[-1] for k, values in history.history.items()
                 if values and values[-1] is not None}
        self.writer.add_hparams(hparams, final, name=HPARAMS_RUN, global_step=step)


def _histogram(writer, tag_name, values, step):
    values = values.reshape(-1)
    finite = values[xp.isfinite(values)]  # a histogram of NaN has no bins; the NaN guard reports those
    if finite.size:
        writer.add_histogram(tag_name, finite.astype(xp.float64), step)

