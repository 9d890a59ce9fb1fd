"""Depthwise convolution — one group per channel, ``Conv2d(C, C, k, groups=C)``, the spatial half of
MobileNet's and ConvNeXt's blocks — as compiled loops over channels-last memory (``kernels/jit.py``).

Each output channel sees one input channel, so there is no sum over channels for a matrix product to
make: the reference's im2col turns the layer into C products of (N·H'·W' × kh·kw)·(kh·kw × 1), one
matrix-vector product per group, and builds a window matrix kh·kw times the input for them. Here each
output pixel is a loop over its kh·kw window with the C channels innermost — the channels are
contiguous in channels-last memory and independent, so the compiler vectorises across them:

    y[n, i, j, c] = b[c] + Σ_(r,s) x[n, i·sh − ph + r·dh, j·sw − pw + s·dw, c] · w[r, s, c]

Backward is the same walk: each window's ∂L/∂y times the kernel added onto the input positions it read,
and ∂L/∂w[r, s, c] = Σ_(n,i,j) ∂L/∂y[n, i, j, c] · x[…] summed in float64 (the reference's float32 BLAS
sum of N·H'·W' terms is blocked; a plain running float32 sum would drift further). Positions in the
padding are skipped (they hold zeros). The sums are the reference's terms in another order: equal to
rounding. (One difference at the edge of the domain: the reference multiplies the padding's zeros too, so
an infinite weight — or an infinite output gradient, in the weight's gradient — makes NaN (0 · ∞) of the
outputs (gradients) whose windows reach into the padding; here those terms are skipped and the results
stay as the real pixels make them, as in PyTorch's float32 convolution (an infinite corner weight leaves
its top row finite there; its float64 convolution gives NaN, as the reference).)

Measured (64 × 32 × 32 × 32 float32, channels-last, 3 × 3, padding 1; a slow phase of the machine):
forward 5.8–11.5 ms, input gradient 8.8–12.6, weight gradient 10.6–16.6; the layer's forward and backward
through autograd 718 ms on the window path → 42–63 ms (PyTorch 12–44 ms in the same runs;
bench/RESULTS.md, 2026-12-01, session 14). Used for groups = in = out channels when Numba is installed
and the loops take the arrays (``jit.runs_on``); otherwise the window path.
"""
from gradwork.backend import xp
from gradwork.kernels import jit, threads
from gradwork.kernels.layout import channels_last
from gradwork.ops.conv import output_size


def applies(x, weight, bias, groups, padding):
    """Whether the depthwise loops run: one group per channel, one output channel per group, a bias of one
    value per channel or none, padding ≥ 0, a non-empty batch, and arrays the compiled loops take (float32
    or float64, one dtype). Anything else takes the window path, with the reference's broadcasting and
    errors."""
    channels = x.shape[1]
    return (groups == channels == weight.shape[0] and weight.shape[1] == 1 and x.shape[0] > 0
            and (bias is None or bias.shape == (channels,)) and min(padding) >= 0
            and x.dtype == weight.dtype and jit.runs_on(x, weight))


def forward_loop():
    """The loop ``(x (N, H, W, C), w (kh, kw, C), bias (C,), out (N, H', W', C), sh, sw, ph, pw, dh, dw)``:
    out = the depthwise convolution of x, starting from the bias."""

    def loop(x, w, bias, out, sh, sw, ph, pw, dh, dw):
        n, h, width, channels = x.shape
        kh, kw = w.shape[0], w.shape[1]
        out_h, out_w = out.shape[1], out.shape[2]
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    for c in range(channels):
                        out[b, i, j, c] = bias[c]
                    for r in range(kh):
                        row = i * sh - ph + r * dh
                        if row < 0 or row >= h:  # padding: zeros, nothing to add
                            continue
                        for s in range(kw):
                            column = j * sw - pw + s * dw
                            if column < 0 or column >= width:
                                continue
                            for c in range(channels):
                                out[b, i, j, c] += x[b, row, column, c] * w[r, s, c]

    return loop


