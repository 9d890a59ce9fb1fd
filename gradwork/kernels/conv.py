"""Fast convolution: the same numbers as ``gradwork/ops/conv.py``'s im2col → one product → col2im,
with the memory laid out for speed.

What is different from the reference, and why it gives the same result:

* **Channels-last windows.** The window matrix is a strided view of the input walked in (N, H, W, C)
  order, so each window is kh·kw runs of C neighbouring values and the one copy into the matrix
  streams through memory; its columns are in (kh, kw, C) order, so the weight is reordered the same
  way before the product (a permutation of the sum, the same terms). Outputs are written as
  (N·H'·W', O) and presented as NCHW through a transposed view, so activations stay channels-last
  from layer to layer and the next convolution's view needs no copy.
* **One-channel inputs** (grey images in the first layer) build the matrix transposed, whose runs are
  whole output rows instead of kw values: 1.46× faster forward + weight gradient for 3×3 kernels,
  1.15× for 5×5 (batch 128, 28×28; measured in bench/RESULTS.md, 2026-11-23). Their weight gradient,
  a product with a very long inner side, is summed over blocks of it (``long_product``): W3 1.17×.
* **The bias added on wide rows** (``kernels.layout.WideRows``): 1.7–2.4× faster than ``y += bias`` for
  16 and 32 channels (bench/RESULTS.md, 2026-11-30).
* **col2im fused with the product** that makes the columns (``accumulate_windows``), one kernel
  position at a time, in cache-sized blocks of images: 16-channel 28×28 layers 18.7 → 12.0 ms a call
  inside the ResNet step. Additions happen in a different order than the reference's, which changes
  float32 results only by rounding.

The output-size formula and the argument handling are the reference's (``gradwork.ops.conv``).
"""
import math

from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.backend.compat import as_strided
from gradwork.kernels import blas, conv_depthwise, conv_phases, conv_shifted, jit, threads
from gradwork.kernels.layout import WideRows, channels_last, column_sums
from gradwork.ops.conv import output_size, transposed_output_size



def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, groups=1):
    """All windows of ``x`` (N, C, H, W) as a read-only view of shape (N, H', W', g, kh, kw, C/g).

    The view walks the input in channels-last order (N, H, W, C): each window is kh·kw runs of C
    neighbouring values in memory, which makes the one copy into the window matrix fast. Convolution
    outputs are stored channels-last too (a transposed view presents them as NCHW), so a network's
    activations stay in that order from layer to layer.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    x = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a free view, contiguous when x came from a convolution
    if ph or pw:
        x = xp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    n, h, w, c = x.shape
    out_h, out_w = output_size(h, kh, sh, 0, dh), output_size(w, kw, sw, 0, dw)  # h, w are padded here
    s_n, s_h, s_w, s_c = x.strides
    return as_strided(x, shape=(n, out_h, out_w, groups, kh, kw, c // groups),
                      strides=(s_n, s_h * sh, s_w * sw, s_c * (c // groups), s_h * dh, s_w * dw, s_c),
                      writeable=False)


def im2col_channels_first(x, kernel, stride, padding, dilation, ones_row=False):
    """The window matrix *transposed*, (C·kh·kw, N·H'·W'), read from ``x`` stored channels-first.

    Row (c, i, j) holds kernel position (i, j) of channel c for every window: one strided copy of the
    input shifted by (i, j), whose runs are whole output rows (W' values). :func:`im2col` copies runs
    of kw·C values instead — 3 for a 3×3 kernel on one channel — so for a one-channel input this
    layout is four times faster to build.

    With ``ones_row`` the matrix gets one more row of ones, so that a product with the weight
    matrix extended by the bias as its last column adds the bias too, and the product of the output
    gradient with this row is the bias gradient: W5's first layer (1,000 images) 10.3 → 6.4 ms
    forward, as the separate pass over its 50 MB output disappears (bench/RESULTS.md, 2026-11-30).

    The copy is split over the images onto threads where that pays (``kernels/threads.py``): W5's
    (9, 784,000) matrix 1.76 → 0.90 ms alone; W3's convolution forward 1.74 → 1.50 ms in the step with
    ``OPENBLAS_THREAD_TIMEOUT=20`` (bench/RESULTS.md, 2026-11-30, session 7).
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kh, sh, 0, dh), output_size(w, kw, sw, 0, dw)  # h, w are padded here
    s_n, s_c, s_h, s_w = x.strides
    shifted = as_strided(x, shape=(c, kh, kw, n, out_h, out_w),
                         strides=(s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw), writeable=False)
    rows = c * kh * kw
    matrix = get_array_module(x).empty((rows + int(ones_row), n * out_h * out_w), dtype=x.dtype)
    threads.copy(matrix[:rows].reshape(shifted.shape), shifted, axis=3)  # the images split over threads
    if ones_row:
        matrix[rows] = 1
    return matrix


