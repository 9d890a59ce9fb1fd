"""Convolution (``conv2d``) and transposed convolution (``conv_transpose2d``) by im2col.

im2col turns convolution into one matrix product. For input (N, C, H, W) and kernel (kh, kw),
every output pixel (n, h, w) has a *window* of C·kh·kw input values; lay the windows out as the
rows of a matrix and the convolution is

    cols  (N·H'·W', C·kh·kw)  @  Wᵀ (C·kh·kw, O)  =  out (N·H'·W', O)

The obvious version loops over n, h, w (and the kernel) in Python: that is
``gradwork.ops.conv_loops``, the definition written out, which the tests hold this file to. Here the
loop runs over the kh·kw kernel positions only: position (i, j) of every window is one strided
slice of the padded input. Backward needs the opposite, **col2im**: every input pixel receives the
sum of the gradients of all the windows it appeared in.

Output size along each axis: ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1 (:func:`output_size`, the one place
it is written).

This is the course's version. The fast kernel (``gradwork.kernels.conv``, selected by default, see
``gradwork.kernels``) computes the same with other memory layouts.
"""
import numbers

from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.padding import pad


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


def im2col(x, kernel, stride, padding, dilation):
    """The window matrix: every window of ``x`` (N, C, H, W) as one row.

    Returns cols (N·H'·W', C·kh·kw); row (n, h, w) holds the window of output pixel (n, h, w), in
    (c, i, j) order — the order of ``weight.reshape(O, −1)`` — so the convolution is one product.
    The loop runs over the kh·kw kernel positions, never over pixels: position (i, j) of *every*
    window is one strided slice of the padded input.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = get_array_module(x).empty((n, c, kh, kw, out_h, out_w), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, c * kh * kw)


def col2im(cols, input_shape, kernel, stride, padding, dilation, windows=None):
    """The adjoint of :func:`im2col`: add every window's values back where the window read them.

    cols (N·H'·W', C·kh·kw) → (N, C, H, W). Pixels that several windows share receive the sum, which
    is what the gradient of a value used several times is. ``windows`` (H', W') defaults to what fits.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = input_shape
    out_h, out_w = windows or (output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw))
    cols = cols.reshape(n, out_h, out_w, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    padded = get_array_module(cols).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw] += cols[:, :, i, j]
    return padded[:, :, ph:ph + h, pw:pw + w]


def group_blocks(matrix, groups, axis):
    """The ``groups`` equal blocks of ``matrix``'s columns (axis=1) or rows (axis=0): grouped convolution
    connects block g of the input channels only with block g of the output channels."""
    return xp.split(matrix, groups, axis=axis)


