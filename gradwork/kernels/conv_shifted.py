"""Stride-1 convolution without a window matrix: kh·kw shifted products (nine for 3×3) summed in place.

Store the zero-padded input channels-last and read it as one matrix P of (N·Hp·Wp) rows of C values,
one row per padded pixel. The window of output pixel r starts at row r of P, and its kernel position
(i, j) is row r + i·Wp + j — *the same offset for every window*. So the whole convolution is

    Y[r] = Σ_(i,j)  P[r + i·Wp + j] · W_ij          (W_ij = weight[:, :, i, j]ᵀ, a (C, O) matrix)

that is, kh·kw products of P shifted by a constant number of rows — each shift a free slice of P —
added into one output Y with BLAS's C += A·B (``kernels.blas``). Y has a row for every padded pixel;
the rows of real outputs are the top-left H'×W' of each image, and the others (windows that would
hang over the right or bottom edge, or wrap into the next row or image) are computed and never looked
at: (Hp·Wp)/(H'·W') more rows, 1.15 for 28×28 with padding 1. No window matrix is ever built: the
reference (``gradwork/ops/conv.py``) copies every input value kh·kw times into one before its
single product.

The input gradient is the same idea backwards: gX[r + i·Wp + j] += gY[r] · W_ijᵀ, with gY zero on the
rows that are not real outputs. The weight gradient, ∂L/∂W_ij = Σ_r P[r + i·Wp + j]ᵀ · gY[r], keeps the
window matrix for wide layers (one product with a long inner dimension is what BLAS does best; nine thin
ones over the whole batch were 2× slower), and for narrow ones is made image by image: see
:func:`weight_grad`.

Measured per layer, batch 128, 3×3, padding 1 (forward; input gradient), against the channels-last
window matrix of ``kernels/conv.py``: 16→16 channels at 28×28 12.0 → 4.8 ms; 9.9 → 4.7 ms. 16→32 at
14×14 3.5 → 2.1; 3.0 → 2.5. 32→32 at 14×14 6.5 → 4.0; 5.7 → 4.0. 64→64 at 7×7 4.5 → 4.4; 4.3 → 4.6.
Whole steps, A/B in one process: W6 (ResNet-20) 1.11×, W5 1.09×, W2 1.05× (bench/RESULTS.md,
2026-11-30). The sums are the reference's terms added in another order: equal to rounding.

Without padding the grid is the input itself: P is then a view of x's memory when x is stored channels-last
(the previous layer's output), no copy; and a 1×1 kernel is one product each way, its input gradient written
straight into gX from gY's own memory. A (64, 64, 16, 16) 1×1 layer, forward 4.3 → 2.9 ms, input gradient 4.8
→ 2.3 ms (bench/RESULTS.md, 2026-12-01, session 14).

Y starts at the bias, so the products add onto it (W5 1.04×, A/B). Used for stride 1, one group, at least
``MIN_CHANNELS`` (5) input channels (fewer keep the window matrix: an RGB image's first layer is faster
with it, measured below; one channel its transposed window matrix, ``channels_first_is_faster``),
on NumPy arrays of one dtype when ``kernels.blas`` found NumPy's BLAS; a gradient of another dtype
than the weight (float64 into a float32 layer) takes the window path's input gradient.
"""
from gradwork.backend import xp
from gradwork.backend.compat import as_strided
from gradwork.kernels import blas
from gradwork.kernels.layout import WideRows
from gradwork.ops.conv import output_size


#: Fewer input channels than this keep the window matrix: each shifted product's inner side is C, and for an
#: RGB image's first layer (no input gradient) the products and the window matrix that backward rebuilds
#: cost more than the window matrix made once in forward and kept — forward + backward, 64 × 3 → 32 at 32×32,
#: 22.0 → 15.8 ms; 128 × 3 → 64, 87 → 48 ms; 64 × 4 → 32, 25.0 → 16.4 ms. From 8 channels on the two paths
#: are within noise of each other in that measurement, and the shifted products win for 16 channels at 28×28
#: in the ResNet (bench/RESULTS.md, 2026-12-01, session 14; 2026-11-30).
MIN_CHANNELS = 5


def applies(x, weight, stride, groups):
    """Whether this path runs: stride 1, one group, at least ``MIN_CHANNELS`` input channels, a non-empty
    batch, NumPy's BLAS reachable."""
    return (stride == (1, 1) and groups == 1 and x.shape[1] >= MIN_CHANNELS and x.shape[0] > 0
            and blas.available(x, weight))