def channels_first_is_faster(x, groups):
    """Whether :func:`im2col_channels_first` beats :func:`im2col`: for an input with one channel
    (grey images, the first layer) — where channels-first and channels-last are the same memory —
    its runs of W' values beat im2col's runs of kw. Measured, forward plus weight gradient, batch
    128 of 28×28: 1.46× faster for a 3×3 kernel, 1.15× for 5×5; with 2–8 channels the two are
    within ±3% up to a 3×3 kernel and the transposed product loses beyond (0.88× at 8 channels).
    Grouped convolution keeps the channels-last layout."""
    return groups == 1 and x.shape[1] == 1


def col2im(cols, input_shape, stride, padding, dilation):
    """The adjoint of :func:`im2col`: add each window's values back where they were read from.

    cols (N, H', W', g, kh, kw, C/g) → (N, C, H, W) (stored channels-last). Overlapping windows add up.
    """
    n, out_h, out_w, groups, kh, kw, c_group = cols.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    _, c, h, w = input_shape
    padded = get_array_module(cols).zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)
    for i in range(kh):  # one strided addition per kernel position, each covering every pixel at once
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            padded[:, rows, columns, :] += cols[:, :, :, :, i, j, :].reshape(n, out_h, out_w, c)
    return padded[:, ph:ph + h, pw:pw + w, :].transpose(0, 3, 1, 2)


# accumulate_windows works through the batch in blocks of images whose gradient fits in this many
# bytes, so the nine additions of a 3×3 kernel hit cache rather than memory. Measured for batch 128
# (bench/RESULTS.md): 16 channels at 28×28 (7 MB in all) 22.5 → 12.2 ms; 32 at 14×14 (4 MB)
# 8.5 → 6.8 ms; 2.5 MB and less unchanged. Smaller blocks lose to the per-block overhead.
CACHE_BLOCK_BYTES = 2 << 20

# FastConv2d.weight_grad_in_blocks builds the window matrix a block of images at a time, this many bytes
# each, so that its product reads it from cache (the best of the sizes measured, 1–14 MB, within 3% for
# W2's and W6's layers; 1 MB blocks and the whole matrix at once are 10–25% slower).
WINDOW_BLOCK_BYTES = 4 << 20


