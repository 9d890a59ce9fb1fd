"""Learning-rate schedules, under PyTorch's names and with its numbers (``torch.optim.lr_scheduler``).

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()`` — except ``OneCycleLR``, which
is stepped once per batch. Each schedule is a closed formula of the step count t (epochs, or batches
for OneCycleLR) and the starting rate lr₀ of each group:

    StepLR             lr₀ · γ^⌊t / step_size⌋
    MultiStepLR        lr₀ · γ^(number of milestones ≤ t)
    ExponentialLR      lr₀ · γ^t
    InverseTimeDecay   lr₀ / (1 + decay·t)                       (the course's 1/t decay)
    CosineAnnealingLR  η_min + (lr₀ − η_min)·(1 + cos(π·t/T_max))/2
    LinearLR           lr₀ · (s + (e − s)·min(t, T)/T)           s = start_factor, e = end_factor, T = total_iters
    LambdaLR           lr₀ · f(t)                                f = lr_lambda, one per group if a list
    LinearWarmup       lr₀·(t + 1)/warmup for t < warmup, then the wrapped schedule from its t = 0
                       (LinearLR with start_factor = 1/warmup, total_iters = warmup − 1, then ``after``)
    OneCycleLR         lr₀ = max_lr/div_factor up to max_lr over the first pct_start of total_steps,
                       then down to lr₀/final_div_factor (cosine or linear); momentum (β1 for Adam)
                       goes the other way, max_momentum → base_momentum → max_momentum
    ReduceLROnPlateau  lr · factor when the monitored metric stopped improving for ``patience`` epochs

The schedules set ``group["lr"]`` (and OneCycleLR ``group["momentum"]`` or ``group["betas"]``) in the
optimizer's parameter groups, where ``optimizer.step()`` reads it. ``state_dict()`` holds the step
count, so a run resumed from it continues with the same rates.
"""
import math
import types
from bisect import bisect_right
from numbers import Integral, Real


def _per_group(scheduler, name, value, optimizer):
    """``value`` once per parameter group: a list or tuple gives one per group, a number is repeated."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{scheduler}: {name} must be one number or a list of one per parameter group "
                             f"({groups}), got {len(value)} values")
        return list(value)
    return [value] * groups


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _linear_factor(t, start_factor, end_factor, total_iters):
    """LinearLR's multiplier at step t: start_factor at t = 0, end_factor from t = total_iters on."""
    if total_iters == 0:  # PyTorch's recursive form never leaves start_factor then
        return start_factor
    return start_factor + (end_factor - start_factor) * min(total_iters, t) / total_iters


