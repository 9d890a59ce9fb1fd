"""Reductions: sum, mean, prod, max, min, var, logsumexp, norm, cumsum, argmax, argmin.

Each takes ``axis`` (NumPy) or ``dim`` (PyTorch), an int, a tuple or ``None`` for all axes,
and ``keepdims`` / ``keepdim``.
"""
import builtins
import math
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_array_module, xp
from gradwork.ops._util import expand_reduced, normalize_axes, resolve_axis, resolve_keepdims


class Sum(Function):
    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # every summed element gets the whole gradient
        return expand_reduced(gy, self.input_shape, self.axes, self.keepdims)


class Mean(Function):
    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # each of the n averaged elements gets 1/n of the gradient
        n = 1
        for a in self.axes:
            n *= self.input_shape[a]
        return expand_reduced(gy / n, self.input_shape, self.axes, self.keepdims)


class Extremum(Function):
    """max or min along axes; the gradient goes to the extreme element(s), split evenly between ties."""

    def __init__(self, axes, keepdims, reduce):
        self.axes, self.keepdims, self.reduce = axes, keepdims, reduce

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.reduce.__name__}: cannot reduce an empty tensor of shape {x.shape}")
        y = self.reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x == y)
        return y if self.keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        (is_extreme,) = self.saved
        share = is_extreme / is_extreme.sum(axis=self.axes, keepdims=True)
        gy = with_reduced_axes(gy, self.axes, self.keepdims)
        return (gy * share).astype(gy.dtype, copy=False)


class Prod(Function):
    """Π over one axis (or all). Its gradient is the product of the *other* elements, computed as
    the product of the elements before and after each one (exclusive cumulative products), so a
    zero in the input gives the right answer instead of the 0/0 of the textbook ∂/∂xᵢ = Π/xᵢ."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.save_for_backward(x)
        if self.axis is None:
            return x.prod()
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.saved
        if self.axis is None:
            others = _product_of_others(x.reshape(-1), 0).reshape(x.shape)
            return gy * others
        gy = with_reduced_axes(gy, self.axis, self.keepdims)
        return gy * _product_of_others(x, self.axis)


def with_reduced_axes(gy, axes, keepdims):
    """The gradient of a reduction with its reduced axes back as length 1 (when keepdims dropped them),
    so it broadcasts against the input."""
    return gy if keepdims else xp.expand_dims(gy, axes)


def _kept_shape(shape, axes):
    """The shape of a reduction over ``axes`` with keepdims."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _product_of_others(x, axis):
    """For each element, the product of all other elements along ``axis``."""
    n = x.shape[axis]
    if n == 0:
        return xp.ones_like(x)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    before = xp.concatenate([ones, xp.take(xp.cumprod(x, axis=axis), range(n - 1), axis=axis)], axis=axis)
    flipped = xp.flip(x, axis)
    after = xp.concatenate([ones, xp.take(xp.cumprod(flipped, axis=axis), range(n - 1), axis=axis)], axis=axis)
    return before * xp.flip(after, axis)


class CumSum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xp.cumsum(x, axis=self.axis).reshape(x.shape)  # (a 0-d input stays 0-d)

    def backward(self, gy):  # yᵢ = Σ_{j≤i} xⱼ, so xⱼ gets Σ_{i≥j} gyᵢ: a cumulative sum from the end
        if gy.ndim == 0:
            return gy
        return xp.flip(xp.cumsum(xp.flip(gy, self.axis), axis=self.axis), self.axis)


