"""Gradient clipping: the guard against exploding gradients.

A sparse gradient (:class:`~gradwork.autograd.sparse.SparseGrad`) is clipped through its stored rows:
the rows it leaves out are zero, which add nothing to a norm and need no clipping.
"""
import math

from gradwork.autograd.sparse import SparseGrad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def _stored(grad):
    """The numbers of a gradient that can be non-zero: a sparse gradient's rows, or the whole array."""
    return grad.values if isinstance(grad, SparseGrad) else grad


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients together so their global norm is at most ``max_norm``.

    total = (Σ_p ‖g_p‖^norm_type)^(1/norm_type);  if total > max_norm: g ← g · max_norm/(total + 1e-6).
    The direction of the overall gradient is kept. Returns the norm before clipping.
    """
    params = _with_grads(parameters)
    if max_norm <= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be positive, got {max_norm}")
    if not params:
        return 0.0
    if norm_type == math.inf:
        # max(initial=0) would say the same, but CuPy's max has no `initial`: an empty gradient counts 0.
        total = max(float(xp.abs(_stored(p.grad)).max()) if _stored(p.grad).size else 0.0 for p in params)
    else:
        total = sum(float((xp.abs(_stored(p.grad)) ** norm_type).sum()) for p in params) ** (1.0 / norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad = p.grad * p.grad.dtype.type(coef)  # a new array: gradients may be shared, never edit in place
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [−clip_value, clip_value]."""
    if clip_value <= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be positive, got {clip_value}")
    for p in _with_grads(parameters):
        g = p.grad
        if isinstance(g, SparseGrad):
            p.grad = SparseGrad(g.indices, xp.clip(g.values, -clip_value, clip_value), g.shape)
        else:
            p.grad = xp.clip(g, -clip_value, clip_value)
