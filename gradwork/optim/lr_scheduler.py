"""Learning-rate schedules. Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``.

Each schedule is a closed formula of the epoch count t and the starting rate lr₀ of each group:

    StepLR             lr₀ · γ^⌊t / step_size⌋
    ExponentialLR      lr₀ · γ^t
    InverseTimeDecay   lr₀ / (1 + decay·t)                       (the course's 1/t decay)
    CosineAnnealingLR  η_min + (lr₀ − η_min)·(1 + cos(π·t/T_max))/2
    LinearWarmup       lr₀·(t + 1)/warmup for t < warmup, then the wrapped schedule from its t = 0
    ReduceLROnPlateau  lr · factor when the monitored metric stopped improving for ``patience`` epochs
"""
import math


class LRScheduler:
    """Base: sets every group's ``lr`` to ``lr_at(epoch)`` on construction and on each ``step()``."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, epoch, base_lr):
        """The learning rate at ``epoch`` for a group that started at ``base_lr``."""
        raise NotImplementedError

    def step(self):
        """Advance one epoch and set the new learning rates."""
        self.last_epoch += 1
        self._apply()

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(self.last_epoch, base)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.last_epoch = state["last_epoch"]
        self.base_lrs = list(state["base_lrs"])
        self._apply()


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be positive, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch


class InverseTimeDecay(LRScheduler):
    """lr = lr₀ / (1 + decay·epoch)."""

    def __init__(self, optimizer, decay):
        if decay < 0:
            raise ValueError(f"InverseTimeDecay: decay must be non-negative, got {decay}")
        self.decay = decay
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr / (1 + self.decay * epoch)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from lr₀ down to ``eta_min`` over ``T_max`` epochs (then back up, as in PyTorch)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearWarmup(LRScheduler):
    """Grow the rate linearly over ``warmup_epochs`` (lr₀/warmup, 2·lr₀/warmup, …, lr₀), then hand
    over to ``after`` (another schedule, counted from 0 when the warm-up ends) or keep lr₀."""

    def __init__(self, optimizer, warmup_epochs, after=None):
        if warmup_epochs <= 0:
            raise ValueError(f"LinearWarmup: warmup_epochs must be positive, got {warmup_epochs}")
        self.warmup_epochs, self.after = warmup_epochs, after
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        if epoch < self.warmup_epochs:
            return base_lr * (epoch + 1) / self.warmup_epochs
        if self.after is None:
            return base_lr
        return self.after.lr_at(epoch - self.warmup_epochs, base_lr)


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when ``step(metric)`` has seen no improvement for ``patience`` epochs.

    ``mode='min'`` for losses, ``'max'`` for accuracies. Improvement means beating the best value by
    more than ``threshold`` (relative). After a reduction, ``cooldown`` epochs pass before counting again.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.optimizer, self.mode, self.factor = optimizer, mode, factor
        self.patience, self.threshold, self.cooldown, self.min_lr = patience, threshold, cooldown, min_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best * (1 - self.threshold) if self.best != math.inf else True
        return value > self.best * (1 + self.threshold) if self.best != -math.inf else True

    def step(self, metric):
        value = float(metric)
        if self._improved(value):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.cooldown_left, self.bad_epochs = self.cooldown, 0

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "cooldown_left": self.cooldown_left}

    def load_state_dict(self, state):
        self.best, self.bad_epochs, self.cooldown_left = state["best"], state["bad_epochs"], state["cooldown_left"]
