"""``NaNGuard``: stop as soon as the loss stops being a finite number."""
import math

from gradwork.train.callbacks.base import Callback


class NaNGuard(Callback):
    """Stop training on a NaN or infinite loss, saying where it happened and what to try.

    A diverging loss almost always means the learning rate is too high (or the inputs are not scaled).
    ``fit`` adds this guard unless you pass your own. The guard only sets ``stop_reason`` and
    ``diverged``; the training loop then warns, raises or just stops (``fit(on_divergence=…)``).
    """

    def on_train_begin(self, state):
        self.last_finite = None
        self.last_finite_at = None

    def on_batch_end(self, state, logs):
        loss = logs["batch_loss"]
        if math.isfinite(loss):
            self.last_finite, self.last_finite_at = loss, (state.epoch, state.step)
            return
        lr = state.optimizer.param_groups[0]["lr"] if state.optimizer is not None else None
        last = (f"the last finite loss was {self.last_finite:.4g} (epoch {self.last_finite_at[0] + 1}, "
                f"step {self.last_finite_at[1] + 1})" if self.last_finite is not None else "no finite loss was seen")
        state.stop_reason = (f"loss became {loss} at epoch {state.epoch + 1}, step {state.step + 1}; {last}. "
                             f"Training stopped. Try a lower learning rate"
                             + (f" (now {lr:g}, e.g. {lr / 10:g})" if lr else "")
                             + ", and check that the inputs are scaled.")
        state.stop_training = True
        state.diverged = True
