"""``ModelCheckpoint``: save the model (with optimizer state and epoch) when it is the best so far."""
import math

from gradwork import io
from gradwork.train.callbacks.base import Callback, monitor_mode, monitored_value


class ModelCheckpoint(Callback):
    """Save to ``path`` after each epoch in which ``monitor`` improved (or every epoch with
    ``save_best_only=False``). The file holds weights, optimizer state and the epoch, so training
    can be resumed from it; it is written atomically."""

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True, **metadata):
        self.path, self.monitor = path, monitor
        self.mode = monitor_mode(monitor, mode)
        self.save_best_only = save_best_only
        self.metadata = metadata
        self.best = None

    def on_epoch_end(self, state, logs):
        if self.save_best_only:
            value = monitored_value(logs, self.monitor, "ModelCheckpoint")
            if not math.isfinite(value):
                return
            if self.best is not None and (value >= self.best if self.mode == "min" else value <= self.best):
                return
            self.best = value
        value = logs.get(self.monitor)
        if value is not None and not math.isfinite(value):
            value = None  # JSON (the checkpoint's header) has no NaN; None says "no number this epoch"
        io.save(state.model, self.path, optimizer=state.optimizer, epoch=state.epoch + 1,
                **{self.monitor: value}, **self.metadata)
