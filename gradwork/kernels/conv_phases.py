"""Strided convolution without a window matrix: the input split into its stride's *phases*, then
``conv_shifted.py``'s shifted products over them.

With stride (sh, sw), output (i, j) reads padded pixel (sh·i + dh·r, sw·j + dw·s) at kernel position
(r, s). Write dh·r = sh·a + p and dw·s = sw·b + q (0 ≤ p < sh, 0 ≤ q < sw): the pixel is
(sh·(i + a) + p, sw·(j + b) + q), that is pixel (i + a, j + b) of phase (p, q) — the padded grid's rows
p, p + sh, p + 2sh, … and columns q, q + sw, …, a grid of (Hq, Wq) = (⌈Hp/sh⌉, ⌈Wp/sw⌉) pixels. So each
kernel position reads one phase shifted by a constant (a, b), as a stride-1 convolution reads the
padded grid, and the whole convolution is

    Y[m] = Σ_(r,s)  Q_pq[m + a·Wq + b] · W_rs            (W_rs = weight[:, :, r, s]ᵀ, a (C, O) matrix)

over rows m of (N, Hq, Wq) grids: kh·kw products of a phase's rows shifted by a fixed number of rows,
summed in place by BLAS, as ``conv_shifted.forward``; the rows of Y past the H' × W' real outputs of each
image are computed and never looked at. The phases together hold each padded pixel once: one copy of the
input instead of the reference's window matrix, kh·kw/(sh·sw) times larger. The input gradient runs the
same products backwards into phase grids, which are then woven back into the padded grid (each pixel
belongs to one phase: written once). The weight gradient keeps the window matrix
(``FastConv2d.weight_grad_in_blocks``).

Measured (bench/RESULTS.md, 2026-12-01, session 15), float32 channels-last, 3 × 3, stride 2, padding 1,
the layer's forward / backward (weight and input gradients), window matrix → phases, medians of two
alternating rounds of 15 calls: 16 → 32 at 28 × 28, batch 128, 7.16 → 5.34 / 11.60 → 9.65 ms; 64 → 64 at
56 × 56, batch 16, 11.65 → 10.80 / 18.44 → 17.47. Wider layers lose: 32 → 64 at 14 × 14 2.91 → 2.67 / 4.63 →
5.34, 64 → 128 at 14 × 14 8.47 → 9.14 / 14.90 → 16.13; and a 1 × 1 kernel 0.39 → 1.58 / 1.25 → 2.68. So the
phases are used for narrow layers only, as ``conv_shifted``'s image-by-image weight gradient is (at most
``NARROW_CHANNELS`` input × output channels), with kernels larger than 1 × 1. The sums are the reference's
terms in another order: equal to rounding.
"""
import math

from gradwork.backend import xp
from gradwork.kernels import blas
from gradwork.kernels.conv_shifted import MIN_CHANNELS, NARROW_CHANNELS, gradient_rows, kernel_matrices, output_rows
from gradwork.ops.conv import output_size


def applies(x, weight, stride, groups):
    """Whether this path runs: a stride above 1 on some axis, one group, a kernel larger than 1 × 1, at least
    ``MIN_CHANNELS`` input channels and at most ``NARROW_CHANNELS`` input × output channels, a non-empty
    batch, NumPy's BLAS reachable. (A 1 × 1 kernel reads one phase of the input, which the window path copies
    alone; wider layers' window matrices make longer products, which BLAS runs faster than the phases'
    thin ones — see the measurements above.)"""
    out_channels, channels, kh, kw = weight.shape
    return (stride != (1, 1) and groups == 1 and kh * kw > 1 and MIN_CHANNELS <= channels
            and channels * out_channels <= NARROW_CHANNELS and x.shape[0] > 0 and blas.available(x, weight))


