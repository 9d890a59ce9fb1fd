"""A fake device for testing the device dispatch without a GPU.

CI has no GPU, yet what breaks on one is a host (NumPy) array made where a device array was meant: a
``np.zeros`` in a backward pass, a mask drawn from the CPU's generator, ``np.asarray`` on the way out.
On a GPU that is an error or a silent copy to the host. Here the device ``"fake"`` holds
:class:`FakeDeviceArray`, a NumPy array subclass that behaves as a CuPy array does towards NumPy:

* NumPy's functions and ufuncs called on it answer with fake arrays (CuPy implements NumPy's
  ``__array_function__`` and ``__array_ufunc__`` protocols the same way);
* mixing it with a host ``numpy.ndarray`` in a ufunc or a NumPy function raises ``TypeError``
  (CuPy refuses host arrays as operands);
* functions that make arrays from nothing (``zeros``, ``arange``, …) make host arrays unless called on
  the fake module — exactly the calls that must take their module from their inputs.

A test moves tensors with ``.to("fake")`` and checks that every result, gradient and optimiser state
is still a ``FakeDeviceArray`` (:func:`assert_on_fake`): nothing fell back to the host.
"""
import types

import numpy as np

from gradwork.backend import DeviceKind

NAME = "fake"


class FakeDeviceArray(np.ndarray):
    """A NumPy array that stands for an array in another device's memory."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}.{method}" if method != "__call__" else f"numpy.{ufunc.__name__}"
        args = [_unwrap(x, where) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, where) for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if method == "at":
            return None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))


def _unwrap(value, where):
    """Fake arrays as plain NumPy arrays (recursing into lists, tuples and dicts); a host array here is
    an operand that never moved to the device."""
    if type(value) is FakeDeviceArray:
        return value.view(np.ndarray)
    if type(value) is np.ndarray:
        raise TypeError(f"{where}: a host numpy.ndarray of shape {value.shape} met a fake-device array; "
                        "it should have been made on the device (take the module from get_array_module)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where) for k, v in value.items()}
    return value


def _wrap(value):
    """NumPy results as fake arrays; a NumPy scalar becomes a 0-d array, as CuPy's reductions give."""
    if isinstance(value, np.ndarray):
        return value.view(FakeDeviceArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(FakeDeviceArray)
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return type(value)(_wrap(v) for v in value)
    return value


def _host(value):
    """Arguments of a creation function as NumPy sees them (fake arrays unwrapped, host ones allowed)."""
    if isinstance(value, FakeDeviceArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_host(v) for v in value)
    return value


def _on_device(function):
    def make(*args, **kwargs):
        return _wrap(function(*_host(args), **{k: _host(v) for k, v in kwargs.items()}))
    make.__name__ = function.__name__
    return make


# The calls that make a new array without taking a fake array as an operand: on the fake module they
# make fake arrays. Everything else is NumPy's own function, which dispatches through the protocols.
_CREATION = ("zeros", "empty", "ones", "full", "arange", "eye", "identity", "linspace", "array", "asarray",
             "ascontiguousarray", "asanyarray", "tri", "frombuffer")


def _as_strided(x, shape=None, strides=None):
    return np.lib.stride_tricks.as_strided(x.view(np.ndarray), shape=shape, strides=strides).view(FakeDeviceArray)


class _FakeModule(types.ModuleType):
    """``fake.zeros`` makes fake arrays; ``fake.exp``, ``fake.where`` … are NumPy's; ``fake.ndarray`` is
    the fake array type (so ``isinstance(a, xp.ndarray)`` holds)."""

    ndarray = FakeDeviceArray
    lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))

    def __getattr__(self, name):
        value = getattr(np, name)
        return _on_device(value) if name in _CREATION else value


fake_numpy = _FakeModule("fake_numpy")


class FakeGenerator:
    """NumPy's generator whose draws land on the fake device."""

    def __init__(self, seed):
        self._rng = np.random.default_rng(seed)

    def __getattr__(self, name):
        return _on_device(getattr(self._rng, name))


class FakeKind(DeviceKind):
    name = NAME
    xp = fake_numpy
    array_types = (FakeDeviceArray,)

    def to_device(self, host_array, index):
        return np.array(host_array, copy=True).view(FakeDeviceArray)  # a copy, as a transfer is

    def to_host(self, array):
        return np.array(array.view(np.ndarray), copy=True)

    def scatter_add(self, target, index, values):
        np.add.at(target.view(np.ndarray), _host(index), _host(values))

    def make_rng(self, seed, index):
        return FakeGenerator(seed)


def host(array):
    """A fake array's values as a plain NumPy array (for comparing with CPU results)."""
    return np.array(array.view(np.ndarray) if isinstance(array, FakeDeviceArray) else array, copy=True)


def assert_on_fake(array, what="array"):
    """Fail unless ``array`` is a fake-device array (it did not fall back to the host)."""
    assert type(array) is FakeDeviceArray, f"{what} fell back to the host: it is a {type(array).__name__}"