def backward_loop(input_grad, weight_grad):
    """The loop ``(gy (N, H', W', C), x (N, H, W, C), w (kh, kw, C), gx (N, H, W, C), gw (kh, kw, C) float64,
    sh, sw, ph, pw, dh, dw)``, a walk over the windows for the gradients whose flags (compiled-in
    constants) are set: every window's gradient times the kernel added onto the positions it read (gx must
    start at 0), and times the values it read added into gw (which starts at 0). :func:`backward` walks
    once per gradient: both in one walk measured no faster (22.5 against 21.1 ms for the two walks on
    the 64 × 32 × 32 × 32 layer above, medians of six alternating rounds)."""

    def loop(gy, x, w, gx, gw, sh, sw, ph, pw, dh, dw):
        n, h, width, channels = x.shape
        kh, kw = w.shape[0], w.shape[1]
        out_h, out_w = gy.shape[1], gy.shape[2]
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    for r in range(kh):
                        row = i * sh - ph + r * dh
                        if row < 0 or row >= h:
                            continue
                        for s in range(kw):
                            column = j * sw - pw + s * dw
                            if column < 0 or column >= width:
                                continue
                            for c in range(channels):
                                if input_grad:
                                    gx[b, row, column, c] += gy[b, i, j, c] * w[r, s, c]
                                if weight_grad:
                                    gw[r, s, c] += gy[b, i, j, c] * x[b, row, column, c]

    return loop


def kernel_last(weight):
    """(C, 1, kh, kw) → (kh, kw, C), contiguous: one kernel position's C weights side by side."""
    return xp.ascontiguousarray(weight[:, 0].transpose(1, 2, 0))


def forward(x, weight, bias, stride, padding, dilation):
    """(N, C, H', W') stored channels-last, from x (N, C, H, W) — any layout — and weight (C, 1, kh, kw)."""
    n, c, h, w = x.shape
    _, _, kh, kw = weight.shape
    out_h, out_w = (output_size(size, k, s, p, d) for size, k, s, p, d
                    in zip((h, w), (kh, kw), stride, padding, dilation))
    out = xp.empty((n, out_h, out_w, c), dtype=x.dtype)
    x_, w_ = channels_last(x), kernel_last(weight)
    b = bias.astype(x.dtype, copy=False) if bias is not None else xp.zeros(c, dtype=x.dtype)
    loop = jit.compiled(forward_loop)
    geometry = (*stride, *padding, *dilation)
    threads.over_batch(lambda rows: loop(x_[rows], w_, b, out[rows], *geometry), n, out.size, out)
    return out.transpose(0, 3, 1, 2)


def backward(gy, x, weight, stride, padding, dilation, input_grad=True, weight_grad=True):
    """(∂L/∂x (N, C, H, W) stored channels-last, ∂L/∂w (C, 1, kh, kw)) — each None unless asked for — in
    the dtype NumPy's products would give; ∂L/∂w summed in float64."""
    n, c, h, w = x.shape
    _, _, kh, kw = weight.shape
    dtype = xp.result_type(gy, weight)
    gx = xp.zeros((n, h, w, c), dtype=dtype) if input_grad else xp.empty((0, 0, 0, 0), dtype=dtype)
    g_weight = xp.zeros((kh, kw, c), dtype=xp.float64)
    arrays = (channels_last(gy), channels_last(x), kernel_last(weight), gx, g_weight, *stride, *padding, *dilation)
    if input_grad:
        jit.compiled(backward_loop, True, False)(*arrays)
    if weight_grad:
        jit.compiled(backward_loop, False, True)(*arrays)
    return (gx.transpose(0, 3, 1, 2) if input_grad else None,
            g_weight.transpose(2, 0, 1)[:, None].astype(xp.result_type(gy, x)) if weight_grad else None)
