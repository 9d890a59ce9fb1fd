"""Softmax, log-softmax and softmax cross-entropy in float32 as compiled loops (``kernels/jit.py``), row by row:
the work of ``FastSoftmax``, ``FastLogSoftmax`` (``kernels/softmax.py``) and ``FastCrossEntropy``
(``kernels/cross_entropy.py``) when Numba is installed.

Each loop takes a C-ordered (M, n) matrix — one row per softmax — and each row's maximum m (taken before by
NumPy, ``layout.row_maxima``: its vectorised maximum is faster than a loop's, which the compiler does not
vectorise without giving up NaN). Per row, with e_k = exp(x_k − m) and s = Σ_k e_k::

    softmax        y_k = e_k / s                          backward  gx_k = y_k·(gy_k − Σ_j gy_j·y_j)
    log-softmax    y_k = (x_k − m) − log s                backward  gx_k = gy_k − exp(y_k)·Σ_j gy_j
    cross-entropy  e_k and s kept, loss = log s − (x_label − m)

— the reference's formulas (``ops/activations.py``, ``ops/classification_losses.py``) in the reference's
order, with two differences that change results by rounding only: e^v comes from
``activation_loops.exp_of_nonpositive`` (x − m ≤ 0, and a log-probability is ≤ 0: its domain), which the
compiler vectorises with the rest of the loop, and the sums along a row (:func:`row_sum`, :func:`row_dot`) are
taken in blocks of 256 values, each block's regrouped by the compiler into vector lanes (``jit.reassociating``)
in float32 and the blocks' totals added in float64. Largest relative error against float64 (2026-12-01, session
17): a row of a million equal values 3·10⁻⁸ (the reference's pairwise sums 1·10⁻⁷; one float32 chain along the
row, the first version of these loops, 1.5·10⁻⁴); softmax of 16 ReLU'd rows of 100,000 values 3.8·10⁻⁷ (the
reference 4.4·10⁻⁷). NaN and ±∞ give the reference's NaN rows.

NumPy makes each step a pass over the whole matrix — the shift, ``exp``, the sum, the log, the subtraction
(and a temporary for each) — where a loop makes its two or three passes over one row at a time, while the row is
in the cache. Measured in bench/RESULTS.md (2026-12-01, session 17).

Numba's disk cache is keyed on this file: an edit of ``exp_of_nonpositive`` (in ``activation_loops.py``)
is compiled in only once this file changes too (or its ``__pycache__`` is cleared).
This module imports Numba (through ``activation_loops``); the kernels import it only once ``softmax.as_rows`` has
found that the loops run.
"""
import math

import numba
import numpy as np

from gradwork.kernels.activation_loops import exp_of_nonpositive
from gradwork.kernels.jit import reassociating

_ZERO = np.float32(0.0)
#: Values summed in float32 before the block's total joins the row's float64 total (see ``row_sum``).
BLOCK = 256


@numba.njit(inline="always", error_model="numpy")
def row_sum(values):
    """Σ values (one row, 1-D) as a float32: blocks of ``BLOCK`` values summed in float32 — regrouped by the
    compiler into vector lanes, fast — and the blocks' totals (and the last, shorter block's) added in float64.
    One float32 chain along a whole row of n values errs by about n/16 ulps (1.5·10⁻⁴ relative for a million
    equal values); a block's chain is 16 long. (Written so that the compiler vectorises it: the blocks' loop
    counts a constant, the last block is a slice of its own — with bounds of min(start + BLOCK, n) or a loop
    from the last block's start to n, the same sums ran 5–10× slower.)"""
    whole = values.size - values.size % BLOCK
    total = 0.0
    for start in range(0, whole, BLOCK):
        block = _ZERO
        for k in range(BLOCK):
            block += values[start + k]
        total += block
    rest = values[whole:]
    block = _ZERO
    for k in range(rest.size):
        block += rest[k]
    return np.float32(total + block)


@numba.njit(inline="always", error_model="numpy")
def row_dot(a, b):
    """Σ a·b (two rows, 1-D, of one length) as a float32, in blocks as :func:`row_sum`."""
    whole = a.size - a.size % BLOCK
    total = 0.0
    for start in range(0, whole, BLOCK):
        block = _ZERO
        for k in range(BLOCK):
            block += a[start + k] * b[start + k]
        total += block
    rest_a, rest_b = a[whole:], b[whole:]
    block = _ZERO
    for k in range(rest_a.size):
        block += rest_a[k] * rest_b[k]
    return np.float32(total + block)


@numba.njit(inline="always", error_model="numpy")
def shifted_exponentials(x, shift, out):
    """out = exp(x − shift) along one row (x − shift ≤ 0: ``shift`` is the row's maximum); returns Σ out
    (:func:`row_sum`). The first step of each forward loop below."""
    for k in range(x.size):
        out[k] = exp_of_nonpositive(x[k] - shift)
    return row_sum(out)


@reassociating
def softmax_forward():
    """The loop ``(x, top, y)``: y = softmax of each row of x, ``top`` (M,) the rows' maxima."""

    def loop(x, top, y):
        rows, n = x.shape
        for r in range(rows):
            total = shifted_exponentials(x[r], top[r], y[r])
            for k in range(n):
                y[r, k] = y[r, k] / total

    return loop


@reassociating
def softmax_backward():
    """The loop ``(y, gy, gx)``: gx = y·(gy − Σ gy·y) along each row."""

    def loop(y, gy, gx):
        rows, n = y.shape
        for r in range(rows):
            total = row_dot(gy[r], y[r])
            for k in range(n):
                gx[r, k] = y[r, k] * (gy[r, k] - total)

    return loop


@reassociating
def log_softmax_forward():
    """The loop ``(x, top, y)``: y = (x − m) − log Σ exp(x − m) along each row, m = ``top`` (the exponentials
    pass through y first)."""

    def loop(x, top, y):
        rows, n = x.shape
        for r in range(rows):
            shift = top[r]
            log_total = np.float32(math.log(shifted_exponentials(x[r], shift, y[r])))
            for k in range(n):
                y[r, k] = (x[r, k] - shift) - log_total

    return loop


@reassociating
def log_softmax_backward():
    """The loop ``(y, gy, gx)``: gx = gy − exp(y)·Σ gy along each row (y the log-probabilities, ≤ 0)."""

    def loop(y, gy, gx):
        rows, n = y.shape
        for r in range(rows):
            total = row_sum(gy[r])
            for k in range(n):
                gx[r, k] = gy[r, k] - exp_of_nonpositive(y[r, k]) * total

    return loop


@reassociating
def cross_entropy_forward():
    """The loop ``(z, top, labels, exponentials, sums, loss)``: per row e = exp(z − m) into ``exponentials``,
    s = Σ e into ``sums`` (backward's softmax is e / s) and loss = log s − (z_label − m)."""

    def loop(z, top, labels, exponentials, sums, loss):
        for r in range(len(z)):
            shift = top[r]
            total = shifted_exponentials(z[r], shift, exponentials[r])
            sums[r] = total
            loss[r] = np.float32(math.log(total)) - (z[r, labels[r]] - shift)

    return loop
