"""Memory layouts the fast kernels share: activations as an (m, C) matrix of channels-last rows,
per-channel sums as BLAS products, and per-channel scaling on long rows."""
import math

from gradwork.backend import get_array_module, xp


def column_sums(matrix):
    """Σ over the rows of a tall (M, K) matrix, as a BLAS vector product: NumPy's ``sum(axis=0)``
    walks such a matrix K values at a time and is several times slower when K is small."""
    return get_array_module(matrix).ones(matrix.shape[0], dtype=matrix.dtype) @ matrix


def column_dots(a, b):
    """Σ over the rows of a ⊙ b for two (M, K) matrices: the K per-column dot products, in one pass
    (``einsum``) with no (M, K) temporary. ``column_sums(a * b)`` writes and reads back that temporary:
    (100,352 × 16) float32 1.11 → 0.59 ms, (25,088 × 32) 0.39 → 0.20 ms; (6,272 × 64) 0.077 → 0.092 ms
    (bench/RESULTS.md, 2026-11-30, session 7)."""
    return get_array_module(a).einsum("ij,ij->j", a, b)


def row_sums(matrix):
    """Σ along each row of an (M, K) matrix, as a BLAS matrix–vector product: NumPy's ``sum(axis=1)``
    pays a fixed cost per row, several times the work when K is a few hundred values or fewer."""
    return matrix @ get_array_module(matrix).ones(matrix.shape[1], dtype=matrix.dtype)


#: Rows of at most this many values, and at least ``SHORT_ROWS_MIN_COUNT`` of them, take :func:`row_maxima`'s
#: transposed copy (measured, float32 and float64: up to 32 values it wins from 32 rows on; at 64 values it
#: loses again for 8,192 rows).
SHORT_ROW_MAX_LENGTH = 32
SHORT_ROWS_MIN_COUNT = 32


def row_maxima(matrix):
    """The largest value of each row of an (M, K) matrix — NumPy's ``max(axis=1)``, the same numbers (NaN
    included: a maximum is exact, whatever the order it is taken in — except which of two tied zeros, +0 or
    −0, it returns, which differs between the two ways; x − max and exp of it are the same either way).

    NumPy reduces a row at a time and pays a fixed cost for each: the (128, 10) logits of a 10-class batch
    take 6.6 µs, (1,000, 10) 45 µs, (8,192, 10) 360 µs in float32. For short rows the maxima are taken down
    the columns of a transposed copy instead, K elementwise comparisons along rows of M values: 2.8, 6.5
    and 40 µs (bench/RESULTS.md, 2026-12-01, session 17)."""
    rows, length = matrix.shape
    if type(matrix) is xp.ndarray and length <= SHORT_ROW_MAX_LENGTH and rows >= SHORT_ROWS_MIN_COUNT:
        return xp.ascontiguousarray(matrix.T).max(axis=0)
    return matrix.max(axis=1)


def channels_last(x):
    """(N, C, H, W) → (N, H, W, C) in memory order, as compiled loops walk it: a view when ``x`` is stored
    channels-last (a convolution's output, a ReLU of it), else a copy in that order — input stored
    channels-first, or a convolution's padded output (a view with gaps between its rows), which loops
    would read through its strides several times slower than the copy costs (max pooling, bench/RESULTS.md,
    2026-12-01, session 14)."""
    return xp.ascontiguousarray(x.transpose(0, 2, 3, 1))


def flat_alike(*arrays):
    """1-D views of arrays of one shape, each listing its elements in the order they lie in the first array's
    memory — so an element-by-element loop over the views runs along memory in every array and meets
    matching elements at the same index — or None unless every array is stored densely in that one order
    (C order, channels-last, any permutation of the axes; not a slice with gaps, a broadcast view or
    reversed axes)."""
    first = arrays[0]
    order = sorted(range(first.ndim), key=lambda axis: first.strides[axis], reverse=True)  # outermost first
    views = [a.transpose(order) for a in arrays]
    if all(view.flags.c_contiguous for view in views):
        return [view.reshape(-1) for view in views]
    return None


def channel_rows(x):
    """(N, C, *spatial) → the (m, C) matrix with one row per example and position: a free view when
    ``x`` is stored channels-last (as convolutions leave it), a copy otherwise. (N, C) is returned as is."""
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def from_channel_rows(rows, shape):
    """The inverse of :func:`channel_rows`: (m, C) → (N, C, *spatial), stored channels-last."""
    return xp.moveaxis(rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],)), -1, 1)


class WideRows:
    """A contiguous (m, C) matrix seen as (m/k, k·C) — k of its rows side by side — so that an
    elementwise op with a per-channel vector runs along rows of k·C values instead of C.

    NumPy's loops pay a fixed cost per innermost run; with C = 16 channels a run is 64 bytes, and
    ``rows += bias`` on the (100,352 × 16) output of a W2 convolution took 0.65 ms against 0.27 ms on
    (1,568 × 1,024) rows with the bias repeated 64 times (7.1 vs 4.2 ms for W5's 784,000 rows;
    bench/RESULTS.md, 2026-11-30). The values and the order of every addition are unchanged: each
    element still meets its own channel's entry.
    """

    def __init__(self, rows):
        m, channels = rows.shape
        # k rows side by side: k divides m, at most 64; 1 (the matrix as it is) unless rows are contiguous
        self.k = math.gcd(m, 64) if rows.flags.c_contiguous else 1
        self.shape = (m // self.k, self.k * channels)

    def view(self, rows):
        """``rows`` (m, C) — the matrix this was made for, or one of its shape stored contiguously —
        as (m/k, k·C): a free reshape."""
        return rows.reshape(self.shape)

    def per_channel(self, vector):
        """A (C,) vector repeated to match a wide row, (k·C,)."""
        return get_array_module(vector).tile(vector, self.k)
