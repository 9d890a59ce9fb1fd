"""Activation functions and softmax: relu, leaky_relu, elu, silu, softplus, hardtanh, sigmoid, tanh, gelu,
step, softmax, log_softmax.

All are numerically stable: sigmoid never evaluates exp of a large positive number, softmax and
log_softmax subtract the maximum first (log-sum-exp).
"""
import math

from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class ReLUFunction(Function):
    op_name = "relu"

    def forward(self, x):
        y = xp.maximum(x, 0)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # 1 where the unit was active, else 0 (the ReLU gate)
        (y,) = self.saved
        return gy * (y > 0)


class LeakyReLUFunction(Function):
    op_name = "leaky_relu"

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.save_for_backward(x)
        return xp.where(x > 0, x, x * self.negative_slope)

    def backward(self, gy):  # 1 for x > 0, negative_slope otherwise
        (x,) = self.saved
        return xp.where(x > 0, gy, gy * self.negative_slope)


def _erf(x):
    """The error function, from SciPy (imported here, when first needed: it costs 0.2 s at start-up);
    on a GPU from CuPy's copy of SciPy's special functions."""
    if get_array_module(x).__name__ == "cupy":
        from cupyx.scipy import special
    else:
        from scipy import special
    return special.erf(x)


def sigmoid_array(x):
    """σ(x) on a plain array, without overflow (shared with the recurrent cells)."""
    # σ(x) = 1/(1+e⁻ˣ) for x ≥ 0 and eˣ/(1+eˣ) for x < 0: the exponent is never positive.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class SigmoidFunction(Function):
    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # σ' = σ(1 − σ)
        (y,) = self.saved
        return gy * y * (1 - y)


class TanhFunction(Function):
    def forward(self, x):
        y = xp.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # tanh' = 1 − tanh²
        (y,) = self.saved
        return gy * (1 - y * y)


class ELUFunction(Function):
    """x for x > 0, α(eˣ − 1) otherwise: smooth at 0 for α = 1, negative outputs keep the mean near 0."""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        y = xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):  # 1 for x > 0, αeˣ = y + α otherwise
        x, y = self.saved
        return xp.where(x > 0, gy, gy * (y + self.alpha))


class SiLUFunction(Function):
    """x·σ(x) (also called swish)."""

    op_name = "silu"

    def forward(self, x):
        s = sigmoid_array(x)
        self.save_for_backward(x, s)
        return x * s

    def backward(self, gy):  # d/dx xσ(x) = σ(x)(1 + x(1 − σ(x)))
        x, s = self.saved
        return gy * s * (1 + x * (1 - s))


class SoftplusFunction(Function):
    """(1/β)·log(1 + e^(βx)), a smooth ReLU; where βx > threshold it is x itself (as in PyTorch)."""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        z = self.beta * x
        self.save_for_backward(z)
        smooth = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta  # log(1 + eᶻ) without overflow
        return xp.where(z > self.threshold, x, smooth).astype(x.dtype, copy=False)

    def backward(self, gy):  # σ(βx), and 1 on the linear part
        (z,) = self.saved
        return xp.where(z > self.threshold, gy, gy * sigmoid_array(z))


class HardtanhFunction(Function):
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 at and beyond the edges (PyTorch's)."""

    def __init__(self, min_val, max_val):
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        self.save_for_backward(x)
        return xp.clip(x, self.min_val, self.max_val)

    def backward(self, gy):
        (x,) = self.saved
        return gy * ((x > self.min_val) & (x < self.max_val))


class GELUFunction(Function):
    """Gaussian error linear unit, the Transformer's activation: x·Φ(x), with Φ the standard normal
    CDF (``approximate="tanh"``: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), as in PyTorch)."""

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        self.save_for_backward(x)
        if self.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            return 0.5 * x * (1 + xp.tanh(inner))
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))

    def backward(self, gy):
        (x,) = self.saved
        if self.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
        pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return gy * (cdf + x * pdf)  # d/dx x·Φ(x) = Φ(x) + x·φ(x)


class StepFunction(Function):
    """The perceptron's step function: 1 where x > 0, else 0. Its derivative is 0 wherever it exists,
    which is why networks trained by gradient descent use smooth activations instead."""

    def forward(self, x):
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return xp.zeros_like(gy)


def softmax_array(x, axis=-1):
    """softmax on a plain array; the largest value is taken off first, so exp never overflows."""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class SoftmaxFunction(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        y = softmax_array(x, self.axis)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # ∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)  ⇒  gx = y ⊙ (gy − Σ gy⊙y)
        (y,) = self.saved
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmaxFunction(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # log softmax: gx = gy − softmax ⊙ Σ gy
        (y,) = self.saved
        return gy - xp.exp(y) * gy.sum(axis=self.axis, keepdims=True)


def relu(x):
    """max(x, 0)."""
    return kernels.choose(ReLUFunction)()(x)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope·x otherwise."""
    return kernels.choose(LeakyReLUFunction)(negative_slope)(x)


def elu(x, alpha=1.0):
    """x for x > 0, α(eˣ − 1) otherwise."""
    return kernels.choose(ELUFunction)(alpha)(x)


def silu(x):
    """x·σ(x)."""
    return kernels.choose(SiLUFunction)()(x)


def softplus(x, beta=1.0, threshold=20.0):
    """(1/β)·log(1 + e^(βx)); linear where βx > threshold."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return kernels.choose(SoftplusFunction)(beta, threshold)(x)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """max(min_val, min(max_val, x))."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
    return HardtanhFunction(min_val, max_val)(x)


def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), computed without overflow."""
    return kernels.choose(SigmoidFunction)()(x)


def tanh(x):
    """Hyperbolic tangent."""
    return TanhFunction()(x)


def gelu(x, approximate="none"):
    """x·Φ(x) (``approximate="tanh"`` for the tanh formula)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return kernels.choose(GELUFunction)(approximate)(x)


def step(x):
    """Heaviside step: 1 where x > 0, else 0 (zero gradient)."""
    return StepFunction()(x)


def softmax(x, axis=-1, *, dim=None):
    """exp(x) / Σ exp(x) along ``axis`` (stable: the maximum is subtracted first)."""
    return kernels.choose(SoftmaxFunction)(dim if dim is not None else axis)(x)


def log_softmax(x, axis=-1, *, dim=None):
    """log softmax(x) = x − log Σ exp(x), by log-sum-exp."""
    return kernels.choose(LogSoftmaxFunction)(dim if dim is not None else axis)(x)
