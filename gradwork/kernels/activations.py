"""Fast ReLU: the same numbers as ``gradwork/ops/activations.py``'s ``ReLUFunction``, through NumPy
loops that run at the speed of a copy.

* **Forward as clip(x, 0, ∞)** instead of ``maximum(x, 0)``. NumPy's ``maximum`` against a scalar takes
  a slow loop (it propagates NaN element by element); ``clip`` with both bounds has its own vectorised
  loop. On a W2 activation (128 × 16 × 28 × 28 float32, 6.4 MB): 0.64 → 0.19 ms, and 0.39 → 0.18 ms on
  the shifted convolution's non-contiguous output. The result is the same number for every input, NaN
  and ±∞ included; only the sign of a zero can differ (clip(−0.0) is −0.0, maximum's 0.0): equal in
  every comparison and sum, and the gradient (y > 0 is false for both) is the same.
* **Backward as (y > 0) turned into floats, then multiplied by the gradient**, instead of
  ``gy * (y > 0)``: a product of a float array with a boolean array goes through NumPy's buffered
  casting loop; converting the booleans first (a fast cast) and multiplying two float arrays in place
  is 0.81 → 0.67 ms on the same activation. The gate and the products are the reference's.

Inside the W2 step (``bench/op_profile.py``) the ReLUs' forward went 1.3–1.8 → 0.7 ms and backward
2.0–2.5 → 1.6 ms. A/B against the reference op (``python bench/ab_kernel.py gradwork/kernels/activations.py
--against reference W2``, median of per-round ratios): W2 1.05×, W3 1.03×, W5 1.03×, W1 1.03×, W1-infer
1.03×, W6 1.03×, W7 1.01× (bench/RESULTS.md, 2026-11-30, session 5). Inputs that are not floating point
(an integer tensor) take the reference formula.

With Numba (``gradwork[jit]``) the backward is one compiled pass instead (``activation_loops.relu_backward``,
the same numbers) where the gradient is laid out like y: a 128 × 16 × 28 × 28 float32 gradient 0.66 →
0.35 ms alone; W2's two ReLU backwards 1.13 + 0.37 → 0.66 + 0.28 ms a step; A/B in one process (``python
bench/ab_kernel.py gradwork/kernels/activations.py --against HEAD W2 W3 W6``, 10 rounds) W2 1.04× and 1.07×,
W6 1.03×, W3 within noise (bench/RESULTS.md, 2026-12-01, session 16).

Large passes are split over the batch onto worker threads where that pays (``kernels/threads.py``:
only when BLAS's idle threads do not hold the cores); each part writes its own rows, so the numbers
are the same. W3's ReLU backward 0.95 → 0.63 ms in the step with ``OPENBLAS_THREAD_TIMEOUT=4``.
"""
import numpy as np

from gradwork.autograd.function import Function
from gradwork.backend import get_array_module
from gradwork.kernels import threads
from gradwork.kernels.smooth_activations import compiled_loop


#: Smaller gradients keep the NumPy backward: handing arrays to a compiled loop costs about 8 µs, which one
#: pass instead of three repays from about 64K values on (float32, 256 columns, NumPy → compiled: 32,768
#: values 11.3 → 13.3 µs, 65,536 20.0 → 19.0, 131,072 36.0 → 29.1, 262,144 69.3 → 46.1; bench/RESULTS.md,
#: 2026-12-01, session 16). W1's (128, 256) ReLUs stay below it.
COMPILED_BACKWARD_MIN_SIZE = 1 << 16


class FastReLU(Function):
    """y = max(x, 0); dy/dx = 1 where y > 0, else 0."""

    op_name = "relu"

    def forward(self, x):
        array_module = get_array_module(x)
        if x.dtype.kind != "f":  # integers: clip against a float ∞ would promote to float64
            y = array_module.maximum(x, 0)
        # The unsplit pass is written out, not sent through over_batch, for small layers: the check costs a
        # W1 activation's forward-backward pair 1.2 µs (16.2 → 17.5 µs, bench/RESULTS.md, 2026-11-30,
        # session 7), over_batch's calls 3.5 µs (commit db65891). clip's Python-float bounds keep x's dtype.
        elif threads.parts(batch_rows(x), x.size, x) == 1:
            y = array_module.clip(x, 0.0, float("inf"))
        else:  # split over threads (kernels/threads.py), each part into its rows of y, in x's memory order
            y = array_module.empty_like(x)
            threads.over_batch(lambda rows: array_module.clip(x[rows], 0.0, float("inf"), out=y[rows]),
                               len(x), x.size, x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # One compiled pass (activation_loops.relu_backward), the same numbers, where gy is laid out like y
        # (else copying gy first would cost what the NumPy kernel's three passes save) and y is large enough.
        if y.size >= COMPILED_BACKWARD_MIN_SIZE:
            compiled = compiled_loop("relu_backward", [y, gy], dtypes=(np.float32, np.float64), copy_others=False)
            if compiled is not None:
                return compiled[0]
        if threads.parts(batch_rows(y), y.size, y) == 1:
            gate = (y > 0).astype(gy.dtype)  # 1.0 where the unit was active, else 0.0
            gate *= gy
            return gate
        grad = get_array_module(y).empty_like(y, dtype=gy.dtype)

        def gate_rows(rows):
            part = grad[rows]
            part[...] = y[rows] > 0
            part *= gy[rows]

        threads.over_batch(gate_rows, len(y), y.size, y)
        return grad


def batch_rows(array):
    """The length of the axis a pass is split along (the batch); 1 for a 0-d array."""
    return len(array) if array.ndim else 1