def accumulate_windows(rows, weight, groups, output_shape, stride, padding, dilation, windows=None):
    """col2im fused with the product that makes the columns: for each kernel position (i, j),
    ``rows`` (N·H'·W', K) times that position's weight slice gives its contribution (N, H', W', C),
    added where those windows read from. Each product's result is contiguous, so the additions
    stream through memory (materialising the whole column matrix and then reading it with a stride
    of kh·kw·C values is several times slower). The batch is taken in blocks of whole images that
    fit in cache (``CACHE_BLOCK_BYTES``): a block's kh·kw additions then reuse the same memory.
    ``weight``: (K, C/groups, kh, kw). ``windows``: the (H', W') windows that ``rows`` holds per image; by
    default as many as fit in the output — a transposed convolution's ``output_padding`` can make room for
    one more row or column of windows than its input has pixels, and those get nothing.

    Returns the (N, C, H, W) result, stored channels-last, in the dtype of ``rows @ weight``.
    """
    n, c, h, w = output_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = weight.shape[2:]
    out_h, out_w = windows or (output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw))
    array_module = get_array_module(rows)
    padded = array_module.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=array_module.result_type(rows, weight))
    block = max(1, CACHE_BLOCK_BYTES // max(1, padded[:1].nbytes))  # images per block
    for start in range(0, n, block):
        stop = min(n, start + block)
        target, block_rows = padded[start:stop], rows[start * out_h * out_w:stop * out_h * out_w]
        for i in range(kh):
            for j in range(kw):
                contribution = grouped_matmul(block_rows, weight[:, :, i, j], groups)
                target[:, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw, :] += \
                    contribution.reshape(stop - start, out_h, out_w, c)
    return padded[:, ph:ph + h, pw:pw + w, :].transpose(0, 3, 1, 2)


def channels_last_weight(weight, groups):
    """(O, C/g, kh, kw) → (O, kh·kw·C/g): the weight in the order of the window matrix's columns."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def grouped_matmul(a, b, groups, transpose_b=False):
    """Block-diagonal product for grouped convolution: the g groups of columns of ``a`` (M, g·K)
    each meet their own block of ``b`` — (g·P, K) used as its transpose when ``transpose_b``, else
    (g·K, P) — giving (M, g·P). With one group it is the plain ``a @ b`` (or ``a @ bᵀ``)."""
    if groups == 1:
        return a @ (b.T if transpose_b else b)
    m = a.shape[0]
    a3 = a.reshape(m, groups, a.shape[1] // groups).transpose(1, 0, 2)  # (g, M, K)
    b3 = b.reshape(groups, b.shape[0] // groups, b.shape[1])
    b3 = b3.transpose(0, 2, 1) if transpose_b else b3  # (g, K, P)
    return (a3 @ b3).transpose(1, 0, 2).reshape(m, groups * b3.shape[2])


class FastConv2d(Function):
    """``conv2d`` (``gradwork.ops.conv.Conv2dFunction``) on the fastest of its layouts: the shifted
    products of ``kernels/conv_shifted.py`` for stride 1 (no window matrix), the same over the input's phases
    (``kernels/conv_phases.py``) for narrow strided layers, depthwise convolution's compiled loops
    (``kernels/conv_depthwise.py``), the one-channel transposed window matrix, and the channels-last window
    matrix with the fused, blocked input gradient."""

    op_name = "conv2d"

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        self.input_shape = x.shape
        self.depthwise = conv_depthwise.applies(x, weight, bias, self.groups, self.padding)
        self.phased = False
        if self.depthwise:  # one channel per group: compiled loops (kernels/conv_depthwise.py); x kept as it is
            self.shifted = self.channels_first = False
            self.save_for_backward(x, weight)
            return conv_depthwise.forward(x, weight, bias, self.stride, self.padding, self.dilation)
        self.shifted = conv_shifted.applies(x, weight, self.stride, self.groups)
        if self.shifted:  # x is kept for the weight gradient: shifted views of it, or its window matrix
            self.save_for_backward(x, weight)
            return conv_shifted.forward(x, weight, bias, self.padding, self.dilation)
        self.phased = conv_phases.applies(x, weight, self.stride, self.groups)
        if self.phased:  # strided: shifted products over the input's phases; x kept for the window matrix
            self.channels_first = False
            self.save_for_backward(x, weight)
            return conv_phases.forward(x, weight, bias, self.stride, self.padding, self.dilation)
        n = x.shape[0]
        out_channels, _, kh, kw = weight.shape
        self.channels_first = channels_first_is_faster(x, self.groups)
        if self.channels_first:  # columns in (C, kh, kw) order, the order of weight's own axes
            # The bias rides in the product: a column of ones in the window matrix, the bias beside the weight
            # (in the weight's dtype, as ``out += bias`` keeps the output's).
            cols_t = im2col_channels_first(x, (kh, kw), self.stride, self.padding, self.dilation,
                                           ones_row=bias is not None)
            out_h, out_w = (output_size(size, k, s, p, d) for size, k, s, p, d
                            in zip(x.shape[2:], (kh, kw), self.stride, self.padding, self.dilation))
            w2 = weight.reshape(out_channels, -1)
            if bias is not None:
                w2 = get_array_module(w2).concatenate([w2, bias[:, None].astype(w2.dtype, copy=False)], axis=1)
            cols = cols_t.T
            y = cols @ w2.T  # (N·H'·W', O)
        else:  # columns in (kh, kw, C) order
            cols, (out_h, out_w) = self.window_matrix(x, (kh, kw))
            y = grouped_matmul(cols, channels_last_weight(weight, self.groups), self.groups, transpose_b=True)
            if bias is not None:  # on wide rows: NumPy's loop then runs along k·O values, not O
                wide = WideRows(y)
                wide.view(y)[...] += wide.per_channel(bias)
        self.save_for_backward(cols, weight)
        # (N, H', W', O) viewed as NCHW without copying; later ops keep this channels-last memory order.
        # (The shifted path's output is channels-last too, but a view of its padded grid: not contiguous.)
        return y.reshape(n, out_h, out_w, out_channels).transpose(0, 3, 1, 2)

    def window_matrix(self, x, kernel):
        """The channels-last window matrix (N·H'·W', kh·kw·C) — the one im2col copy — and (H', W')."""
        windows = im2col(x, kernel, self.stride, self.padding, self.dilation, groups=self.groups)
        out_h, out_w = windows.shape[1:3]
        columns = math.prod(windows.shape[3:])  # (g, kh, kw, C/g); explicit, so an empty batch reshapes too
        return get_array_module(windows).ascontiguousarray(windows).reshape(x.shape[0] * out_h * out_w, columns), \
            (out_h, out_w)

    def weight_grad_in_blocks(self, x, gy2, kernel):
        """dW = colsᵀ·gy (as (O, K)) on the shifted and phased paths — strided layers, stride-1 layers wider
        than ``conv_shifted.NARROW_CHANNELS`` or with a 1 × 1 kernel (other narrow ones take
        ``conv_shifted.weight_grad`` when the values are finite) — with the window matrix of ``x`` built and
        multiplied a block of images at a time, each block's product added into dW (BLAS's β = 1), so a
        block is still in cache when its product reads it (the whole matrix is 58 MB for a 16-channel 28×28
        layer at batch 128). Per layer (batch 128, 3×3): 32→32 at 14×14 7.5 → 5.6 ms; 16→16 at 28×28 12.0
        → 10.7 ms and 16→32 at 14×14 3.5 → 3.3 ms, layers that now take the narrow path (bench/RESULTS.md,
        2026-11-30). The sum is the same terms grouped by block."""
        n = x.shape[0]
        rows_per_image = gy2.shape[0] // n
        columns = x.shape[1] * kernel[0] * kernel[1]
        block = max(1, WINDOW_BLOCK_BYTES // max(1, rows_per_image * columns * x.itemsize))  # images per block
        g_weight_t = get_array_module(x).zeros((columns, gy2.shape[1]), dtype=x.dtype)  # (K, O)
        for start in range(0, n, block):
            stop = min(n, start + block)
            cols = self.window_matrix(x[start:stop], kernel)[0]
            blas.gemm(cols.T, gy2[start * rows_per_image:stop * rows_per_image], g_weight_t, accumulate=True)
        return g_weight_t.T

    def backward(self, gy):
        saved, weight = self.saved  # saved: the input x on the shifted and depthwise paths, else the window matrix
        out_channels, c_per_group, kh, kw = weight.shape
        depthwise = self.depthwise and jit.runs_on(gy)  # (else the window path, as for the shifted products)
        if depthwise:  # its loop and the bias's sum read gy channels-last: copied into that order once, if need be
            gy = channels_last(gy).transpose(0, 3, 1, 2)
        gy2 = gy.transpose(0, 2, 3, 1).reshape(-1, out_channels)  # (N·H'·W', O)
        gx = gw = gb = None
        geometry = (self.stride, self.padding, self.dilation)
        if depthwise and (self.needs_input_grad[0] or self.needs_input_grad[1]):  # compiled walks, one per gradient
            gx, gw = conv_depthwise.backward(gy, saved, weight, *geometry, input_grad=self.needs_input_grad[0],
                                             weight_grad=self.needs_input_grad[1])
        elif self.needs_input_grad[0]:
            if self.shifted and conv_shifted.applies_to_gradient(gy, weight):
                gx = conv_shifted.input_grad(gy, weight, self.input_shape, self.padding, self.dilation)
            elif self.phased and conv_shifted.applies_to_gradient(gy, weight):
                gx = conv_phases.input_grad(gy, weight, self.input_shape, *geometry)
            else:  # every window's gradient W·gy, added back where the window read
                gx = accumulate_windows(gy2, weight, self.groups, self.input_shape, self.stride, self.padding,
                                        self.dilation)
        wants_bias = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if not self.shifted and self.channels_first:
            if self.needs_input_grad[1] or wants_bias:  # (O, C·kh·kw [+ 1]): the last column is the bias's
                both = long_product(saved.T, gy2).T
                gw = both[:, :weight[0].size].reshape(weight.shape) if self.needs_input_grad[1] else None
                gb = both[:, -1] if wants_bias else None
            return gx, gw, gb
        if self.needs_input_grad[1] and not depthwise:
            if self.shifted and conv_shifted.weight_grad_applies(gy, saved, weight):  # narrow: image by image
                gw = conv_shifted.weight_grad(gy, saved, weight.shape, self.padding, self.dilation)
            if gw is None:  # not narrow, or the narrow way met ±∞ or NaN: the window matrix
                kept_input = self.shifted or self.phased or self.depthwise  # (else forward kept the window matrix)
                if (self.shifted or self.phased) and blas.available(saved, gy2):
                    gw = self.weight_grad_in_blocks(saved, gy2, (kh, kw))
                else:
                    cols = self.window_matrix(saved, (kh, kw))[0] if kept_input else saved
                    gw = _weight_grad(gy2, cols, self.groups)  # (O, K) in the order of the columns
                gw = gw.reshape(out_channels, kh, kw, c_per_group).transpose(0, 3, 1, 2)
        if wants_bias:
            gb = column_sums(gy2)
        return gx, gw, gb


# long_product cuts the long side into blocks of this many: (26 × 57,600)·(57,600 × 30), W3's weight
# gradient, 2.17 ms whole, 1.33 / 1.24 / 1.19 ms in blocks of 256 / 512 / 1,024, 2.25 ms in blocks of 2,048;
# (10 × 100,352)·(100,352 × 16), W2's first layer, 0.89 → 0.40 ms at 1,024 (bench/RESULTS.md, 2026-11-30,
# session 7).
LONG_PRODUCT_BLOCK = 1024


def long_product(a, b):
    """a (M, K) · b (K, N) for small M and N and a long K — the weight gradient of a one-channel layer,
    whose K is every output pixel of the batch — as the sum of the products of blocks of
    ``LONG_PRODUCT_BLOCK`` along K, all made by one batched ``matmul`` (a BLAS call per block).

    With ``a``'s rows contiguous (the transposed window matrix of a one-channel input), OpenBLAS computes
    the whole product at about half the speed of the blocks: a block's two panels, block·(M + N) values,
    fit in the processor's cache, the whole rows do not. (With ``a`` a transposed view — the
    channels-last window matrix — blocks were no faster and are not used.) The sum is the same terms
    grouped by block: equal to rounding.
    """
    m, k = a.shape
    blocks = k // LONG_PRODUCT_BLOCK
    if blocks < 2 or a.strides[1] != a.itemsize:
        return a @ b
    head = blocks * LONG_PRODUCT_BLOCK  # the whole blocks; what is left over is one more product
    a_blocks = a[:, :head].reshape(m, blocks, LONG_PRODUCT_BLOCK).transpose(1, 0, 2)  # (blocks, M, block), a view
    b_blocks = b[:head].reshape(blocks, LONG_PRODUCT_BLOCK, b.shape[1])
    product = (a_blocks @ b_blocks).sum(axis=0)
    if head < k:
        product += a[:, head:] @ b[head:]
    return product


def _weight_grad(gy2, cols, groups):
    """dW = gyᵀ · cols, block by block for grouped convolution: (O, C/g·kh·kw)."""
    if groups == 1:
        # (colsᵀ · gy)ᵀ, not gyᵀ · cols: OpenBLAS is faster with the long axis inside the product —
        # 2.5× for the transposed (100352, 9) matrix of a one-channel input, 15–25% for (25088, 144)
        # to (100352, 144) window matrices (1–3% of a W2/W3/W6 step, bench/RESULTS.md 2026-11-30).
        return (cols.T @ gy2).T
    m = gy2.shape[0]
    g3 = gy2.reshape(m, groups, gy2.shape[1] // groups).transpose(1, 2, 0)  # (g, O/g, M)
    c3 = cols.reshape(m, groups, cols.shape[1] // groups).transpose(1, 0, 2)  # (g, M, K)
    return (g3 @ c3).reshape(gy2.shape[1], -1)


class FastConvTranspose2d(Function):
    """``conv_transpose2d`` (``gradwork.ops.conv.ConvTranspose2dFunction``) on the fast convolution's
    layouts: forward is the fused, blocked col2im, backward the channels-last window matrix."""

    op_name = "conv_transpose2d"

    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        n, c_in, h, w = x.shape
        _, c_out_per_group, kh, kw = weight.shape
        out_h, out_w = (transposed_output_size(size, k, s, p, op, d) for size, k, s, p, op, d
                        in zip((h, w), (kh, kw), self.stride, self.padding, self.output_padding, self.dilation))
        x2 = get_array_module(x).ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, c_in)  # (N·H·W, C_in)
        # weight (C_in, C_out/g, kh, kw) plays the role conv2d's weight plays in its input gradient.
        y = accumulate_windows(x2, weight, self.groups, (n, c_out_per_group * self.groups, out_h, out_w),
                               self.stride, self.padding, self.dilation, windows=(h, w))
        if bias is not None:  # in place, as the reference adds it: the product's dtype, whatever the bias's
            y += bias.reshape(1, -1, 1, 1)
        self.save_for_backward(x2, weight)
        self.input_shape = x.shape
        return y

    def backward(self, gy):
        x2, weight = self.saved
        c_in, c_out_per_group, kh, kw = weight.shape
        n, _, h, w = self.input_shape
        windows = im2col(gy, (kh, kw), self.stride, self.padding, self.dilation, groups=self.groups)
        # output_padding can leave extra rows that no input reached: only the first h×w windows count.
        cols = get_array_module(windows).ascontiguousarray(windows[:, :h, :w]).reshape(n * h * w,
                                                                                     math.prod(windows.shape[3:]))
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx2 = grouped_matmul(cols, channels_last_weight(weight, self.groups), self.groups, transpose_b=True)
            gx = gx2.reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
        if self.needs_input_grad[1]:
            gw = _weight_grad(x2, cols, self.groups).reshape(c_in, kh, kw, c_out_per_group).transpose(0, 3, 1, 2)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb
