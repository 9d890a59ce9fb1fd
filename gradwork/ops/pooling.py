"""Pooling: max, average and adaptive average over spatial windows of (N, C, H, W).

Windows come from the same strided view as convolution (``im2col``); backward sends gradients
back through ``col2im``. No Python loop over examples or pixels.

Two of PyTorch's options change which windows there are and what an average divides by:

* ``ceil_mode=True`` rounds the number of windows up, H' = ⌈(H + 2p − d(k − 1) − 1)/s⌉ + 1, so a
  last, partial window may hang over the end — unless it would start beyond the input and its
  left padding, in which case it is dropped. The part hanging over is left out of the window; here
  it is filled with a value the pooling ignores (−∞ for max, 0 for a sum), which is the same.
* ``count_include_pad=False`` divides each average by the number of *input* values in the window,
  not counting padding. With ``count_include_pad=True`` the padding counts, but the part of a
  ceil_mode window beyond the padding does not (PyTorch's divisor).
"""
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.conv import col2im, im2col, output_size, as_pair


def pool_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """Windows along one axis: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1, or with ``ceil_mode`` the ceiling
    when the last window starts inside the input or its left padding (PyTorch's rule)."""
    if not ceil_mode:
        return output_size(size, kernel, stride, padding, dilation)
    count = -(-(size + 2 * padding - dilation * (kernel - 1) - 1) // stride) + 1  # -(-a // s): ceiling division
    if (count - 1) * stride >= size + padding:  # the last window would start in the right padding: drop it
        count -= 1
    return count


def windows(x, kernel, stride, padding, dilation, extra, pad_value):
    """im2col's windows of ``x`` (N, H', W', 1, kh, kw, C), with ``extra`` more rows and columns of
    ``pad_value`` at the bottom and right for ceil_mode's partial last windows."""
    if extra != (0, 0):
        x = xp.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=pad_value)
    return im2col(x, kernel, stride, padding, dilation, pad_value=pad_value)


def add_back(cols, input_shape, stride, padding, dilation, extra):
    """col2im for :func:`windows`: the gradients added back onto the input, the ``extra`` part cropped off."""
    if extra == (0, 0):
        return col2im(cols, input_shape, stride, padding, dilation)
    n, c, h, w = input_shape
    return col2im(cols, (n, c, h + extra[0], w + extra[1]), stride, padding, dilation)[:, :, :h, :w]