#: Layers with at most this many input × output channels take :func:`weight_grad`'s products image by
#: image; wider ones the window matrix (``FastConv2d.weight_grad_in_blocks``). Measured, batch 128, 3 × 3,
#: padding 1, the weight gradient alone (window matrix → image by image): 8→8 at 28×28 9.4 → 3.5 ms,
#: 12→12 10.9 → 4.6, 16→16 12.1 → 6.0–6.8, 16→32 at 14×14 3.4 → 3.0; 24→24 at 14×14 4.4 vs 4.2 (even),
#: 32→32 6.0 vs 6.5, 16→64 at 28×28 18.9 vs 24.0, 64→64 at 7×7 4.1 vs 8.3 (bench/RESULTS.md, 2026-12-01,
#: session 15): a product of a C × O result is too small for BLAS to run at speed once C·O grows.
NARROW_CHANNELS = 512


def applies_to_gradient(gy, weight):
    """Whether backward's input gradient can take this path (or ``conv_phases``'): ``gy`` of the weight's
    dtype (a float32 layer can receive a float64 gradient, from a loss against float64 targets) and a
    finite weight, else the window path. (The products also run over the rows that are not real outputs,
    whose gradient is 0: with a weight of ±∞ or NaN, 0 · ∞ there would put NaN onto input pixels that the
    reference gives a finite gradient.)"""
    return gy.shape[0] > 0 and blas.available(gy, weight) and bool(xp.isfinite(weight).all())


class Geometry:
    """Sizes of the padded grid and the row offset of each kernel position."""

    def __init__(self, input_shape, weight_shape, padding, dilation):
        n, c, h, w = input_shape
        _, _, kh, kw = weight_shape
        (ph, pw), (dh, dw) = padding, dilation
        self.n, self.c, self.h, self.w, self.ph, self.pw = n, c, h, w, ph, pw
        self.hp, self.wp = h + 2 * ph, w + 2 * pw
        self.out_h, self.out_w = output_size(h, kh, 1, ph, dh), output_size(w, kw, 1, pw, dw)
        self.kernel = (kh, kw)
        self.offsets = [i * dh * self.wp + j * dw for i in range(kh) for j in range(kw)]
        self.rows = n * self.hp * self.wp  # rows of the padded grid
        self.span = self.rows - self.offsets[-1]  # rows every shift can reach: Y's rows 0 … span−1

    def grid(self, matrix):
        """(rows, K) → (N, Hp, Wp, K)"""
        return matrix.reshape(self.n, self.hp, self.wp, -1)


def rows_in_place(x):
    """x (N, C, H, W) as the (N·H·W, C) rows of its channels-last memory when it is stored so (a view, no
    copy: a convolution's or ReLU's output), else None."""
    rows = x.transpose(0, 2, 3, 1)
    return rows.reshape(-1, x.shape[1]) if rows.flags.c_contiguous else None


