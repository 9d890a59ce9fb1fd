"""The few NumPy calls that CuPy spells differently, each behind one function that takes the array.

An op that needs one of these writes ``compat.scatter_add(gx, index, gy)`` instead of
``np.add.at(gx, index, gy)``; on a NumPy array it is exactly the NumPy call.

* ``np.add.at`` (scatter-add, the backward of indexing with repeated indices) → ``cupyx.scatter_add``.
* ``np.errstate`` (silence divide-by-zero warnings) → nothing: CuPy never warns about floating point.
* ``np.lib.stride_tricks.as_strided`` (overlapping windows as a view) → CuPy's own ``as_strided``.
* ``np.bincount(…, weights=…)`` → the same call on the array's module (CuPy has it).
"""
import contextlib

import numpy as np

from gradwork.backend.device import _kind_of_type, get_array_module


def scatter_add(target, index, values):
    """``target[index] += values`` where every repeated index adds (``np.add.at``), in place."""
    kind = _kind_of_type.get(type(target))
    if kind is None:
        np.add.at(target, index, values)
    else:
        kind.scatter_add(target, index, values)


def errstate(array, **settings):
    """``np.errstate(**settings)`` for a NumPy ``array``; nothing for other devices (CuPy does not warn)."""
    return np.errstate(**settings) if type(array) is np.ndarray else contextlib.nullcontext()


def as_strided(array, shape, strides, writeable=True):
    """A view of ``array`` with the given shape and byte strides (windows that overlap share memory).
    NumPy's ``np.lib.stride_tricks.as_strided`` on the CPU, CuPy's ``cupy.lib.stride_tricks.as_strided``
    on a GPU (which has no read-only views: ``writeable`` applies to NumPy only); a registered kind's
    module provides ``lib.stride_tricks.as_strided`` the same way."""
    if type(array) is np.ndarray:
        return np.lib.stride_tricks.as_strided(array, shape=shape, strides=strides, writeable=writeable)
    return get_array_module(array).lib.stride_tricks.as_strided(array, shape=shape, strides=strides)
