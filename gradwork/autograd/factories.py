"""Functions that make new tensors: from data, filled with a constant, ranges, random draws.

Random factories draw from gradwork's one generator, so ``manual_seed`` makes them repeatable.
"""
from gradwork import backend
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float(dtype):
    return xp.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def tensor(data, dtype=None, requires_grad=False):
    """A new leaf tensor. NumPy arrays and tensors keep their dtype; Python floats become float32, ints int64.

    The data is always copied (also from a Tensor), so later changes to ``data`` do not reach the tensor.
    """
    t = Tensor(data, dtype=dtype)
    source = data.data if isinstance(data, Tensor) else data
    if t.data is source or (isinstance(source, xp.ndarray) and xp.shares_memory(t.data, source)):
        t.data = t.data.copy()
    return t.requires_grad_(requires_grad) if requires_grad else t


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(xp.zeros(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(xp.ones(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(xp.full(shape, fill_value, _float(dtype)), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(xp.zeros(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(xp.ones(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The n×m identity matrix."""
    return Tensor(xp.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop). Integer arguments give int64, floats give float32."""
    if stop is None:
        start, stop = 0, start
    values = xp.arange(start, stop, step)
    if dtype is not None:
        values = values.astype(dtype)
    elif values.dtype == xp.float64:
        values = values.astype(backend.get_default_dtype())
    return Tensor(values, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    return Tensor(backend.rng().random(_shape(shape)).astype(_float(dtype)), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples."""
    return Tensor(backend.rng().standard_normal(_shape(shape)).astype(_float(dtype)), requires_grad=requires_grad)
