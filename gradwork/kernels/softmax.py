"""Fast softmax and log-softmax: the same numbers as ``gradwork/ops/activations.py``'s ``SoftmaxFunction`` and
``LogSoftmaxFunction`` to rounding, as compiled loops over the rows (``softmax_loops.py``) when Numba is
installed.

The reference makes each step of softmax(x) = exp(x − max) / Σ exp(x − max) a pass over the whole array —
five or six forward, four backward, each with a temporary. The loops make their few passes over one row at
a time, while it is in the cache; each row's maximum comes first from NumPy (``layout.row_maxima``).
Forward + backward of the op, float32, against the reference (medians of 9 alternating rounds;
bench/RESULTS.md, 2026-12-01, session 17): softmax (512, 1,024) 943 → 441 µs, log-softmax 1,136 → 599 µs;
(2,048, 65) 403 → 231 and 451 → 296 µs; (1,000, 10) 109 → 48 and 113 → 74 µs; (128, 10) 20.6 → 15.3 and
21.3 → 18.6 µs. As layers against PyTorch (``python bench/layers.py --only Softmax LogSoftmax``, (512, 1,024)):
0.22× → 0.41× and 0.24× → 0.41× — PyTorch runs them on both cores, the loops on one.

They run where it pays and where the rows lie in memory as rows: float32, along the last axis of a C-ordered
array (an attention's (…, T, T) scores, a classifier's (N, C) logits) of at least ``COMPILED_MIN_SIZE``
values. Everything else — another axis, another dtype or layout, no Numba — is the reference.
"""
import numpy as np

from gradwork.kernels import jit, threads
from gradwork.kernels.layout import row_maxima
from gradwork.ops.activations import LogSoftmaxFunction, SoftmaxFunction

#: Smaller arrays keep the reference: handing arrays to a compiled loop costs a few µs, which the saved
#: passes repay from about this size on (forward + backward, float32, reference → loops: 320 values (32, 10)
#: 20.6 → 20.1 µs, 1,280 (128, 10) 31.4 → 23.7, 4,096 (64, 64) 31.5 → 26.0; log-softmax alike).
COMPILED_MIN_SIZE = 1024


def as_rows(x, axis):
    """``x`` as the C-ordered (M, n) matrix of its rows along ``axis`` — a view — when the compiled loops can
    run on it: float32, the axis the last one, C order, at least ``COMPILED_MIN_SIZE`` values, rows not
    empty; else None."""
    if (type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim == 0 or x.size < COMPILED_MIN_SIZE
            or axis not in (-1, x.ndim - 1) or not x.flags.c_contiguous):
        return None
    return x.reshape(-1, x.shape[-1]) if jit.available() else None


def run_rows(maker, *arrays):
    """Run the loop ``softmax_loops.<maker>`` over ``arrays`` — (M, n) matrices and (M,) vectors, its inputs
    and the outputs it fills, in its argument order — split over threads by rows where that pays."""
    from gradwork.kernels import softmax_loops  # (imports Numba: only now that the loops run)
    loop = jit.compiled(getattr(softmax_loops, maker))
    first = arrays[0]
    threads.over_batch(lambda rows: loop(*[a[rows] for a in arrays]), len(first), first.size, first)


def rows_like(gy, y_rows):
    """The output gradient as C-ordered (M, n) rows like ``y_rows`` — copied into that order when it is laid out
    otherwise (a broadcast from a sum's backward, a transposed view): one pass, where the loop saves several —
    or None for another dtype or array type (the reference's backward then runs)."""
    if type(gy) is not np.ndarray or gy.dtype != np.float32 or gy.size != y_rows.size:
        return None
    return np.ascontiguousarray(gy).reshape(y_rows.shape)


class RowLoops:
    """Forward and backward of a softmax-like op as the compiled loops ``forward_loop`` and ``backward_loop``
    (names in ``softmax_loops.py``) where ``as_rows`` allows, else the op's reference (the next class in the
    method order). The forward loop takes (x, rows' maxima, y), the backward loop (y, gy, gx)."""

    forward_loop = backward_loop = None

    def forward(self, x):
        rows = as_rows(x, self.axis)
        if rows is None:
            return super().forward(x)
        y = np.empty_like(rows)
        run_rows(self.forward_loop, rows, row_maxima(rows), y)
        y = y.reshape(x.shape)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        y_rows = as_rows(y, self.axis)
        gy_rows = rows_like(gy, y_rows) if y_rows is not None else None
        if gy_rows is None:
            return super().backward(gy)
        gx = np.empty_like(y_rows)
        run_rows(self.backward_loop, y_rows, gy_rows, gx)
        return gx.reshape(y.shape)


class FastSoftmax(RowLoops, SoftmaxFunction):
    """y = exp(x − max) / Σ exp(x − max) along ``axis``; compiled row loops where ``as_rows`` allows."""

    op_name = "softmax"
    forward_loop, backward_loop = "softmax_forward", "softmax_backward"


class FastLogSoftmax(RowLoops, LogSoftmaxFunction):
    """y = (x − max) − log Σ exp(x − max) along ``axis``; compiled row loops where ``as_rows`` allows."""

    op_name = "log_softmax"
    forward_loop, backward_loop = "log_softmax_forward", "log_softmax_backward"
