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
itself, backward two (both sums, then ∂L/∂x with x − μ recomputed). Each pass walks memory in order,
k rows of C channels side by side as one wide row (``normalization.compiled_rows``, k·C about 256
values), so the compiler vectorises along the wide row and keeps one float64 running total per column
(for float32 input more exact than the NumPy kernel's float32 sums; the tests' float32 tolerance covers
the difference); a channel's totals are its columns c, c + C, … added at the end. With the C channels
alone innermost, one to seven channels ran slower than NumPy (one channel 0.15 → 0.88 ms forward). Per layer 2.3–5.3× faster than the NumPy kernel, forward and
backward; the measurements are in :class:`gradwork.kernels.normalization.FastBatchNormalize`'s docstring.

Keeping x, not a copy, is what PyTorch's batch norm does too: changing x in place between forward and
backward (without recording it: under ``no_grad``, or on a tensor that does not require gradients) is
then refused by backward's version check, where the NumPy kernel, holding its own copy, would not mind.
"""
import numpy as np


def batch_norm_forward():
    """The loop ``(x (rows, k·C), channels, weight (C,), bias (C,), eps, y (rows, k·C), mean (C,), var (C,),
    inv_std (C,))``, x being the (m, C) values as wide rows (``normalization.compiled_rows``: k rows of C side
    by side, so the innermost loop runs along k·C values even for one channel): the batch's statistics into
    mean, var (biased) and inv_std = 1/√(var + eps), and y = the normalised, scaled and shifted x."""

    def loop(x, channels, weight, bias, eps, y, mean, var, inv_std):
        rows, width = x.shape
        m = rows * (width // channels)  # values per channel
        total = np.zeros(width, np.float64)  # one running total per column of the wide rows
        for r in range(rows):
            for i in range(width):
                total[i] += x[r, i]
        for c in range(channels):  # a channel's columns are c, c + C, c + 2C, …
            mean[c] = total[c::channels].sum() / m
        wide_mean = np.empty(width, x.dtype)
        for i in range(width):
            wide_mean[i] = mean[i % channels]
            total[i] = 0.0
        for r in range(rows):  # the two-pass variance: squares of the centred values, as the reference
            for i in range(width):
                d = x[r, i] - wide_mean[i]
                total[i] += d * d
        for c in range(channels):
            var[c] = total[c::channels].sum() / m
            inv_std[c] = 1.0 / np.sqrt(var[c] + eps)
        wide_scale = np.empty(width, x.dtype)
        wide_bias = np.empty(width, x.dtype)
        for i in range(width):
            wide_scale[i] = weight[i % channels] * inv_std[i % channels]
            wide_bias[i] = bias[i % channels]
        for r in range(rows):
            for i in range(width):
                y[r, i] = (x[r, i] - wide_mean[i]) * wide_scale[i] + wide_bias[i]

    return loop


def batch_norm_backward():
    """The loop ``(g (rows, k·C), x (rows, k·C), channels, mean, inv_std, weight, gx (rows, k·C), g_weight (C,),
    g_bias (C,))`` on wide rows as in :func:`batch_norm_forward`: the gradients of the bias (Σg) and the
    weight (Σ g·x̂), then the input's into gx."""

    def loop(g, x, channels, mean, inv_std, weight, gx, g_weight, g_bias):
        rows, width = x.shape
        m = rows * (width // channels)
        wide_mean = np.empty(width, x.dtype)
        for i in range(width):
            wide_mean[i] = mean[i % channels]
        sum_g = np.zeros(width, np.float64)
        sum_g_centred = np.zeros(width, np.float64)
        for r in range(rows):
            for i in range(width):
                sum_g[i] += g[r, i]
                sum_g_centred[i] += g[r, i] * (x[r, i] - wide_mean[i])
        for c in range(channels):
            g_bias[c] = sum_g[c::channels].sum()
            g_weight[c] = sum_g_centred[c::channels].sum() * inv_std[c]
        scale = np.empty(width, x.dtype)
        shift = np.empty(width, x.dtype)  # ∂L/∂β / m
        slope = np.empty(width, x.dtype)  # x̂·∂L/∂γ / m = (x − μ)·inv_std·∂L/∂γ / m
        for i in range(width):
            c = i % channels
            scale[i] = weight[c] * inv_std[c]
            shift[i] = g_bias[c] / m
            slope[i] = inv_std[c] * g_weight[c] / m
        for r in range(rows):
            for i in range(width):
                gx[r, i] = scale[i] * (g[r, i] - (shift[i] + (x[r, i] - wide_mean[i]) * slope[i]))

    return loop


def frozen_batch_norm_backward(input_grad):
    """The loop ``(g (rows, w), x (rows, w), mean (w,), scale (w,), gx (rows, w), sum_g (w,), sum_g_centred (w,))``
    on wide rows with the per-channel vectors repeated to their width: evaluation's batch norm backward
    (``FrozenBatchNorm``) in one pass — Σg and Σ g·(x − μ) per column into the float64 totals and, if
    ``input_grad`` (a compiled-in constant), gx = g·scale, scale = γ/√(σ² + ε)."""

    def loop(g, x, mean, scale, gx, sum_g, sum_g_centred):
        rows, width = x.shape
        for r in range(rows):
            for i in range(width):
                sum_g[i] += g[r, i]
                sum_g_centred[i] += g[r, i] * (x[r, i] - mean[i])
                if input_grad:
                    gx[r, i] = g[r, i] * scale[i]

    return loop


def normalize_rows():
    """The loop ``(x (rows, w), mean (w,), scale (w,), shift (w,), y (rows, w))``: y = (x − mean)·scale + shift,
    one pass — evaluation's batch norm with its statistics given (``FrozenBatchNorm``), on wide rows with
    the per-channel vectors repeated to their width."""

    def loop(x, mean, scale, shift, y):
        rows, width = x.shape
        for r in range(rows):
            for i in range(width):
                y[r, i] = (x[r, i] - mean[i]) * scale[i] + shift[i]

    return loop