class Geometry:
    """Sizes of the phase grids, and for each kernel position the phase it reads and its row offset."""

    def __init__(self, input_shape, weight_shape, stride, padding, dilation):
        n, c, h, w = input_shape
        _, _, kh, kw = weight_shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        self.n, self.c, self.h, self.w, self.ph, self.pw, self.stride = n, c, h, w, ph, pw, stride
        hp, wp = h + 2 * ph, w + 2 * pw
        self.out_h, self.out_w = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
        self.hq, self.wq = math.ceil(hp / sh), math.ceil(wp / sw)  # each phase's grid
        self.terms = []  # (phase, row offset) of each kernel position, in the weight's (r, s) order
        for r in range(kh):
            a, p = divmod(r * dh, sh)
            for s in range(kw):
                b, q = divmod(s * dw, sw)
                self.terms.append((p * sw + q, a * self.wq + b))
        self.rows = n * self.hq * self.wq  # rows of a phase grid
        self.span = self.rows - max(offset for _, offset in self.terms)  # Y's rows 0 … span−1

    def phases(self, x):
        """x (N, C, H, W) → its phases, (sh·sw, N·Hq·Wq, C): phase p·sw + q holds the zero-padded grid's
        rows p, p + sh, … and columns q, q + sw, …, channels-last."""
        sh, sw = self.stride
        # The padded grid, rounded up to whole phases (the extra rows and columns are zeros, as padding is).
        padded = xp.zeros((self.n, self.hq * sh, self.wq * sw, self.c), dtype=x.dtype)
        padded[:, self.ph:self.ph + self.h, self.pw:self.pw + self.w] = x.transpose(0, 2, 3, 1)
        split = padded.reshape(self.n, self.hq, sh, self.wq, sw, self.c).transpose(2, 4, 0, 1, 3, 5)
        return xp.ascontiguousarray(split).reshape(sh * sw, self.rows, self.c)

    def woven(self, phases):
        """The inverse of :meth:`phases`: (sh·sw, N·Hq·Wq, C) → x's (N, C, H, W) part of the padded grid,
        stored channels-last."""
        sh, sw = self.stride
        split = phases.reshape(sh, sw, self.n, self.hq, self.wq, self.c).transpose(2, 3, 0, 4, 1, 5)
        grid = xp.ascontiguousarray(split).reshape(self.n, self.hq * sh, self.wq * sw, self.c)
        return grid[:, self.ph:self.ph + self.h, self.pw:self.pw + self.w].transpose(0, 3, 1, 2)

    def output_grid(self, matrix):
        """(rows, K) → (N, Hq, Wq, K)"""
        return matrix.reshape(self.n, self.hq, self.wq, -1)


def forward(x, weight, bias, stride, padding, dilation):
    """conv2d of ``x`` (N, C, H, W) with ``stride`` → (N, O, H', W'), stored channels-last (a view of the
    output grid's top-left H' × W' of each image)."""
    g = Geometry(x.shape, weight.shape, stride, padding, dilation)
    phases = g.phases(x)
    w = kernel_matrices(weight).reshape(len(g.terms), g.c, -1)  # [k] = W_rs, in the terms' order
    y = output_rows(g.rows, g.span, weight.shape[0], x.dtype, bias)
    for k, (phase, offset) in enumerate(g.terms):  # Y[m] += Q_pq[m + offset] · W_rs
        blas.gemm(phases[phase, offset:offset + g.span], w[k], y[:g.span], accumulate=bias is not None or k > 0)
    return g.output_grid(y)[:, :g.out_h, :g.out_w].transpose(0, 3, 1, 2)


def input_grad(gy, weight, input_shape, stride, padding, dilation):
    """∂L/∂x (N, C, H, W) from ∂L/∂y (N, O, H', W'), stored channels-last."""
    g = Geometry(input_shape, weight.shape, stride, padding, dilation)
    out_channels = weight.shape[0]
    g_rows = gradient_rows(gy, (g.hq, g.wq), g.span)
    g_phases = xp.zeros((g.stride[0] * g.stride[1], g.rows, g.c), dtype=gy.dtype)
    w = kernel_matrices(weight).reshape(len(g.terms), g.c, out_channels)
    for k, (phase, offset) in enumerate(g.terms):  # gQ_pq[m + offset] += gY[m] · W_rsᵀ
        blas.gemm(g_rows, w[k].T, g_phases[phase, offset:offset + g.span], accumulate=True)
    return g.woven(g_phases)
