"""Helpers shared by the ops: undoing broadcasting, per-channel sums, and accepting both NumPy and
PyTorch spellings."""
from gradwork import backend
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import xp


def sum_to(g, shape):
    """Sum ``g`` down to ``shape``: the backward of broadcasting.

    When ``x`` of shape (3, 1) was broadcast to (2, 3, 4), each element of x was used 2·4 times,
    so its gradient is the sum of the gradients of all its copies.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def operands(a, b):
    """Both operands of a binary op as tensors; a bare number takes the dtype of the tensor beside it.

    An integer tensor meeting a Python float becomes the default float type first, so
    ``arange(3) * 0.5`` is float32 (as in PyTorch) rather than NumPy's float64.
    """
    if isinstance(a, Tensor):
        return _floated(a, b), as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), _floated(b, a)


def _floated(t, other):
    if t.data.dtype.kind in "iub" and isinstance(other, (float, xp.floating)):
        return Tensor(t.data.astype(backend.get_default_dtype()))
    return t


def resolve_axis(axis, dim):
    """``axis`` (NumPy) or ``dim`` (PyTorch); giving both is an error. Lists become tuples."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give either axis= or dim=, not both")
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def resolve_keepdims(keepdims, keepdim):
    """``keepdims`` (NumPy) or ``keepdim`` (PyTorch)."""
    return bool(keepdim) if keepdim is not None else bool(keepdims)


def normalize_axes(axis, ndim):
    """``axis`` as a tuple of non-negative axes (``None`` means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(out)


def expand_reduced(g, shape, axes, keepdims):
    """Broadcast the gradient of a reduction back over the reduced axes, as a read-only view."""
    if not keepdims and axes:  # the reduced axes back, of length 1 (a reshape: cheaper than expand_dims)
        g = g.reshape([1 if axis in axes else size for axis, size in enumerate(shape)])
    return xp.broadcast_to(g, shape)
