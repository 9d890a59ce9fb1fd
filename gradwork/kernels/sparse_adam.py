"""SparseAdam's update of the rows a batch used, as one compiled loop (``kernels/jit.py``): the same
numbers as ``gradwork.optim.sparse_adam.update_rows``, bit for bit.

The course's version gathers the used rows of the parameter and of both moments into new arrays
(``take``), updates them in about a dozen whole-array operations, each with its temporary array, and scatters
them back to scattered places of the three tables. The loop visits each used row once and
updates its moments and its parameter in place, value by value, with the reference's formulas in the
reference's order and its float type (the constants are cast to the tables' dtype first, as NumPy casts
a Python float meeting a float32 array), so every result is the same number. Measured inside word2vec's
training on the Jargon File (5,492 × 100 float32 tables, bench/RESULTS.md, 2026-11-30, session 10): the
input table's ~830 rows a step 436 → 186 µs, the output table's ~2,750 rows 1,216 → 362 µs; an epoch
2.06–2.37 → 1.22–1.53 s.

Used when Numba is installed and the arguments are what SparseAdam passes (:func:`loop_takes`);
otherwise the course's version runs.
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
    """``sparse_adam.update_rows``, as the compiled loop where it takes the arguments (:func:`loop_takes`),
    else the course's version."""
    if not loop_takes(param, exp_avg, exp_avg_sq, rows, g):
        sparse_adam.update_rows(param, exp_avg, exp_avg_sq, rows, g, beta1, beta2, step_size, eps)
        return
    width = param[0].size
    as_float = param.dtype.type  # the constants in the tables' type, as NumPy casts a Python float for them
    jit.compiled(update_rows_loop)(*(a.reshape(len(a), width) for a in (param, exp_avg, exp_avg_sq)), rows,
                                   g.reshape(len(g), width), as_float(1 - beta1), as_float(1 - beta2),
                                   as_float(step_size), as_float(eps))


def loop_takes(param, exp_avg, exp_avg_sq, rows, g):
    """Whether the compiled loop gives the course's numbers for these arguments — else the course's
    version runs (and raises what it raises: an index out of range, a read-only table).

    The tables: one shape (at least 2-D, not empty) and one float type with the gradient, contiguous,
    writable. ``rows``: integers in increasing order inside the table — what a ``SparseGrad`` holds. The
    loop reads no index twice and checks no bounds (Numba does not), where the course's version reads
    every old row before it writes any and raises on a bad index; so repeated, unsorted or out-of-range
    rows take the course's version.
    """
    tables = (param, exp_avg, exp_avg_sq)
    if not (isinstance(rows, np.ndarray) and rows.ndim == 1 and rows.dtype.kind in "iu"
            and param.ndim >= 2 and len(param) > 0 and exp_avg.shape == exp_avg_sq.shape == param.shape
            and g.shape == rows.shape + param.shape[1:] and len({a.dtype for a in (*tables, g)}) == 1
            and all(a.flags.c_contiguous for a in (*tables, g)) and all(a.flags.writeable for a in tables)):
        return False
    if len(rows) and not (rows[0] >= 0 and rows[-1] < len(param) and (len(rows) < 2 or (rows[1:] > rows[:-1]).all())):
        return False
    return jit.runs_on(*tables, g)