class LogSumExp(Function):
    """log Σ exp(x) = m + log Σ exp(x − m) with m = max x (no overflow); ∂/∂x = softmax(x)."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        m = (x.max(axis=self.axes, keepdims=True) if x.size
             else get_array_module(x).zeros(_kept_shape(x.shape, self.axes), x.dtype))
        m = xp.where(xp.isfinite(m), m, 0)  # all −inf (or inf) along an axis: nothing to shift
        with xp.errstate(divide="ignore"):  # log 0 = −inf: the log-sum-exp of nothing (an empty axis)
            y = m + xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True))
        self.save_for_backward(x, y)
        return y if self.keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        x, y = self.saved
        gy = with_reduced_axes(gy, self.axes, self.keepdims)
        return gy * xp.exp(x - y)


class Norm(Function):
    """The vector p-norm ‖x‖_p = (Σ|xᵢ|ᵖ)^(1/p) over axes; p = inf is max |xᵢ|.

    ∂‖x‖_p/∂xᵢ = sign(xᵢ)·|xᵢ|ᵖ⁻¹ / ‖x‖_pᵖ⁻¹ (for p = 2: x/‖x‖), taken as 0 where the norm is 0
    (as PyTorch does); for p = inf the gradient is shared equally by the elements of largest |x|.
    """

    def __init__(self, p, axes, keepdims):
        self.p, self.axes, self.keepdims = p, axes, keepdims

    def forward(self, x):
        a = xp.abs(x)
        p = self.p
        if p == math.inf:
            y = (a.max(axis=self.axes, keepdims=True) if x.size
                 else get_array_module(x).zeros(_kept_shape(x.shape, self.axes), x.dtype))
        elif p == 2:
            y = xp.sqrt((a * a).sum(axis=self.axes, keepdims=True))
        elif p == 1:
            y = a.sum(axis=self.axes, keepdims=True)
        else:
            y = (a ** p).sum(axis=self.axes, keepdims=True) ** (1 / p)
        self.save_for_backward(x, y)
        return y if self.keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        x, y = self.saved
        gy = with_reduced_axes(gy, self.axes, self.keepdims)
        p = self.p
        if p == math.inf:
            is_max = xp.abs(x) == y
            return gy * xp.sign(x) * is_max / is_max.sum(axis=self.axes, keepdims=True)
        if p == 1:
            return gy * xp.sign(x)
        safe = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, gy * x / safe)
        with xp.errstate(divide="ignore", invalid="ignore"):  # |x|^(p−1) at x = 0 for p < 1: taken as 0
            power = xp.where(x == 0, 0, xp.abs(x) ** (p - 1))
        return xp.where(y == 0, 0, gy * xp.sign(x) * power / safe ** (p - 1))


def _reduction_args(x, axis, keepdims, dim, keepdim):
    x = as_tensor(x)
    axes = normalize_axes(resolve_axis(axis, dim), x.ndim)
    return x, axes, resolve_keepdims(keepdims, keepdim)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Σ over ``axis`` (all axes by default)."""
    x, axes, keep = _reduction_args(x, axis, keepdims, dim, keepdim)
    return Sum(axes, keep)(x)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``."""
    x, axes, keep = _reduction_args(x, axis, keepdims, dim, keepdim)
    return Mean(axes, keep)(x)


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest value over ``axis``. (Use ``argmax`` for its position.)"""
    x, axes, keep = _reduction_args(x, axis, keepdims, dim, keepdim)
    return Extremum(axes, keep, xp.max)(x)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest value over ``axis``."""
    x, axes, keep = _reduction_args(x, axis, keepdims, dim, keepdim)
    return Extremum(axes, keep, xp.min)(x)


def var(x, axis=None, keepdims=False, *, dim=None, keepdim=None, correction=1):
    """Variance Σ(x − mean)² / (n − correction) over ``axis``.

    ``correction=1`` (the default, as in PyTorch) is the unbiased estimate; ``correction=0``
    is NumPy's default and the one batch normalisation uses.
    """
    x, axes, keep = _reduction_args(x, axis, keepdims, dim, keepdim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    centered = x - mean(x, axes, keepdims=True)
    return sum(centered * centered, axes, keep) / builtins.max(n - correction, 1)


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the largest value (flat index when no axis is given); not differentiable."""
    x = as_tensor(x)
    axis = resolve_axis(axis, dim)
    return Tensor(xp.argmax(x.data, axis=axis, keepdims=resolve_keepdims(keepdims, keepdim)))


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the smallest value; not differentiable."""
    x = as_tensor(x)
    axis = resolve_axis(axis, dim)
    return Tensor(xp.argmin(x.data, axis=axis, keepdims=resolve_keepdims(keepdims, keepdim)))


def prod(x, dim=None, keepdim=False):
    """Π of the elements over axis ``dim`` (one axis, as in PyTorch) or of all elements."""
    x = as_tensor(x)
    if dim is not None:
        if not isinstance(dim, numbers.Integral):
            raise TypeError(f"prod: dim must be one axis (an int) or None, got {dim!r}")
        (dim,) = normalize_axes(int(dim), x.ndim)
    return Prod(dim, bool(keepdim))(x)


def cumsum(x, dim):
    """Running sum along ``dim``: yᵢ = x₀ + … + xᵢ."""
    x = as_tensor(x)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"cumsum: dim must be an int, got {dim!r}")
    (dim,) = normalize_axes(int(dim), x.ndim)
    return CumSum(dim)(x)


def logsumexp(x, dim=None, keepdim=False):
    """log Σ exp(x) over ``dim`` (an int, a tuple, or None for all), without overflow."""
    x = as_tensor(x)
    axes = normalize_axes(resolve_axis(None, dim), x.ndim)
    return LogSumExp(axes, bool(keepdim))(x)


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm of the elements over ``dim`` (all by default): ``p`` = 'fro' or 2 (Euclidean / Frobenius),
    1, any p > 0, or ``float('inf')`` (largest |x|)."""
    x = as_tensor(x)
    if p == "fro":
        p = 2
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise ValueError(f"norm: p must be 'fro', a positive number or float('inf'), got {p!r}")
    axes = normalize_axes(resolve_axis(None, dim), x.ndim)
    return Norm(float(p), axes, bool(keepdim))(x)