def kernel_matrices(weight):
    """(O, C, kh, kw) → (kh, kw, C, O), contiguous: [i, j] is W_ij, ready for P·W_ij."""
    return xp.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def forward(x, weight, bias, padding, dilation):
    """conv2d of ``x`` (N, C, H, W) with stride 1 → (N, O, H', W'), stored channels-last (a view of
    the padded grid's top-left H'×W' of each image)."""
    g = Geometry(x.shape, weight.shape, padding, dilation)
    p = rows_in_place(x) if (g.ph, g.pw) == (0, 0) else None  # no padding: P is x itself, if stored so
    if p is None:
        padded = xp.zeros((g.n, g.hp, g.wp, g.c), dtype=x.dtype)
        padded[:, g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x.transpose(0, 2, 3, 1)
        p = padded.reshape(g.rows, g.c)
    w = kernel_matrices(weight)
    y = output_rows(g.rows, g.span, weight.shape[0], x.dtype, bias)
    kh, kw = g.kernel
    for k, offset in enumerate(g.offsets):  # Y[r] += P[r + offset] · W_ij
        blas.gemm(p[offset:offset + g.span], w[k // kw, k % kw], y[:g.span], accumulate=bias is not None or k > 0)
    return g.grid(y)[:, :g.out_h, :g.out_w].transpose(0, 3, 1, 2)


def output_rows(rows, span, out_channels, dtype, bias):
    """Y (rows, O) for the shifted products to add onto: every row starting at the bias (no pass of its
    own), or without one zero on the rows from ``span`` on, which no product reaches (none of them a real
    output): no garbage in them."""
    y = xp.empty((rows, out_channels), dtype=dtype)
    if bias is not None:
        wide = WideRows(y)
        wide.view(y)[...] = wide.per_channel(bias)
    else:
        y[span:] = 0
    return y


def gradient_rows(gy, grid_size, span):
    """∂L/∂y (N, O, H', W') on the output grid (N, *grid_size) that the products' rows run over, zero where no
    real output is, as its first ``span`` rows of O values."""
    n, out_channels, out_h, out_w = gy.shape
    grid = xp.zeros((n, *grid_size, out_channels), dtype=gy.dtype)
    grid[:, :out_h, :out_w] = gy.transpose(0, 2, 3, 1)
    return grid.reshape(-1, out_channels)[:span]


def input_grad(gy, weight, input_shape, padding, dilation):
    """∂L/∂x (N, C, H, W) from ∂L/∂y (N, O, H', W'), stored channels-last."""
    g = Geometry(input_shape, weight.shape, padding, dilation)
    pointwise = len(g.offsets) == 1  # a 1×1 kernel: one product, nothing to add up
    g_rows = rows_in_place(gy) if pointwise and (g.ph, g.pw) == (0, 0) else None  # gY's grid is gy itself
    if g_rows is None:
        g_rows = gradient_rows(gy, (g.hp, g.wp), g.span)
    gx = (xp.empty if pointwise else xp.zeros)((g.rows, g.c), dtype=gy.dtype)
    w = kernel_matrices(weight)
    kh, kw = g.kernel
    for k, offset in enumerate(g.offsets):  # gX[r + offset] += gY[r] · W_ijᵀ
        blas.gemm(g_rows, w[k // kw, k % kw].T, gx[offset:offset + g.span], accumulate=not pointwise)
    return g.grid(gx)[:, g.ph:g.ph + g.h, g.pw:g.pw + g.w].transpose(0, 3, 1, 2)


def weight_grad_applies(gy, x, weight):
    """Whether :func:`weight_grad` makes ∂L/∂W: a layer of at most ``NARROW_CHANNELS`` input × output
    channels with a kernel larger than 1 × 1 (a 1 × 1 kernel's gradient is one product over the window
    matrix, which is x itself), ``gy`` and ``x`` of the weight's dtype and NumPy's BLAS reachable."""
    out_channels, channels, kh, kw = weight.shape
    return (channels * out_channels <= NARROW_CHANNELS and kh * kw > 1 and gy.shape[0] > 0
            and blas.available(gy, x, weight))


def weight_grad(gy, x, weight_shape, padding, dilation):
    """∂L/∂W (O, C, kh, kw) from ∂L/∂y (N, O, H', W') and the layer's input x (N, C, H, W), image by image:

        ∂L/∂W_ij = Σ_n Σ_r P_n[r + i·dh·Wp + j·dw]ᵀ · gY_n[r]     (a C × O matrix)

    with P_n image n's padded grid, channels-last, as (Hp·Wp, C) rows, and gY_n its output gradient on
    H'·Wp rows — the output rows at the padded grid's width, zero in the Wp − W' columns that are not
    real outputs (each of those products reads a window that wraps into the next row: times zero, it
    adds nothing). Each P_n[… + offset] is a *view* (a fixed number of rows on), so the window matrix is
    never built: ``numpy.matmul`` makes the N·kh·kw products of (C × H'·Wp)·(H'·Wp × O) over views of
    one padded copy of x, each product's operands an image's worth of rows, in cache, and the N results
    are summed. The reference's terms grouped by image: equal to rounding.

    Returns None where the result is not finite: then some term was ±∞ or NaN, and a wrapped window's
    value times its zero gradient — 0 for any finite value — may have been ∞ · 0 = NaN, in an entry that
    the reference, which never reads wrapped windows, keeps finite; the caller makes the gradient from the
    window matrix instead. (A finite result means every term was finite, every wrapped one exactly 0.)
    """
    g = Geometry(x.shape, weight_shape, padding, dilation)
    out_channels, _, kh, kw = weight_shape
    dh, dw = dilation
    # The last image's views reach (kw − 1)·dw rows past the grid's end (its last output row's wrapped
    # windows): those rows are there, and zero.
    padded = xp.zeros((g.rows + (kw - 1) * dw, g.c), dtype=x.dtype)
    g.grid(padded[:g.rows])[:, g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x.transpose(0, 2, 3, 1)
    rows = g.out_h * g.wp  # an image's output rows at the grid's width
    gy_rows = xp.zeros((g.n, g.out_h, g.wp, out_channels), dtype=gy.dtype)
    gy_rows[:, :, :g.out_w] = gy.transpose(0, 2, 3, 1)
    row = g.c * padded.itemsize  # bytes from one grid row to the next
    windows = as_strided(padded, shape=(g.n, kh, kw, g.c, rows),  # [n, i, j] = P_n[offset_ij:][:rows]ᵀ
                         strides=(g.hp * g.wp * row, dh * g.wp * row, dw * row, padded.itemsize, row),
                         writeable=False)
    per_image = windows @ gy_rows.reshape(g.n, 1, 1, rows, out_channels)  # (N, kh, kw, C, O)
    g_weight = per_image.sum(axis=0)
    return g_weight.transpose(3, 2, 0, 1) if xp.isfinite(g_weight).all() else None
