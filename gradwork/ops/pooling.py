"""Pooling: max, average and adaptive average over spatial windows of (N, C, H, W).

Windows come from convolution's ``im2col``, one row per window and channel; backward sends the
gradients back through ``col2im``. No Python loop over examples or pixels. (The fast kernels,
``gradwork.kernels.pooling``, compute the same on channels-last memory.)

Two of PyTorch's options change which windows there are and what an average divides by:

* ``ceil_mode=True`` rounds the number of windows up, H' = ⌈(H + 2p − d(k − 1) − 1)/s⌉ + 1, so a
  last, partial window may hang over the end — unless it would start beyond the input and its
  left padding, in which case it is dropped. The part hanging over is left out of the window; here
  it is filled with a value the pooling ignores (for max −∞, or an integer dtype's smallest value; 0 for
  a sum), which is the same.
* ``count_include_pad=False`` divides each average by the number of *input* values in the window,
  not counting padding. With ``count_include_pad=True`` the padding counts, but the part of a
  ceil_mode window beyond the padding does not (PyTorch's divisor).
"""
import numbers

from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, to_device_of, xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.conv import as_pair, col2im, im2col, output_size


def pool_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """Windows along one axis: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1, or with ``ceil_mode`` the ceiling
    when the last window starts inside the input or its left padding (PyTorch's rule)."""
    if not ceil_mode:
        return output_size(size, kernel, stride, padding, dilation)
    count = -(-(size + 2 * padding - dilation * (kernel - 1) - 1) // stride) + 1  # -(-a // s): ceiling division
    if (count - 1) * stride >= size + padding:  # the last window would start in the right padding: drop it
        count -= 1
    return count


def pooling_windows(x, kernel, stride, padding, dilation, extra, pad_value):
    """Every window of every channel of ``x`` (N, C, H, W) as one row: (N·H'·W'·C, kh·kw), rows in
    (n, h', w', c) order. The padding — and ceil_mode's ``extra`` rows and columns past the end — hold
    ``pad_value``, a value the pooling ignores (:func:`lowest_value` for max, 0 for a sum)."""
    (ph, pw), (eh, ew) = padding, extra
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=pad_value)
    cols = im2col(padded, kernel, stride, (0, 0), dilation)  # (N·H'·W', C·kh·kw), columns in (c, i, j) order
    return cols.reshape(-1, kernel[0] * kernel[1]), padded.shape


def lowest_value(dtype):
    """What max pooling pads with, so that padding never wins a window: −∞ for floating point, the
    smallest integer for integers (max pooling of integer images is allowed, as in PyTorch), False for
    booleans (their maximum is "any")."""
    if dtype == bool:
        return False
    return xp.iinfo(dtype).min if xp.issubdtype(dtype, xp.integer) else -xp.inf


def add_back(rows, input_shape, padded_shape, kernel, stride, padding, dilation):
    """The adjoint of :func:`pooling_windows`: each row's gradients added back where the window read, the
    padding cut off again."""
    n, c, h, w = input_shape
    grad = col2im(rows.reshape(-1, c * kernel[0] * kernel[1]), padded_shape, kernel, stride, (0, 0), dilation)
    return grad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


def as_images(values, n, c, out_h, out_w):
    """One value per (n, h', w', c) row → (N, C, H', W')."""
    return values.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)


