"""Losses for real-valued targets: mean squared error, mean absolute error, smooth L1 and Huber.

The target has the input's shape (a mismatch that would broadcast is an error) and receives no
gradient. With d = input − target, per element:

    mse        d²
    l1         |d|
    smooth_l1  0.5·d²/β  where |d| < β,  |d| − 0.5·β  elsewhere
    huber      0.5·d²    where |d| < δ,  δ·(|d| − 0.5·δ)  elsewhere   (= δ · smooth_l1 with β = δ)

Smooth L1 and Huber are quadratic near the target and linear far from it: an outlier's gradient
is capped (at ±1 and ±δ) instead of growing with the error as in MSE.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError
from gradwork.ops import elementwise
from gradwork.ops._loss_util import check_reduction, float_target, reduce


class SmoothL1(Function):
    """Smooth L1 of d = x − y:  0.5·d²/β where |d| < β, else |d| − 0.5·β  (β = 0: plain |d|).

    d loss/dx = d/β where |d| < β, sign(d) elsewhere: L2's gradient near the target, L1's far from it.
    """

    def __init__(self, target, beta):
        self.target, self.beta = target, beta

    def forward(self, x):
        d = x - self.target
        self.save_for_backward(d)
        size = xp.abs(d)
        if self.beta == 0:
            return size
        return xp.where(size < self.beta, 0.5 * d * d / self.beta, size - 0.5 * self.beta)

    def backward(self, gy):
        (d,) = self.saved
        if self.beta == 0:
            return gy * xp.sign(d)
        return gy * xp.where(xp.abs(d) < self.beta, d / self.beta, xp.sign(d))


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error (input − target)²; shapes must match."""
    name = "mse_loss"
    check_reduction(reduction, name)
    input = as_tensor(input)
    diff = input - float_target(target, input, name)
    return reduce(diff * diff, reduction)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error |input − target| (its gradient is sign(input − target), 0 at 0)."""
    name = "l1_loss"
    check_reduction(reduction, name)
    input = as_tensor(input)
    return reduce(elementwise.abs(input - float_target(target, input, name)), reduction)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """Smooth L1: 0.5·d²/β where |d| < β, |d| − 0.5·β elsewhere, for d = input − target.
    ``beta`` ≥ 0 is where the quadratic turns linear; β = 0 gives l1_loss."""
    name = "smooth_l1_loss"
    check_reduction(reduction, name)
    if not beta >= 0:
        raise ConfigError(f"{name}: beta must be ≥ 0 (where the quadratic turns linear), got {beta!r}")
    input = as_tensor(input)
    return reduce(SmoothL1(float_target(target, input, name), beta)(input), reduction)


def huber_loss(input, target, *, reduction="mean", delta=1.0):
    """Huber loss: 0.5·d² where |d| < δ, δ·(|d| − 0.5·δ) elsewhere, for d = input − target.
    ``delta`` > 0; the same as δ · smooth_l1_loss(β = δ), so its gradient is capped at ±δ."""
    name = "huber_loss"
    check_reduction(reduction, name)
    if not delta > 0:
        raise ConfigError(f"{name}: delta must be > 0 (where the quadratic turns linear), got {delta!r}")
    input = as_tensor(input)
    return reduce(SmoothL1(float_target(target, input, name), delta)(input) * delta, reduction)
