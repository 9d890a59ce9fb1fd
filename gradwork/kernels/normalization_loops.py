"""Batch normalisation as compiled loops (``kernels/jit.py``): ``FastBatchNormalize``'s forward and
backward in training, and ``FrozenBatchNorm``'s forward in evaluation (``normalize_rows``), over the
(m, C) rows of channels-last activations, when Numba is installed.

The formulas are the reference's (``gradwork.ops.normalization.BatchNormalize``), per channel over its m
values:

    μ = Σx / m,   σ² = Σ(x − μ)² / m,   y = (x − μ) · γ/√(σ² + ε) + β
    ∂L/∂β = Σg,   ∂L/∂γ = Σ g·(x − μ) / √(σ² + ε),   ∂L/∂x = γ/√(σ² + ε) · (g − (∂L/∂β + x̂·∂L/∂γ) / m)

What the loops change is the number of passes over memory. The NumPy kernel makes five passes forward
(a BLAS sum, the centred copy, the sum of squares, the scaling, the shift) and keeps the centred copy
for backward; here forward is three passes (the two sums of the two-pass variance, then y) and keeps x
itself, backward two (both sums, then ∂L/∂x with x − μ recomputed). Each pass walks the rows in memory
order with the C channels innermost, so the compiler vectorises across channels; the running totals
are float64 (for float32 input more exact than the NumPy kernel's float32 sums; the tests' float32
tolerance covers the difference). Per layer 2.4–3.0× faster than the NumPy kernel, forward and
backward; the measurements are in :class:`gradwork.kernels.normalization.FastBatchNormalize`'s docstring.

Keeping x, not a copy, is what PyTorch's batch norm does too: changing x in place between forward and
backward (without recording it: under ``no_grad``, or on a tensor that does not require gradients) is
then refused by backward's version check, where the NumPy kernel, holding its own copy, would not mind.
"""
import numpy as np


def batch_norm_forward():
    """The loop ``(x (m, C), weight (C,), bias (C,), eps, y (m, C), mean (C,), var (C,), inv_std (C,))``:
    the batch's statistics into mean, var (biased) and inv_std = 1/√(var + eps), and y = the normalised,
    scaled and shifted x."""

    def loop(x, weight, bias, eps, y, mean, var, inv_std):
        m, channels = x.shape
        total = np.zeros(channels, np.float64)
        for r in range(m):
            for k in range(channels):
                total[k] += x[r, k]
        for k in range(channels):
            mean[k] = total[k] / m
            total[k] = 0.0
        for r in range(m):  # the two-pass variance: squares of the centred values, as the reference
            for k in range(channels):
                d = x[r, k] - mean[k]
                total[k] += d * d
        scale = np.empty(channels, x.dtype)
        for k in range(channels):
            var[k] = total[k] / m
            inv_std[k] = 1.0 / np.sqrt(var[k] + eps)
            scale[k] = weight[k] * inv_std[k]
        for r in range(m):
            for k in range(channels):
                y[r, k] = (x[r, k] - mean[k]) * scale[k] + bias[k]

    return loop


def batch_norm_backward():
    """The loop ``(g (m, C), x (m, C), mean, inv_std, weight, gx (m, C), g_weight (C,), g_bias (C,))``:
    the gradients of the bias (Σg) and the weight (Σ g·x̂), then the input's into gx."""

    def loop(g, x, mean, inv_std, weight, gx, g_weight, g_bias):
        m, channels = x.shape
        sum_g = np.zeros(channels, np.float64)
        sum_g_centred = np.zeros(channels, np.float64)
        for r in range(m):
            for k in range(channels):
                sum_g[k] += g[r, k]
                sum_g_centred[k] += g[r, k] * (x[r, k] - mean[k])
        scale = np.empty(channels, x.dtype)
        shift = np.empty(channels, x.dtype)  # ∂L/∂β / m
        slope = np.empty(channels, x.dtype)  # x̂·∂L/∂γ / m = (x − μ)·inv_std·∂L/∂γ / m
        for k in range(channels):
            g_bias[k] = sum_g[k]
            g_weight[k] = sum_g_centred[k] * inv_std[k]
            scale[k] = weight[k] * inv_std[k]
            shift[k] = g_bias[k] / m
            slope[k] = inv_std[k] * g_weight[k] / m
        for r in range(m):
            for k in range(channels):
                gx[r, k] = scale[k] * (g[r, k] - (shift[k] + (x[r, k] - mean[k]) * slope[k]))

    return loop


def normalize_rows():
    """The loop ``(x (m, C), mean (C,), scale (C,), shift (C,), y (m, C))``: y = (x − mean)·scale + shift,
    one pass — evaluation's batch norm with its statistics given (``FrozenBatchNorm``)."""

    def loop(x, mean, scale, shift, y):
        m, channels = x.shape
        for r in range(m):
            for k in range(channels):
                y[r, k] = (x[r, k] - mean[k]) * scale[k] + shift[k]

    return loop