class MaxPool2dFunction(Function):
    """out = max over each window. Backward routes the whole gradient to the one position that
    held the maximum (the first, if several tie) — the max gate of a computational graph.

    The windows are the strided view of convolution (``im2col``). Rather than gathering every
    window into a (…, kh·kw) array for argmax, the loop walks the kh·kw kernel positions — 4 for a
    2×2 pool — each a strided view that covers every window at once, keeping the running maximum.
    When a gradient will be needed, the same loop records the *winner*: for each output, the index
    k of the first kernel position that holds the maximum (one byte per output). Backward then
    only asks, position by position, "is k the winner?" — it never reads the input again.
    No loop over pixels.
    """

    def __init__(self, kernel, stride, padding, dilation=(1, 1), extra=(0, 0)):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.extra = dilation, extra  # extra: ceil_mode's rows and columns past the end

    def positions(self, windows):
        kh, kw = self.kernel
        return [windows[:, :, :, 0, i, j, :] for i in range(kh) for j in range(kw)]

    def forward(self, x):
        first, *rest = self.positions(windows(x, self.kernel, self.stride, self.padding, self.dilation, self.extra,
                                              -xp.inf))
        out = first.copy()  # (N, H', W', C)
        record = any(self.needs_input_grad)
        winner = xp.zeros(out.shape, dtype=xp.min_scalar_type(len(rest))) if record else None
        for k, candidate in enumerate(rest, start=1):
            if record:  # strictly greater: a tie keeps the earlier position
                better = (candidate > out).view(xp.uint8).astype(winner.dtype, copy=False)
            xp.maximum(out, candidate, out=out)
            if record:  # k exceeds every earlier index, so max(winner, better·k) is "k where better"
                better *= winner.dtype.type(k)
                xp.maximum(winner, better, out=winner)
        if record:
            self.save_for_backward(winner)
            self.input_shape = x.shape
        return out.transpose(0, 3, 1, 2)

    def backward(self, gy):
        (winner,) = self.saved
        n, c, h, w = self.input_shape
        kh, kw = self.kernel
        gy = gy.transpose(0, 2, 3, 1)  # (N, H', W', C), the layout of ``winner``
        tiles = (self.stride == self.kernel and self.padding == (0, 0) and self.dilation == (1, 1)
                 and self.extra == (0, 0) and h % kh == 0 and w % kw == 0)
        if tiles:  # every pixel is in exactly one window: write straight into the gradient's blocks
            gx = xp.empty((n, h, w, c), dtype=gy.dtype)
            blocks = gx.reshape(n, h // kh, kh, w // kw, kw, c)
            targets = [blocks[:, :, i, :, j, :] for i in range(kh) for j in range(kw)]
        else:
            routed = xp.empty(gy.shape[:3] + (1, kh, kw, c), dtype=gy.dtype)
            targets = self.positions(routed)
        for k, target in enumerate(targets):
            xp.multiply(gy, winner == k, out=target)  # every target is written once, so no zero-filling first
        if tiles:
            return gx.transpose(0, 3, 1, 2)
        return add_back(routed, self.input_shape, self.stride, self.padding, self.dilation, self.extra)


class AvgPool2dFunction(Function):
    """out = (sum over each window) / divisor. By default — padding counted as zeros
    (count_include_pad=True) and no ceil_mode windows hanging over the end — every divisor is
    kh·kw and this is the plain mean. Otherwise ``divisor`` (H', W') holds each window's own count
    (see :func:`window_counts`), or the one number ``divisor_override``."""

    def __init__(self, kernel, stride, padding, divisor=None, extra=(0, 0)):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.divisor, self.extra = divisor, extra

    def forward(self, x):
        self.input_shape = x.shape
        cols = windows(x, self.kernel, self.stride, self.padding, (1, 1), self.extra, 0.0)
        if self.divisor is None:
            return cols.mean(axis=(3, 4, 5)).transpose(0, 3, 1, 2)
        return (cols.sum(axis=(3, 4, 5)) / self.divisor[:, :, None]).transpose(0, 3, 1, 2)

    def backward(self, gy):  # each of the kh·kw window positions gets 1/divisor of the window's gradient
        kh, kw = self.kernel
        share = (gy / (kh * kw if self.divisor is None else self.divisor)).transpose(0, 2, 3, 1)
        share = share[:, :, :, None, None, None, :]
        cols = xp.broadcast_to(share, share.shape[:3] + (1, kh, kw, share.shape[-1]))
        return add_back(cols, self.input_shape, self.stride, self.padding, (1, 1), self.extra)


def window_counts(size, kernel, stride, padding, count, count_include_pad):
    """The divisor of each of ``count`` windows along one axis, as PyTorch counts: the window
    clipped to the padded input (count_include_pad), or to the input itself."""
    start = xp.arange(count) * stride - padding
    end = xp.minimum(start + kernel, size + padding)
    if count_include_pad:
        return end - start
    return xp.minimum(end, size) - xp.maximum(start, 0)


class AdaptiveAvgPool2dFunction(Function):
    """Average pooling to a fixed output size, with PyTorch's windows: output row i averages input
    rows ⌊i·H/out⌋ … ⌈(i+1)·H/out⌉ − 1. The windows are rectangles, so the pooling is separable:
    y = P_h · x · P_wᵀ with averaging matrices P (out × in), and backward is gx = P_hᵀ · gy · P_w."""

    def __init__(self, output_size):
        self.output_size = output_size

    @staticmethod
    def averaging_matrix(size_in, size_out, dtype):
        starts = (xp.arange(size_out) * size_in) // size_out
        ends = -((-(xp.arange(size_out) + 1) * size_in) // size_out)  # ceiling division
        positions = xp.arange(size_in)
        inside = (positions >= starts[:, None]) & (positions < ends[:, None])
        return (inside / (ends - starts)[:, None]).astype(dtype)

    def forward(self, x):
        out_h, out_w = self.output_size
        self.ph = self.averaging_matrix(x.shape[2], out_h, x.dtype)
        self.pw = self.averaging_matrix(x.shape[3], out_w, x.dtype)
        return self.ph @ x @ self.pw.T

    def backward(self, gy):
        return self.ph.T @ gy @ self.pw


def _check_pool_input(name, x, kernel, stride, padding, dilation, ceil_mode):
    if x.ndim != 4:
        raise ShapeError(f"{name}: expected input of shape (N, C, H, W), got {x.shape}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        if pool_output_size(size, k, s, p, d, ceil_mode) < 1:
            smallest = max(1, d * (k - 1) + 1 - 2 * p - (s - 1 if ceil_mode else 0))
            raise ShapeError(f"{name}: input of shape {x.shape} is smaller than the {kernel[0]}×{kernel[1]} window; "
                             f"the smallest spatial size that works is {smallest}")


def _pool_geometry(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Check a pooling's arguments; return them as pairs, with the output size (H', W') and the
    extra rows and columns that ceil_mode's last windows need beyond the padded input."""
    kernel = as_pair(kernel_size, "kernel_size")
    stride = as_pair(stride, "stride") if stride is not None else kernel
    padding, dilation = as_pair(padding, "padding"), as_pair(dilation, "dilation")
    _check_pool_input(name, x, kernel, stride, padding, dilation, ceil_mode)
    out = tuple(pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))  # reach of the last window − padded size
                  for n, o, k, s, p, d in zip(x.shape[2:], out, kernel, stride, padding, dilation))
    return kernel, stride, padding, dilation, out, extra


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kernel_size windows (stride defaults to the kernel size), PyTorch's ``F.max_pool2d``.

    (N, C, H, W) → (N, C, H', W'), H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 (the ceiling with
    ``ceil_mode``, see the module docstring). Padding never wins: it is −∞.
    """
    if return_indices:
        raise ConfigError("max_pool2d: return_indices=True is not supported; gradwork's max pooling returns the "
                          "pooled values only")
    x = as_tensor(x)
    kernel, stride, padding, dilation, _, extra = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                                                 dilation, ceil_mode)
    return MaxPool2dFunction(kernel, stride, padding, dilation, extra)(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel_size windows (stride defaults to the kernel size), PyTorch's ``F.avg_pool2d``.

    Each window's sum is divided by kh·kw, or — with ``count_include_pad=False`` — by the number of
    input values in it (padding left out), or by ``divisor_override`` when given. ``ceil_mode``: see
    the module docstring.
    """
    x = as_tensor(x)
    kernel, stride, padding, _, out, extra = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1,
                                                            ceil_mode)
    divisor = None
    if divisor_override is not None:
        if not isinstance(divisor_override, numbers.Integral) or divisor_override == 0:
            raise ConfigError(f"avg_pool2d: divisor_override must be a non-zero int or None, got {divisor_override!r}")
        divisor = xp.full(out, divisor_override, dtype=x.dtype)
    elif extra != (0, 0) or (not count_include_pad and padding != (0, 0)):  # else every window counts kh·kw
        rows, columns = (window_counts(n, k, s, p, o, count_include_pad)
                         for n, k, s, p, o in zip(x.shape[2:], kernel, stride, padding, out))
        divisor = xp.multiply.outer(rows, columns).astype(x.dtype)
    return AvgPool2dFunction(kernel, stride, padding, divisor, extra)(x)


def adaptive_output_size(output_size, input_size):
    """``output_size`` as a pair of ints: an int is used for both axes, ``None`` keeps that input size."""
    size = (output_size, output_size) if isinstance(output_size, numbers.Integral) else output_size
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(s is None or (isinstance(s, numbers.Integral) and s > 0) for s in size)):
        raise ConfigError(f"adaptive_avg_pool2d: output_size must be a positive int or a pair of positive ints or "
                          f"None (None keeps that input size), got {output_size!r}")
    return tuple(int(n if s is None else s) for s, n in zip(size, input_size))


def adaptive_avg_pool2d(x, output_size):
    """Average-pool (N, C, H, W) to (N, C, *output_size); ``output_size=1`` is global average pooling,
    and ``None`` in it keeps that input size: ``(2, None)`` pools the height to 2 and keeps the width."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W), got {x.shape}")
    return AdaptiveAvgPool2dFunction(adaptive_output_size(output_size, x.shape[2:]))(x)
