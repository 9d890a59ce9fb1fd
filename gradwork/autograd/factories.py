"""Functions that make new tensors: from data, filled with a constant, ranges, random draws.

Each takes ``device=`` ("cpu", the default, or "cuda", "cuda:1", …) and makes its array there.
Random factories draw from that device's generator, so ``manual_seed`` makes them repeatable.
"""
from gradwork import backend
from gradwork.autograd.tensor import Tensor
from gradwork.backend import Device, to_device, xp


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float(dtype):
    return xp.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def _module(device):
    """The array module that makes arrays on ``device`` (NumPy when none is named)."""
    return xp if device is None else Device(device).xp


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor. NumPy arrays and tensors keep their dtype; Python floats become float32, ints int64.

    The data is always copied (also from a Tensor), so later changes to ``data`` do not reach the tensor.
    """
    t = Tensor(data, dtype=dtype)
    source = data.data if isinstance(data, Tensor) else data
    if t.data is source or (isinstance(source, xp.ndarray) and xp.shares_memory(t.data, source)):
        t.data = t.data.copy()
    if device is not None:
        t.data = to_device(t.data, device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    return Tensor(_module(device).zeros(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    return Tensor(_module(device).ones(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(_module(device).full(shape, fill_value, _float(dtype)), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    """Zeros of ``t``'s shape, dtype and device (unless given)."""
    module = backend.get_array_module(t.data) if device is None else _module(device)
    return Tensor(module.zeros(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    """Ones of ``t``'s shape, dtype and device (unless given)."""
    module = backend.get_array_module(t.data) if device is None else _module(device)
    return Tensor(module.ones(t.shape, dtype or t.dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The n×m identity matrix."""
    return Tensor(_module(device).eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False, device=None):
    """Evenly spaced values in [start, stop). Integer arguments give int64, floats give float32."""
    if stop is None:
        start, stop = 0, start
    values = _module(device).arange(start, stop, step)
    if dtype is not None:
        values = values.astype(dtype)
    elif values.dtype == xp.float64:
        values = values.astype(backend.get_default_dtype())
    return Tensor(values, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False, device=None):
    """Uniform samples in [0, 1), drawn on ``device`` from its generator."""
    rng = backend.rng() if device is None else backend.device_rng(device)
    return Tensor(rng.random(_shape(shape)).astype(_float(dtype)), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False, device=None):
    """Standard normal samples, drawn on ``device`` from its generator."""
    rng = backend.rng() if device is None else backend.device_rng(device)
    return Tensor(rng.standard_normal(_shape(shape)).astype(_float(dtype)), requires_grad=requires_grad)