class MaxPool2dFunction(Function):
    """out = the largest value of each window. Backward routes the whole gradient of an output to the
    position that held the maximum (the first, if several tie) — the max gate of a computational graph:

        forward:   out = cols.max(axis=1),  arg = cols.argmax(axis=1)
        backward:  dcols[r, arg[r]] = dout[r]  (0 elsewhere),  dx = col2im(dcols)
    """

    def __init__(self, kernel, stride, padding, dilation=(1, 1), extra=(0, 0)):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.extra = dilation, extra  # extra: ceil_mode's rows and columns past the end

    def forward(self, x):
        cols, self.padded_shape = pooling_windows(x, self.kernel, self.stride, self.padding, self.dilation,
                                                  self.extra, lowest_value(x.dtype))
        arg = cols.argmax(axis=1)
        out = cols[get_array_module(cols).arange(len(cols)), arg]
        self.save_for_backward(arg)
        self.input_shape = x.shape
        out_h, out_w = (pool_output_size_from_padded(n, k, s, d) for n, k, s, d
                        in zip(self.padded_shape[2:], self.kernel, self.stride, self.dilation))
        return as_images(out, x.shape[0], x.shape[1], out_h, out_w)

    def backward(self, gy):
        (arg,) = self.saved
        xp = get_array_module(gy)
        dcols = xp.zeros((len(arg), self.kernel[0] * self.kernel[1]), dtype=gy.dtype)
        dcols[xp.arange(len(arg)), arg] = gy.transpose(0, 2, 3, 1).reshape(-1)
        return add_back(dcols, self.input_shape, self.padded_shape, self.kernel, self.stride, self.padding,
                        self.dilation)


class AvgPool2dFunction(Function):
    """out = (sum of each window) / divisor, and each of the window's kh·kw positions gets 1/divisor of
    the output's gradient. The divisor is kh·kw by default; ``divisor`` (H', W') holds each window's
    own count when padding is not counted or a ceil_mode window hangs over the end
    (:func:`window_counts`), or the one number ``divisor_override``."""

    def __init__(self, kernel, stride, padding, divisor=None, extra=(0, 0)):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.divisor, self.extra = divisor, extra

    def _divisors(self, n, out_h, out_w, channels):
        """One divisor per (n, h', w', c) row."""
        if self.divisor is None:
            return self.kernel[0] * self.kernel[1]
        return xp.broadcast_to(self.divisor[None, :, :, None], (n, out_h, out_w, channels)).reshape(-1)

    def forward(self, x):
        cols, self.padded_shape = pooling_windows(x, self.kernel, self.stride, self.padding, (1, 1), self.extra, 0.0)
        self.input_shape = x.shape
        n, c = x.shape[:2]
        self.out_hw = tuple(pool_output_size_from_padded(size, k, s, 1)
                            for size, k, s in zip(self.padded_shape[2:], self.kernel, self.stride))
        out = cols.sum(axis=1) / self._divisors(n, *self.out_hw, c)
        return as_images(out.astype(x.dtype, copy=False), n, c, *self.out_hw)

    def backward(self, gy):
        n, c = self.input_shape[:2]
        share = gy.transpose(0, 2, 3, 1).reshape(-1) / self._divisors(n, *self.out_hw, c)
        dcols = xp.repeat(share.astype(gy.dtype, copy=False)[:, None], self.kernel[0] * self.kernel[1], axis=1)
        return add_back(dcols, self.input_shape, self.padded_shape, self.kernel, self.stride, self.padding, (1, 1))


def pool_output_size_from_padded(padded_size, kernel, stride, dilation):
    """Windows that fit in an already padded (and ceil_mode-extended) axis."""
    return output_size(padded_size, kernel, stride, 0, dilation)


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
        self.ph = to_device_of(self.averaging_matrix(x.shape[2], out_h, x.dtype), x)  # made on the host, used
        self.pw = to_device_of(self.averaging_matrix(x.shape[3], out_w, x.dtype), x)  # where x is
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
    ``ceil_mode``, see the module docstring). Padding never wins: it is −∞ (:func:`lowest_value`).
    """
    if return_indices:
        raise ConfigError("max_pool2d: return_indices=True is not supported; gradwork's max pooling returns the "
                          "pooled values only")
    x = as_tensor(x)
    kernel, stride, padding, dilation, _, extra = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                                                 dilation, ceil_mode)
    return kernels.choose(MaxPool2dFunction)(kernel, stride, padding, dilation, extra)(x)


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
    if divisor is not None:
        divisor = to_device_of(divisor, x.data)  # made on the host, used where x is
    return kernels.choose(AvgPool2dFunction)(kernel, stride, padding, divisor, extra)(x)


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
    return kernels.choose(AdaptiveAvgPool2dFunction)(adaptive_output_size(output_size, x.shape[2:]))(x)
