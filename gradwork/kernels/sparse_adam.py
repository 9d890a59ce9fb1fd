"""SparseAdam's update of the rows a batch used, as one compiled loop (``kernels/jit.py``): the same
numbers as ``gradwork.optim.sparse_adam.update_rows``, bit for bit.

The course's version gathers the used rows of the parameter and of both moments into new arrays
(``take``), updates them in several whole-array passes, and scatters them back — eight passes over the
rows, each a round trip to scattered places of three tables. The loop visits each used row once and
updates its moments and its parameter in place, value by value, with the reference's formulas in the
reference's order and its float type (the constants are cast to the tables' dtype first, as NumPy casts
a Python float meeting a float32 array), so every result is the same number. Measured on word2vec's
5,492 × 100 float32 tables (bench/RESULTS.md, 2026-11-30, session 10): 2,500 rows 3.6 → 0.6 ms,
700 rows 0.30 → 0.23 ms.

Used when Numba is installed and the tables and gradient are NumPy arrays of one float type with
contiguous rows; otherwise the course's version runs.
"""
import numpy as np

from gradwork.kernels import jit
from gradwork.optim import sparse_adam


def update_rows_loop():
    """The loop ``(param, m, v, rows, g, one_minus_beta1, one_minus_beta2, step_size, eps)`` on (V, D)
    tables and the (k, D) gradient of their rows ``rows``."""

    def loop(param, m, v, rows, g, one_minus_beta1, one_minus_beta2, step_size, eps):
        for i in range(rows.shape[0]):
            r = rows[i]
            for d in range(param.shape[1]):
                gradient = g[i, d]
                m_new = m[r, d] + one_minus_beta1 * (gradient - m[r, d])
                v_new = v[r, d] + one_minus_beta2 * (gradient * gradient - v[r, d])
                m[r, d] = m_new
                v[r, d] = v_new
                param[r, d] = param[r, d] - step_size * (m_new / (np.sqrt(v_new) + eps))

    return loop


def update_rows(param, exp_avg, exp_avg_sq, rows, g, beta1, beta2, step_size, eps):
    """``sparse_adam.update_rows``, as the compiled loop where it runs."""
    tables = (param, exp_avg, exp_avg_sq)
    if not (jit.runs_on(*tables, g) and len({a.dtype for a in (*tables, g)}) == 1 and param.ndim >= 2
            and all(a.flags.c_contiguous for a in (*tables, g)) and rows.dtype.kind in "iu"):
        sparse_adam.update_rows(param, exp_avg, exp_avg_sq, rows, g, beta1, beta2, step_size, eps)
        return
    width = param[0].size
    as_float = param.dtype.type  # the constants in the tables' type, as NumPy casts a Python float for them
    jit.compiled(update_rows_loop)(*(a.reshape(len(a), width) for a in tables), rows, g.reshape(len(g), width),
                                   as_float(1 - beta1), as_float(1 - beta2), as_float(step_size), as_float(eps))
