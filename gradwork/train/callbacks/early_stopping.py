"""``EarlyStopping``: stop when the monitored quantity has not improved for ``patience`` epochs."""
from gradwork.train.callbacks.base import Callback, monitor_mode, monitored_value


class EarlyStopping(Callback):
    """Stop training when ``monitor`` (default ``val_loss``) stops improving.

    Args:
        patience: epochs without improvement to tolerate.
        min_delta: a change smaller than this is not an improvement.
        restore_best: at the end, put back the weights of the best epoch (Keras's restore_best_weights).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best=False):
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = monitor_mode(monitor, mode)
        self.restore_best = restore_best

    def on_train_begin(self, state):
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.best_weights = None
        self.stopped_epoch = None

    def _better(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, state, logs):
        value = monitored_value(logs, self.monitor, "EarlyStopping")
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self.best_weights = {k: v.copy() for k, v in state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop_training = True
            state.stop_reason = (f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
                                 f"(best {self.best:.4f} at epoch {self.best_epoch + 1})")

    def on_train_end(self, state):
        if self.restore_best and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
