"""Convolution (``conv2d``) and transposed convolution (``conv_transpose2d``) by im2col.

im2col turns convolution into one matrix product. For input (N, C, H, W) and kernel (kh, kw),
every output pixel (n, h, w) has a *window* of C·kh·kw input values; lay the windows out as the
rows of a matrix and the convolution is

    cols  (N·H'·W', C·kh·kw)  @  Wᵀ (C·kh·kw, O)  =  out (N·H'·W', O)

The slow, obvious version loops over n, h, w (and the kernel) in Python. Here the window matrix
is a *strided view* of the padded input — the same memory read with different strides, no loop —
copied once into a contiguous matrix for the product (for a one-channel input, such as the first
layer on grey images, the matrix is built transposed, which copies longer runs). Backward needs
the opposite, **col2im**: every input pixel receives the sum of the gradients of all windows it
appeared in; that is done with one strided, vectorised addition per kernel position (kh·kw of
them), never per pixel, taking the batch in cache-sized blocks of images.

Output size along each axis: ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1.
"""
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops._util import column_sums
from gradwork.ops.padding import pad

as_strided = xp.lib.stride_tricks.as_strided


def as_pair(value, name="value"):
    """An int or a pair of ints, as a pair: 3 → (3, 3)."""
    if isinstance(value, numbers.Integral):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def output_size(size, kernel, stride, padding, dilation):
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1: how many windows fit along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


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
    out_h = (h - dh * (kh - 1) - 1) // sh + 1
    out_w = (w - dw * (kw - 1) - 1) // sw + 1
    s_n, s_h, s_w, s_c = x.strides
    return as_strided(x, shape=(n, out_h, out_w, groups, kh, kw, c // groups),
                      strides=(s_n, s_h * sh, s_w * sw, s_c * (c // groups), s_h * dh, s_w * dw, s_c),
                      writeable=False)


def im2col_channels_first(x, kernel, stride, padding, dilation):
    """The window matrix *transposed*, (C·kh·kw, N·H'·W'), read from ``x`` stored channels-first.

    Row (c, i, j) holds kernel position (i, j) of channel c for every window: one strided copy of the
    input shifted by (i, j), whose runs are whole output rows (W' values). :func:`im2col` copies runs
    of kw·C values instead — 3 for a 3×3 kernel on one channel — so for a one-channel input this
    layout is four times faster to build.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    out_h = (h - dh * (kh - 1) - 1) // sh + 1
    out_w = (w - dw * (kw - 1) - 1) // sw + 1
    s_n, s_c, s_h, s_w = x.strides
    shifted = as_strided(x, shape=(c, kh, kw, n, out_h, out_w),
                         strides=(s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw), writeable=False)
    return xp.ascontiguousarray(shifted).reshape(c * kh * kw, n * out_h * out_w)


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
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)
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


def accumulate_windows(rows, weight, groups, output_shape, stride, padding, dilation):
    """col2im fused with the product that makes the columns: for each kernel position (i, j),
    ``rows`` (N·H'·W', K) times that position's weight slice gives its contribution (N, H', W', C),
    added where those windows read from. Each product's result is contiguous, so the additions
    stream through memory (materialising the whole column matrix and then reading it with a stride
    of kh·kw·C values is several times slower). The batch is taken in blocks of whole images that
    fit in cache (``CACHE_BLOCK_BYTES``): a block's kh·kw additions then reuse the same memory.
    ``weight``: (K, C/groups, kh, kw).

    Returns the (N, C, H, W) result, stored channels-last.
    """
    n, c, h, w = output_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = weight.shape[2:]
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=rows.dtype)
    block = max(1, CACHE_BLOCK_BYTES // padded[0].nbytes)  # images per block
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
    a3 = a.reshape(m, groups, -1).transpose(1, 0, 2)  # (g, M, K)
    b3 = b.reshape(groups, b.shape[0] // groups, b.shape[1])
    b3 = b3.transpose(0, 2, 1) if transpose_b else b3  # (g, K, P)
    return (a3 @ b3).transpose(1, 0, 2).reshape(m, -1)


class Conv2dFunction(Function):
    """out[n, o] = Σ_c Σ_ij W[o, c, i, j] · x_pad[n, c, s·h + d·i, s·w + d·j] + b[o]."""

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        n = x.shape[0]
        out_channels, _, kh, kw = weight.shape
        self.channels_first = channels_first_is_faster(x, self.groups)
        if self.channels_first:  # columns in (C, kh, kw) order, the order of weight's own axes
            cols_t = im2col_channels_first(x, (kh, kw), self.stride, self.padding, self.dilation)
            out_h, out_w = (output_size(size, k, s, p, d) for size, k, s, p, d
                            in zip(x.shape[2:], (kh, kw), self.stride, self.padding, self.dilation))
            cols, w2 = cols_t.T, weight.reshape(out_channels, -1)
        else:  # columns in (kh, kw, C) order
            windows = im2col(x, (kh, kw), self.stride, self.padding, self.dilation, groups=self.groups)
            out_h, out_w = windows.shape[1:3]
            cols = xp.ascontiguousarray(windows).reshape(n * out_h * out_w, -1)  # the one im2col copy
            w2 = channels_last_weight(weight, self.groups)
        y = grouped_matmul(cols, w2, self.groups, transpose_b=True)  # (N·H'·W', O)
        if bias is not None:
            y += bias
        self.save_for_backward(cols, weight)
        self.input_shape = x.shape
        # (N, H', W', O) viewed as NCHW without copying; later ops keep this channels-last memory order.
        return y.reshape(n, out_h, out_w, out_channels).transpose(0, 3, 1, 2)

    def backward(self, gy):
        cols, weight = self.saved
        out_channels, c_per_group, kh, kw = weight.shape
        gy2 = gy.transpose(0, 2, 3, 1).reshape(-1, out_channels)  # (N·H'·W', O)
        gx = gw = gb = None
        if self.needs_input_grad[0]:  # dx: every window's gradient W·gy, added back where the window read
            gx = accumulate_windows(gy2, weight, self.groups, self.input_shape, self.stride, self.padding,
                                    self.dilation)
        if self.needs_input_grad[1]:
            gw = _weight_grad(gy2, cols, self.groups)  # (O, K) in the order of the columns
            if self.channels_first:
                gw = gw.reshape(weight.shape)
            else:
                gw = gw.reshape(out_channels, kh, kw, c_per_group).transpose(0, 3, 1, 2)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = column_sums(gy2)
        return gx, gw, gb


def _weight_grad(gy2, cols, groups):
    """dW = gyᵀ · cols, block by block for grouped convolution: (O, C/g·kh·kw)."""
    if groups == 1:
        if cols.flags.f_contiguous:  # the transposed window matrix of a one-channel input: use it as stored
            return (cols.T @ gy2).T  # 2.5× faster than gyᵀ · cols for (100352, 9) columns
        return gy2.T @ cols
    m = gy2.shape[0]
    g3 = gy2.reshape(m, groups, -1).transpose(1, 2, 0)  # (g, O/g, M)
    c3 = cols.reshape(m, groups, -1).transpose(1, 0, 2)  # (g, M, K)
    return (g3 @ c3).reshape(gy2.shape[1], -1)


class ConvTranspose2dFunction(Function):
    """The transposed convolution: the backward (input gradient) of ``conv2d`` used as a forward
    pass, so every input pixel *spreads* a kernel-sized patch into a larger output. Upsampling."""

    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        n, c_in, h, w = x.shape
        _, c_out_per_group, kh, kw = weight.shape
        out_h = (h - 1) * self.stride[0] - 2 * self.padding[0] + self.dilation[0] * (kh - 1) + self.output_padding[0] + 1
        out_w = (w - 1) * self.stride[1] - 2 * self.padding[1] + self.dilation[1] * (kw - 1) + self.output_padding[1] + 1
        x2 = xp.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(-1, c_in)  # (N·H·W, C_in)
        # weight (C_in, C_out/g, kh, kw) plays the role conv2d's weight plays in its input gradient.
        y = accumulate_windows(x2, weight, self.groups, (n, c_out_per_group * self.groups, out_h, out_w),
                               self.stride, self.padding, self.dilation)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        self.save_for_backward(x2, weight)
        self.input_shape = x.shape
        return y

    def backward(self, gy):
        x2, weight = self.saved
        c_in, c_out_per_group, kh, kw = weight.shape
        n, _, h, w = self.input_shape
        windows = im2col(gy, (kh, kw), self.stride, self.padding, self.dilation, groups=self.groups)
        # output_padding can leave extra rows that no input reached: only the first h×w windows count.
        cols = xp.ascontiguousarray(windows[:, :h, :w]).reshape(n * h * w, -1)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx2 = grouped_matmul(cols, channels_last_weight(weight, self.groups), self.groups, transpose_b=True)
            gx = gx2.reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
        if self.needs_input_grad[1]:
            gw = _weight_grad(x2, cols, self.groups).reshape(c_in, kh, kw, c_out_per_group).transpose(0, 3, 1, 2)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


def _check_conv_input(name, x, in_channels, kernel, stride, padding, dilation):
    if x.ndim != 4:
        raise ShapeError(f"{name}: expected input of shape (N, C, H, W), got {x.shape}")
    if x.shape[1] != in_channels:
        raise ShapeError(f"{name}: input has {x.shape[1]} channels but the layer expects {in_channels} "
                         f"(input shape {x.shape})")
    for axis, size, k, s, p, d in zip("HW", x.shape[2:], kernel, stride, padding, dilation):
        if output_size(size, k, s, p, d) < 1:
            smallest = d * (k - 1) + 1 - 2 * p
            raise ShapeError(f"{name}: input of shape {x.shape} is too small for a {kernel[0]}×{kernel[1]} kernel "
                             f"(dilation {d}, padding {p}): {axis} is {size}, the smallest that works is {smallest}")


def resolve_padding(padding, kernel, dilation, stride):
    """``padding`` as (top/bottom, left/right) amounts, and the extra (rows, columns) to add at the end.

    'valid' is no padding. 'same' keeps the size (stride 1 only): the effective kernel d·(k − 1) + 1
    needs d·(k − 1) padded rows in all; when that is odd (an even kernel), PyTorch puts the one that
    does not split evenly at the bottom (right), so the extra is 1 there. Ints and pairs are symmetric.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ConfigError(f"conv2d: padding must be an int, a pair of ints, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ConfigError(f"conv2d: padding='same' needs stride 1 (a strided convolution cannot keep the size), "
                              f"got stride={stride}")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (total[0] // 2, total[1] // 2), (total[0] % 2, total[1] % 2)
    return as_pair(padding, "padding"), (0, 0)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every framework) of x (N, C, H, W) with
    weight (O, C/groups, kh, kw) and optional bias (O,) → (N, O, H', W').

    ``padding``: an int, a pair, 'valid' (none) or 'same' (stride 1; an even kernel gets its extra
    row and column of zeros at the bottom and right, as in PyTorch)."""
    x, weight = as_tensor(x), as_tensor(weight)
    stride, dilation = as_pair(stride, "stride"), as_pair(dilation, "dilation")
    kernel = weight.shape[2:]
    padding, extra = resolve_padding(padding, kernel, dilation, stride)
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must have shape (O, C/groups, kh, kw), got {weight.shape}")
    if weight.shape[0] % groups:
        raise ShapeError(f"conv2d: {weight.shape[0]} output channels are not divisible by groups={groups}")
    if extra != (0, 0) and x.ndim == 4:  # the uneven part of 'same' padding, first: the convolution pads evenly
        x = pad(x, (0, extra[1], 0, extra[0]))
    _check_conv_input("conv2d", x, weight.shape[1] * groups, kernel, stride, padding, dilation)
    function = Conv2dFunction(stride, padding, dilation, groups)
    return function(x, weight) if bias is None else function(x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution of x (N, C_in, H, W) with weight (C_in, C_out/groups, kh, kw) →
    (N, C_out, (H−1)·s − 2p + d(k−1) + output_padding + 1, …)."""
    x, weight = as_tensor(x), as_tensor(weight)
    stride, padding, dilation = as_pair(stride, "stride"), as_pair(padding, "padding"), as_pair(dilation, "dilation")
    output_padding = as_pair(output_padding, "output_padding")
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: expected input (N, C, H, W) and weight (C_in, C_out/g, kh, kw), "
                         f"got {x.shape} and {weight.shape}")
    if x.shape[1] != weight.shape[0]:
        raise ShapeError(f"conv_transpose2d: input has {x.shape[1]} channels but the weight expects {weight.shape[0]}")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller than stride or dilation")
    function = ConvTranspose2dFunction(stride, padding, output_padding, dilation, groups)
    return function(x, weight) if bias is None else function(x, weight, bias)