class Conv2dFunction(Function):
    """out[n, o, h, w] = Σ_c Σ_ij W[o, c, i, j] · x_pad[n, c, s·h + d·i, s·w + d·j] + b[o]

    by im2col:  cols (N·H'·W', C·kh·kw) @ W₂ᵀ (C·kh·kw, O) = out (N·H'·W', O),  W₂ = W.reshape(O, −1).
    Backward, the two products of a matrix product and col2im:

        dW₂ = dOutᵀ · cols,   db = Σ dOut,   dcols = dOut · W₂,   dx = col2im(dcols)

    With groups, the columns and the weight's rows split into ``groups`` blocks, one product each.
    """

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        n, out_channels = x.shape[0], weight.shape[0]
        cols = im2col(x, weight.shape[2:], self.stride, self.padding, self.dilation)
        w2 = weight.reshape(out_channels, -1)
        out = xp.concatenate([c @ w.T for c, w in zip(group_blocks(cols, self.groups, 1),
                                                       group_blocks(w2, self.groups, 0))], axis=1)
        if bias is not None:
            out += bias
        self.save_for_backward(cols, w2)
        self.input_shape, self.weight_shape = x.shape, weight.shape
        out_h, out_w = (output_size(size, k, s, p, d) for size, k, s, p, d
                        in zip(x.shape[2:], weight.shape[2:], self.stride, self.padding, self.dilation))
        return out.reshape(n, out_h, out_w, out_channels).transpose(0, 3, 1, 2)

    def backward(self, gy):
        cols, w2 = self.saved
        g = self.groups
        gy2 = gy.transpose(0, 2, 3, 1).reshape(-1, w2.shape[0])  # (N·H'·W', O), rows as in cols
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            dcols = xp.concatenate([d @ w for d, w in zip(group_blocks(gy2, g, 1), group_blocks(w2, g, 0))], axis=1)
            gx = col2im(dcols, self.input_shape, self.weight_shape[2:], self.stride, self.padding, self.dilation)
        if self.needs_input_grad[1]:
            gw = xp.concatenate([d.T @ c for d, c in zip(group_blocks(gy2, g, 1), group_blocks(cols, g, 1))],
                                axis=0).reshape(self.weight_shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy2.sum(axis=0)
        return gx, gw, gb


class ConvTranspose2dFunction(Function):
    """The transposed convolution: the input gradient of ``conv2d`` used as a forward pass, so every
    input pixel *spreads* a kernel-sized patch into a larger output (upsampling).

        cols = x₂ · W₂   (N·H·W, C_out·kh·kw),   out = col2im(cols) + b

    with x₂ the input as rows (N·H·W, C_in) and W₂ = W.reshape(C_in, −1) for W (C_in, C_out/g, kh, kw).
    Backward is a convolution: dcols = im2col(dOut), dx₂ = dcols · W₂ᵀ, dW₂ = x₂ᵀ · dcols.
    """

    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    def forward(self, x, weight, bias=None):
        n, c_in, h, w = x.shape
        c_out = weight.shape[1] * self.groups
        kernel = weight.shape[2:]
        out_h, out_w = (transposed_output_size(size, k, s, p, op, d) for size, k, s, p, op, d
                        in zip((h, w), kernel, self.stride, self.padding, self.output_padding, self.dilation))
        x2 = x.transpose(0, 2, 3, 1).reshape(-1, c_in)
        w2 = weight.reshape(c_in, -1)
        cols = xp.concatenate([a @ b for a, b in zip(group_blocks(x2, self.groups, 1),
                                                     group_blocks(w2, self.groups, 0))], axis=1)
        out = col2im(cols, (n, c_out, out_h, out_w), kernel, self.stride, self.padding, self.dilation, windows=(h, w))
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        self.save_for_backward(x2, w2)
        self.input_shape, self.weight_shape = x.shape, weight.shape
        return out

    def backward(self, gy):
        x2, w2 = self.saved
        n, c_in, h, w = self.input_shape
        g, kernel = self.groups, self.weight_shape[2:]
        # output_padding can leave rows that no input reached: only the first h×w windows count.
        cols = im2col(gy, kernel, self.stride, self.padding, self.dilation)
        windows_h, windows_w = (output_size(size, k, s, p, d) for size, k, s, p, d
                                in zip(gy.shape[2:], kernel, self.stride, self.padding, self.dilation))
        cols = cols.reshape(n, windows_h, windows_w, cols.shape[1])[:, :h, :w].reshape(n * h * w, cols.shape[1])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx2 = xp.concatenate([c @ b.T for c, b in zip(group_blocks(cols, g, 1), group_blocks(w2, g, 0))], axis=1)
            gx = gx2.reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
        if self.needs_input_grad[1]:
            gw = xp.concatenate([a.T @ c for a, c in zip(group_blocks(x2, g, 1), group_blocks(cols, g, 1))],
                                axis=0).reshape(self.weight_shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


def transposed_output_size(size, kernel, stride, padding, output_padding, dilation):
    """(n − 1)·s − 2p + d·(k − 1) + output_padding + 1: the size whose convolution gives back n."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


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
    function = kernels.choose(Conv2dFunction)(stride, padding, dilation, groups)
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
    function = kernels.choose(ConvTranspose2dFunction)(stride, padding, output_padding, dilation, groups)
    return function(x, weight) if bias is None else function(x, weight, bias)
