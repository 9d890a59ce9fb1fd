"""Reductions: sum, mean, max, min, var, argmax, argmin.

Each takes ``axis`` (NumPy) or ``dim`` (PyTorch), an int, a tuple or ``None`` for all axes,
and ``keepdims`` / ``keepdim``.
"""
import builtins

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import xp
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
        if not self.keepdims:
            gy = xp.expand_dims(gy, self.axes)
        return (gy * share).astype(gy.dtype, copy=False)


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
