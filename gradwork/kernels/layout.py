"""Memory layouts the fast kernels share: activations as an (m, C) matrix of channels-last rows,
and per-channel sums as BLAS products."""
from gradwork.backend import get_array_module, xp


def column_sums(matrix):
    """Σ over the rows of a tall (M, K) matrix, as a BLAS vector product: NumPy's ``sum(axis=0)``
    walks such a matrix K values at a time and is several times slower when K is small."""
    return get_array_module(matrix).ones(matrix.shape[0], dtype=matrix.dtype) @ matrix


def channel_rows(x):
    """(N, C, *spatial) → the (m, C) matrix with one row per example and position: a free view when
    ``x`` is stored channels-last (as convolutions leave it), a copy otherwise. (N, C) is returned as is."""
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def from_channel_rows(rows, shape):
    """The inverse of :func:`channel_rows`: (m, C) → (N, C, *spatial), stored channels-last."""
    return xp.moveaxis(rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],)), -1, 1)
