"""The epoch loop that every training function shares (``fit``, ``fit_language_model``,
``fit_word2vec``), and the object that tells the callbacks where training is.

Each training function writes its own pass over the data (``train_epoch``: one optimiser step per
batch); this loop does what happens around it, in the same order for all of them::

    for epoch in range(initial_epoch, epochs):
        model.train()                              dropout on, BatchNorm on batch statistics
        logs = train_epoch(epoch)                  the epoch's mean loss and metrics
        logs |= validate()                         val_loss, val_accuracy, … (eval mode, no graph)
        history.append(epoch, logs)
        scheduler.step(val_loss or loss)           the next epoch's learning rate
        callbacks.on_epoch_end(logs)               early stopping, checkpoints, progress line
"""
import warnings

from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.optim.clip_grad import clip_grad_norm_
from gradwork.train.callbacks import FitState, NaNGuard, ProgressBar
from gradwork.train.history import History

DIVERGENCE_ACTIONS = ("warn", "raise", "stop")


def train_epochs(run, *, epochs, train_epoch, initial_epoch=0, validate=None, scheduler=None,
                 prepare_epoch=None, on_divergence="warn"):
    """Run epochs ``initial_epoch`` … ``epochs − 1`` and return the :class:`History`.

    Args:
        run: the :class:`CallbackRunner` of this training run (model, optimiser, callbacks, history).
        train_epoch: ``train_epoch(epoch) -> logs``, one pass over the training data.
        validate: ``validate() -> {"loss": …, …}`` on held-out data, or None.
        scheduler: stepped once per epoch with the validation loss (the training loss without
            validation data); schedules that are formulas of the epoch ignore the value.
        prepare_epoch: ``prepare_epoch(epoch) -> number of steps``, for loops that draw a new data set
            each epoch (word2vec) before the progress bar can know its length.
        on_divergence: what to do when the loss becomes NaN or infinite (training stops in every case
            and ``history.diverged`` / ``history.stop_reason`` say so): "warn" (a RuntimeWarning with the
            reason), "raise" (a ``TrainingDivergedError``) or "stop" (nothing more).
    """
    check_divergence_action(on_divergence)
    model = run.state.model
    for epoch in range(initial_epoch, epochs):
        steps = prepare_epoch(epoch) if prepare_epoch is not None else None
        model.train()
        run.epoch_begin(epoch, steps)
        logs = train_epoch(epoch)
        if run.state.diverged:
            break  # a diverged epoch has no averages worth recording
        if validate is not None:
            logs.update({f"val_{k}": v for k, v in validate().items()})
        logs["lr"] = run.state.optimizer.param_groups[0]["lr"]
        run.history.append(epoch, logs)
        if scheduler is not None:
            scheduler.step(logs.get("val_loss", logs["loss"]))
        if run.epoch_end(logs):
            break
    history = run.end()
    if history.diverged and on_divergence == "raise":
        raise TrainingDivergedError(history.stop_reason)
    if history.diverged and on_divergence == "warn":
        warnings.warn(history.stop_reason, RuntimeWarning, stacklevel=3)
    return history


def check_divergence_action(on_divergence):
    if on_divergence not in DIVERGENCE_ACTIONS:
        raise ConfigError(f"on_divergence must be one of {DIVERGENCE_ACTIONS}, got {on_divergence!r}")


def optimization_step(model, optimizer, loss, clip_grad_norm=None):
    """Back-propagate ``loss``, clip the gradients' global norm if asked, and update the parameters.
    (``optimizer.zero_grad()`` comes before the forward pass that made ``loss``.)"""
    loss.backward()
    if clip_grad_norm is not None:
        clip_grad_norm_(model.parameters(), clip_grad_norm)
    optimizer.step()


def with_default_callbacks(callbacks, verbose):
    """The user's callbacks plus a ``NaNGuard`` (unless given) and, when ``verbose``, a progress bar first."""
    callbacks = list(callbacks)
    if not any(isinstance(c, NaNGuard) for c in callbacks):
        callbacks.append(NaNGuard())
    if verbose:
        callbacks.insert(0, ProgressBar(verbose))
    return callbacks


class CallbackRunner:
    """Tells the callbacks where training is, and keeps the :class:`FitState` they read and the
    :class:`History` the loop writes. It only dispatches: what training does is in the loops."""

    def __init__(self, callbacks, verbose, model, optimizer, epochs, steps_per_epoch=0, history=None):
        self.history = history if history is not None else History()
        self.callbacks = with_default_callbacks(callbacks, verbose)
        self.state = FitState(model, optimizer, self.history, epochs, steps_per_epoch)
        for c in self.callbacks:
            c.on_train_begin(self.state)

    def epoch_begin(self, epoch, steps_per_epoch=None):
        self.state.epoch = epoch
        if steps_per_epoch is not None:
            self.state.steps_per_epoch = steps_per_epoch
        for c in self.callbacks:
            c.on_epoch_begin(self.state)

    def batch_end(self, step, logs):
        """Report a step; True when a callback asked to stop."""
        self.state.step = step
        for c in self.callbacks:
            c.on_batch_end(self.state, logs)
        return self.state.stop_training

    def epoch_end(self, logs):
        """Tell the callbacks the epoch's results; True when one of them asked to stop."""
        for c in self.callbacks:
            c.on_epoch_end(self.state, logs)
        return self.state.stop_training

    def end(self):
        for c in self.callbacks:
            c.on_train_end(self.state)
        self.history.stop_reason, self.history.diverged = self.state.stop_reason, self.state.diverged
        return self.history
