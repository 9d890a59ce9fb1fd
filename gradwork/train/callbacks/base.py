"""``Callback``: code that ``fit`` runs at fixed points of training, and the state it can see."""
from dataclasses import dataclass, field


@dataclass
class FitState:
    """What a callback may read (and ``stop_training``, ``stop_reason``, which it may set)."""

    model: object
    optimizer: object
    history: object
    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    stop_training: bool = False
    stop_reason: str = None
    diverged: bool = False
    extra: dict = field(default_factory=dict)


class Callback:
    """Override any of these; each receives the :class:`FitState` and, where there are any, the logs:
    ``on_batch_end`` gets ``{"batch_loss", "loss", <running metrics>}``, ``on_epoch_end`` the epoch's
    averages and validation results (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``)."""

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state):
        pass

    def on_batch_end(self, state, logs):
        pass

    def on_epoch_end(self, state, logs):
        pass

    def on_train_end(self, state):
        pass


def monitor_mode(monitor, mode):
    """'min' or 'max' for a monitored quantity: 'auto' means max for accuracies, min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


def monitored_value(logs, monitor, who):
    if monitor not in logs:
        raise KeyError(f"{who} monitors {monitor!r}, but training logs only have {sorted(logs)}; "
                       "pass val_data to fit() to get val_* values, or monitor another quantity")
    return logs[monitor]