class LRScheduler:
    """Base: sets every group's ``lr`` to ``lr_at(epoch)`` on construction and on each ``step()``.

    A subclass defines ``lr_at(epoch, base_lr)``; one whose rate depends on more than that (one
    function per group in LambdaLR, per-group peaks and momentum in OneCycleLR) overrides ``_apply``.
    """

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

    def step(self, metrics=None):
        """Advance one epoch and set the new learning rates. ``metrics`` (the epoch's validation loss)
        is ignored by schedules that are formulas of the epoch; it is there so that every schedule,
        ``ReduceLROnPlateau`` included, is stepped the same way."""
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


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each of the ``milestones``: lr = lr₀·γ^k, k = milestones ≤ t.

    ``MultiStepLR(opt, milestones=[30, 80])`` keeps lr₀ for epochs 0–29, 0.1·lr₀ for 30–79, then 0.01·lr₀.
    The milestones must be strictly increasing epoch numbers, as PyTorch's documentation asks
    (PyTorch's code also takes a repeated milestone as γ applied twice; here that is an error).
    """

    def __init__(self, optimizer, milestones, gamma=0.1):
        milestones = list(milestones)
        if (not all(_is_int(m) and m >= 0 for m in milestones)
                or any(later <= earlier for earlier, later in zip(milestones, milestones[1:]))):
            raise ValueError("MultiStepLR: milestones must be a strictly increasing list of epoch numbers "
                             f"(integers ≥ 0, e.g. [30, 80]), got {milestones}")
        self.milestones, self.gamma = milestones, gamma
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr * self.gamma ** bisect_right(self.milestones, epoch)


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


class LinearLR(LRScheduler):
    """Scale the rate by a factor that moves linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs and then stays there: lr = lr₀·(s + (e − s)·min(t, T)/T).

    The usual warm-up: ``LinearLR(opt, start_factor=0.1, total_iters=4)`` gives 0.1, 0.325, 0.55,
    0.775, then 1.0 times lr₀ from epoch 4 on. PyTorch computes the same rates recursively, each from
    the previous one; this closed form agrees with it to rounding.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        if not _is_int(total_iters) or total_iters < 0:
            raise ValueError(f"LinearLR: total_iters must be an integer ≥ 0, got {total_iters!r}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        return base_lr * _linear_factor(epoch, self.start_factor, self.end_factor, self.total_iters)


class LambdaLR(LRScheduler):
    """lr = lr₀·f(t) for a function ``lr_lambda`` of the epoch, or a list of them, one per parameter group.

    ``LambdaLR(opt, lambda t: 0.95 ** t)`` is ``ExponentialLR(opt, 0.95)``. The functions are code, not
    state: a resumed run passes them again, and ``state_dict()`` saves the epoch and, as in PyTorch,
    the attributes of any function that is a callable object (not those of plain functions and lambdas).
    """

    def __init__(self, optimizer, lr_lambda):
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: lr_lambda must be one function or a list of one function per "
                                 f"parameter group ({groups}), got a list of {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got {type(f).__name__}")
        super().__init__(optimizer)

    def _apply(self):  # one function per group: the base's lr_at(epoch, base_lr) cannot tell groups apart
        for group, base, factor in zip(self.optimizer.param_groups, self.base_lrs, self.lr_lambdas):
            group["lr"] = base * factor(self.last_epoch)

    def lr_at(self, epoch, base_lr):
        """The rate at ``epoch`` when every group has the same function (e.g. after a ``LinearWarmup``)."""
        if any(f is not self.lr_lambdas[0] for f in self.lr_lambdas):
            raise ValueError("LambdaLR.lr_at: this schedule has one function per parameter group; "
                             "a single rate exists only with a single lr_lambda")
        return base_lr * self.lr_lambdas[0](epoch)

    def state_dict(self):
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else dict(vars(f))
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state):
        for f, saved in zip(self.lr_lambdas, state.get("lr_lambdas", [])):
            if saved is not None:
                vars(f).update(saved)
        super().load_state_dict(state)


