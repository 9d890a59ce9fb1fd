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
compiler vectorises with the rest of the loop, and the sums along a row are regrouped by the compiler
(``jit.reassociating``: several partial sums in vector registers). The sums stay in float32 (in float64 the
forward loops ran 1.5–2× slower): softmax's largest relative error against float64, over rows of 1,024 to
100,000 values, is 1.3·10⁻⁶, the reference's 1.2·10⁻⁶ (most of either is exp(x − m)'s rounding).
NaN and ±∞ give the reference's NaN rows.

NumPy makes each step a pass over the whole matrix — the shift, ``exp``, the sum, the log, the subtraction
(and a temporary for each) — where a loop reads each row twice (once to sum, once to write) while it is in
the cache. Measured in bench/RESULTS.md (2026-12-01, session 17).

Numba's disk cache is keyed on this file: an edit of ``exp_of_nonpositive`` (in ``activation_loops.py``)
is compiled in only once this file changes too (or its ``__pycache__`` is cleared).
This module imports Numba (through ``activation_loops``); the kernels import it only once ``softmax.as_rows`` has
found that the loops run.
"""
import math

import numpy as np

from gradwork.kernels.activation_loops import exp_of_nonpositive
from gradwork.kernels.jit import reassociating

_ZERO = np.float32(0.0)


@reassociating
def softmax_forward():
    """The loop ``(x, top, y)``: y = softmax of each row of x, ``top`` (M,) the rows' maxima."""

    def loop(x, top, y):
        rows, n = x.shape
        for r in range(rows):
            shift = top[r]
            total = _ZERO
            for k in range(n):
                e = exp_of_nonpositive(x[r, k] - shift)
                y[r, k] = e
                total += e
            for k in range(n):
                y[r, k] = y[r, k] / total

    return loop


@reassociating
def softmax_backward():
    """The loop ``(y, gy, gx)``: gx = y·(gy − Σ gy·y) along each row."""

    def loop(y, gy, gx):
        rows, n = y.shape
        for r in range(rows):
            total = _ZERO
            for k in range(n):
                total += gy[r, k] * y[r, k]
            for k in range(n):
                gx[r, k] = y[r, k] * (gy[r, k] - total)

    return loop


@reassociating
def log_softmax_forward():
    """The loop ``(x, top, y)``: y = (x − m) − log Σ exp(x − m) along each row, m = ``top``."""

    def loop(x, top, y):
        rows, n = x.shape
        for r in range(rows):
            shift = top[r]
            total = _ZERO
            for k in range(n):
                total += exp_of_nonpositive(x[r, k] - shift)
            log_total = np.float32(math.log(total))
            for k in range(n):
                y[r, k] = (x[r, k] - shift) - log_total

    return loop


@reassociating
def log_softmax_backward():
    """The loop ``(y, gy, gx)``: gx = gy − exp(y)·Σ gy along each row (y the log-probabilities, ≤ 0)."""

    def loop(y, gy, gx):
        rows, n = y.shape
        for r in range(rows):
            total = _ZERO
            for k in range(n):
                total += gy[r, k]
            for k in range(n):
                gx[r, k] = gy[r, k] - exp_of_nonpositive(y[r, k]) * total

    return loop


@reassociating
def cross_entropy_forward():
    """The loop ``(z, top, labels, exponentials, sums, loss)``: per row e = exp(z − m) into ``exponentials``,
    s = Σ e into ``sums`` (backward's softmax is e / s) and loss = log s − (z_label − m)."""

    def loop(z, top, labels, exponentials, sums, loss):
        rows, n = z.shape
        for r in range(rows):
            shift = top[r]
            total = _ZERO
            for k in range(n):
                e = exp_of_nonpositive(z[r, k] - shift)
                exponentials[r, k] = e
                total += e
            sums[r] = total
            loss[r] = np.float32(math.log(total)) - (z[r, labels[r]] - shift)

    return loop
