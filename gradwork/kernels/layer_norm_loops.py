"""Layer normalisation as compiled loops (``kernels/jit.py``): ``FusedLayerNorm``'s forward and backward,
one row of d values at a time, when Numba is installed.

The formulas are the reference's (``gradwork.ops.normalization.layer_norm``), per row of d values:

    μ = Σx / d,   σ² = Σ(x − μ)² / d,   x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β
    with ĝ = γ ⊙ g:   ∂L/∂x = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε)
    ∂L/∂γ = Σ_rows g ⊙ x̂,   ∂L/∂β = Σ_rows g

What the loops change is the number of passes over memory: the NumPy kernel makes eight passes forward
(each a whole (rows, d) array: the centring, the squares, the scaling, …) and about ten backward; here a
row is read into the cache once and all its sums and outputs are made from it, so each array is read or
written once. The sums are kept in float64 (for float32 input more exact than the NumPy kernel's float32
BLAS sums; the tests' float32 tolerance covers the difference).

**The sums need the compiler's permission to regroup them** (``jit.reassociating``). A sum along a row is
one chain of dependent additions; compiled as written, each addition waits for the one before, and the
loops were slower than NumPy (W7's (2048 × 128) float32 forward 0.29 → 0.44 ms, bench/RESULTS.md,
session 12). Allowed to reassociate — LLVM's ``reassoc`` flag alone, no assumption about NaN or infinities
— the compiler keeps several partial sums side by side in vector registers and adds them at the end: a
different order of the same additions, equal to rounding (in float64). A first measurement on W7's
shape, (2048 × 128) float32, forward/backward: the NumPy kernel 1.69/2.48 ms, these loops compiled as
written 1.62/2.01 ms, with reassociation 0.59/0.88 ms (medians of 9 rounds of 50 calls, one process, a
slow day of the machine); the kernel's own timings are in
:class:`gradwork.kernels.normalization.FusedLayerNorm`'s docstring.
"""
import numpy as np

from gradwork.kernels.jit import reassociating


@reassociating
def layer_norm_forward():
    """The loop ``(rows (m, d), weight (d,), bias (d,), eps, y (m, d), x_hat (m, d), inv_std (m,))``: each row's
    mean and (biased) variance, inv_std = 1/√(var + eps), x̂ into ``x_hat`` (backward's input) and
    y = γ ⊙ x̂ + β into ``y``."""

    def loop(rows, weight, bias, eps, y, x_hat, inv_std):
        m, d = rows.shape
        for r in range(m):
            total = 0.0  # float64 running totals
            for k in range(d):
                total += rows[r, k]
            mean = total / d
            squares = 0.0  # the two-pass variance: squares of the centred values, as the reference
            for k in range(d):
                centred = rows[r, k] - mean
                squares += centred * centred
            scale = 1.0 / np.sqrt(squares / d + eps)
            inv_std[r] = scale
            for k in range(d):
                normalised = (rows[r, k] - mean) * scale
                x_hat[r, k] = normalised
                y[r, k] = normalised * weight[k] + bias[k]

    return loop


@reassociating
def layer_norm_backward():
    """The loop ``(g (m, d), x_hat (m, d), inv_std (m,), weight (d,), g_x (m, d), g_weight (d,), g_bias (d,))``:
    the input's gradient into ``g_x`` and the sums over the rows Σ g ⊙ x̂ and Σ g into ``g_weight`` and
    ``g_bias`` (float64 vectors)."""

    def loop(g, x_hat, inv_std, weight, g_x, g_weight, g_bias):
        m, d = g.shape
        for k in range(d):
            g_weight[k] = 0.0
            g_bias[k] = 0.0
        for r in range(m):
            sum_g_hat = 0.0  # Σ ĝ and Σ ĝ ⊙ x̂ along the row, ĝ = γ ⊙ g
            sum_g_hat_x_hat = 0.0
            for k in range(d):
                g_hat = g[r, k] * weight[k]
                sum_g_hat += g_hat
                sum_g_hat_x_hat += g_hat * x_hat[r, k]
                g_weight[k] += g[r, k] * x_hat[r, k]
                g_bias[k] += g[r, k]
            mean_g_hat = sum_g_hat / d
            mean_g_hat_x_hat = sum_g_hat_x_hat / d
            scale = inv_std[r]
            for k in range(d):
                g_x[r, k] = (g[r, k] * weight[k] - mean_g_hat - x_hat[r, k] * mean_g_hat_x_hat) * scale

    return loop