class LinearWarmup(LRScheduler):
    """Grow the rate linearly over ``warmup_epochs`` (lr₀/warmup, 2·lr₀/warmup, …, lr₀), then hand
    over to ``after`` (another schedule, counted from 0 when the warm-up ends) or keep lr₀.

    A composition of PyTorch's schedules, not an alias: the warm-up is ``LinearLR`` with
    start_factor = 1/warmup_epochs, end_factor = 1, total_iters = warmup_epochs − 1 (its formula is
    what runs here), and the hand-over is what PyTorch writes as
    ``SequentialLR(opt, [LinearLR(…), after], milestones=[warmup_epochs])``.
    """

    def __init__(self, optimizer, warmup_epochs, after=None):
        if warmup_epochs <= 0:
            raise ValueError(f"LinearWarmup: warmup_epochs must be positive, got {warmup_epochs}")
        self.warmup_epochs, self.after = warmup_epochs, after
        super().__init__(optimizer)

    def lr_at(self, epoch, base_lr):
        if epoch < self.warmup_epochs:
            return base_lr * _linear_factor(epoch, 1 / self.warmup_epochs, 1.0, self.warmup_epochs - 1)
        if self.after is None:
            return base_lr
        return self.after.lr_at(epoch - self.warmup_epochs, base_lr)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017, "Super-Convergence"), stepped once per **batch**.

    Over ``total_steps`` batches (or ``epochs · steps_per_epoch``) the rate rises and falls once::

        phase 1, t = 0 … pct_start·total_steps − 1:   lr  initial_lr → max_lr,   momentum  max_m → base_m
        phase 2, up to t = total_steps − 1:            lr  max_lr → min_lr,       momentum  base_m → max_m

    with initial_lr = max_lr / div_factor and min_lr = initial_lr / final_div_factor. Within a phase
    a value goes from a to b as the fraction p of the phase done goes from 0 to 1::

        'cos':     b + (a − b)·(1 + cos(π·p))/2          'linear':   a + (b − a)·p

    ``three_phase=True`` is the paper's version: phase 2 brings the rate back to initial_lr over as
    many steps as phase 1 (momentum back to max_m), and phase 3 anneals to min_lr at max_m.

    Momentum moves against the rate, so the step size stays tame while the rate is high. For groups
    with ``"betas"`` (Adam, AdamW) the cycled momentum is β1. As in PyTorch, the schedule writes
    ``initial_lr``, ``max_lr``, ``min_lr`` (and ``max_momentum``, ``base_momentum``) into each parameter
    group, so they travel with ``optimizer.state_dict()``; the optimizer's own ``lr`` is replaced.

    ``step()`` may be called ``total_steps`` times, so that the loop ``optimizer.step();
    scheduler.step()`` runs over every batch (the last call sets a rate no batch uses); one more raises
    ValueError. ``train.fit`` steps a schedule once per epoch: there, give ``total_steps=epochs``.

    Args:
        max_lr: the peak rate, or a list of one per parameter group.
        total_steps: batches in the cycle; if None, ``epochs * steps_per_epoch``.
        pct_start: the fraction of the steps spent raising the rate, in [0, 1] ([0, 0.5] with three_phase).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        cycle_momentum: cycle momentum (β1) between ``base_momentum`` and ``max_momentum`` (each a
            number or a list per group); needs an optimiser with momentum or betas.
        div_factor, final_div_factor: initial_lr = max_lr/div_factor, min_lr = initial_lr/final_div_factor.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        if total_steps is not None:
            if not _is_int(total_steps) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        elif epochs is None or steps_per_epoch is None:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch "
                             f"(got total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r})")
        else:
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not _is_int(value) or value <= 0:
                    raise ValueError(f"OneCycleLR: {name} must be a positive integer, got {value!r}")
            total_steps = epochs * steps_per_epoch
        most = 0.5 if three_phase else 1.0  # three phases: the first two take 2·pct_start of the steps
        if not isinstance(pct_start, Real) or not 0 <= pct_start <= most:
            raise ValueError(f"OneCycleLR: pct_start must be a number in [0, {most:g}]"
                             f"{' with three_phase=True' if three_phase else ''}, got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not value > 0:
                raise ValueError(f"OneCycleLR: {name} must be positive, got {value!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.cycle_momentum, self.three_phase = cycle_momentum, three_phase
        # Each phase: (its last step, the group keys of the rate and of the momentum it goes from and to).
        peak = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr",
                            "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(peak, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]

        for group, top in zip(optimizer.param_groups, _per_group("OneCycleLR", "max_lr", max_lr, optimizer)):
            group["initial_lr"] = top / div_factor
            group["max_lr"] = top
            group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas "
                                 f"(SGD, RMSprop, Adam, AdamW); {type(optimizer).__name__} has neither: "
                                 "pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("OneCycleLR", "max_momentum", max_momentum, optimizer)
            lows = _per_group("OneCycleLR", "base_momentum", base_momentum, optimizer)
            for group, high, low in zip(optimizer.param_groups, highs, lows):
                group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase_at(self, step):
        """The phase ``step`` falls in, and the fraction of that phase done."""
        start = 0.0
        for i, phase in enumerate(self.phases):
            end = phase[0]
            if step <= end or i == len(self.phases) - 1:
                # An empty phase (pct_start·total_steps = 1) is already done: PyTorch divides 0 by 0 there.
                return phase, (step - start) / (end - start) if end != start else 1.0
            start = end

    def _apply(self):
        (_, lr_from, lr_to, m_from, m_to), pct = self._phase_at(self.last_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = self._anneal(group[lr_from], group[lr_to], pct)
            if self.cycle_momentum:
                momentum = self._anneal(group[m_from], group[m_to], pct)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum

    def step(self, metrics=None):
        """Advance one batch and set the new rate (and momentum); ``metrics`` is ignored."""
        if self.last_epoch >= self.total_steps:
            raise ValueError(f"OneCycleLR: step() called {self.last_epoch + 1} times, but total_steps is "
                             f"{self.total_steps}: the cycle is over (give total_steps, or epochs and "
                             "steps_per_epoch, that cover every batch of the run)")
        super().step(metrics)

    def load_state_dict(self, state):
        if state["last_epoch"] > self.total_steps:
            raise ValueError(f"OneCycleLR.load_state_dict: the saved schedule is at step {state['last_epoch']}, "
                             f"past this one's total_steps={self.total_steps}")
        super().load_state_dict(state)


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

    def step(self, metrics):
        """Count the epoch whose monitored value (e.g. the validation loss) is ``metrics``; reduce the
        rate after ``patience`` epochs without improvement."""
        value = float(metrics)
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
