"""The max-norm constraint (Srivastava et al. 2014; CS231n, Deep Learning from Scratch): after every
update, each unit's *incoming* weight vector w is projected back into the ball ‖w‖₂ ≤ c::

    w ← w · min(1, c / ‖w‖₂)

Weights can then never blow up, however large the learning rate, which lets dropout networks train
with large steps. A unit is one row of ``Linear.weight`` (out, in), one output filter of
``Conv2d.weight`` (out, in, kh, kw) — PyTorch's layout puts the units on axis 0 — and one output
channel of ``ConvTranspose2d.weight`` (in, out/groups, kh, kw), whose units are on axis 1.
"""
import numbers

from gradwork.autograd.grad_mode import no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn.conv import ConvTranspose2d
from gradwork.nn.module import Module


def _weights(module_or_parameters, dim):
    """(parameter, units axis, groups) for every weight (ndim ≥ 2) to constrain."""
    if isinstance(module_or_parameters, Module):
        found, seen = [], set()
        for module in module_or_parameters.modules():
            for p in module.parameters(recurse=False):
                if p.ndim >= 2 and id(p) not in seen:
                    seen.add(id(p))
                    transposed = isinstance(module, ConvTranspose2d) and p is module.weight
                    found.append((p, (1 if transposed else 0) if dim is None else dim,
                                  module.groups if transposed and dim is None else 1))
        return found
    if isinstance(module_or_parameters, Tensor):
        if module_or_parameters.ndim < 2:
            raise ShapeError(f"max_norm_: a weight of shape {module_or_parameters.shape} has no incoming weight "
                             "vectors (a bias or other vector is never constrained); pass a weight (out, in, …)")
        return [(module_or_parameters, 0 if dim is None else dim, 1)]
    return [(p, 0 if dim is None else dim, 1) for p in module_or_parameters if p.ndim >= 2]


def check_max_value(max_value):
    """Refuse a limit that is not a positive number, with the one message both callers give."""
    if isinstance(max_value, bool) or not isinstance(max_value, numbers.Real) or not max_value > 0:
        raise ConfigError(f"max_norm_: max_value must be a positive number (the largest allowed norm of a unit's "
                          f"incoming weights), got {max_value!r}")


def max_norm_(module_or_parameters, max_value, dim=None):
    """Rescale, in place, each unit's incoming weight vector whose L2 norm exceeds ``max_value`` to that norm.

    Args:
        module_or_parameters: a ``Module`` (all its weights), an iterable of parameters, or one tensor.
            Parameters with fewer than 2 dimensions (biases, normalisation scales) are left untouched.
        max_value: the largest norm c allowed (> 0).
        dim: the axis that indexes the units; the norm of each unit is taken over every other axis.
            None: 0 (PyTorch's (out, in, …) layout), and for a ``ConvTranspose2d`` in a module its
            output-channel axis 1 (within each group).

    Units within the limit are not changed at all. Runs without recording a graph; each changed
    weight counts as an in-place change (as an optimiser step does). Returns the largest unit norm
    found before rescaling.
    """
    check_max_value(max_value)
    largest = 0.0
    with no_grad():
        for p, axis, groups in _weights(module_or_parameters, dim):
            if not -p.ndim <= axis < p.ndim:
                raise ShapeError(f"max_norm_: dim={axis} is out of range for a weight of shape {p.shape}")
            axis %= p.ndim
            w = p.data
            if groups > 1:  # (in, out/g, kh, kw) → (g, in/g, out/g, kh, kw): unit (group, out channel)
                w = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
                axes = (1,) + tuple(range(3, w.ndim))
            else:
                axes = tuple(a for a in range(w.ndim) if a != axis)
            norms = xp.sqrt((w.astype(xp.float64) ** 2).sum(axis=axes, keepdims=True))
            largest = max(largest, float(norms.max()) if norms.size else 0.0)  # CuPy's max has no initial=
            too_long = norms > max_value
            if too_long.any():
                scale = xp.where(too_long, max_value / xp.where(too_long, norms, 1.0), 1.0)  # 1 leaves a unit as it is
                scale = xp.broadcast_to(scale, w.shape).reshape(p.shape).astype(p.dtype)
                p.mul_(Tensor(scale))
    return largest
