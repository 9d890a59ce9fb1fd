"""Pooling: max, average and adaptive average over spatial windows of (N, C, H, W).

Windows come from the same strided view as convolution (``im2col``); backward sends gradients
back through ``col2im``. No Python loop over examples or pixels.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.errors import ShapeError
from gradwork.ops.conv import col2im, im2col, output_size, pair


class MaxPool2d(Function):
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

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def positions(self, windows):
        kh, kw = self.kernel
        return [windows[:, :, :, 0, i, j, :] for i in range(kh) for j in range(kw)]

    def forward(self, x):
        windows = im2col(x, self.kernel, self.stride, self.padding, (1, 1), pad_value=-xp.inf)
        first, *rest = self.positions(windows)
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
        tiles = self.stride == self.kernel and self.padding == (0, 0) and h % kh == 0 and w % kw == 0
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
        return col2im(routed, self.input_shape, self.stride, self.padding, (1, 1))


class AvgPool2d(Function):
    """out = mean over each window (padding counts as zeros, PyTorch's count_include_pad=True)."""

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        self.input_shape = x.shape
        windows = im2col(x, self.kernel, self.stride, self.padding, (1, 1))
        return windows.mean(axis=(3, 4, 5)).transpose(0, 3, 1, 2)

    def backward(self, gy):  # each of the kh·kw window positions gets 1/(kh·kw) of the gradient
        kh, kw = self.kernel
        share = (gy / (kh * kw)).transpose(0, 2, 3, 1)[:, :, :, None, None, None, :]
        cols = xp.broadcast_to(share, share.shape[:3] + (1, kh, kw, share.shape[-1]))
        return col2im(cols, self.input_shape, self.stride, self.padding, (1, 1))


class AdaptiveAvgPool2d(Function):
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


def _check_pool_input(name, x, kernel, stride, padding):
    if x.ndim != 4:
        raise ShapeError(f"{name}: expected input of shape (N, C, H, W), got {x.shape}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    for size, k, s, p in zip(x.shape[2:], kernel, stride, padding):
        if output_size(size, k, s, p, 1) < 1:
            raise ShapeError(f"{name}: input of shape {x.shape} is smaller than the {kernel[0]}×{kernel[1]} window; "
                             f"the smallest spatial size that works is {k - 2 * p}")


def _pool(function, name, x, kernel_size, stride, padding):
    x = as_tensor(x)
    kernel = pair(kernel_size, "kernel_size")
    stride = pair(stride, "stride") if stride is not None else kernel
    padding = pair(padding, "padding")
    _check_pool_input(name, x, kernel, stride, padding)
    return function(kernel, stride, padding)(x)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over kernel_size windows (stride defaults to the kernel size)."""
    return _pool(MaxPool2d, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over kernel_size windows (stride defaults to the kernel size)."""
    return _pool(AvgPool2d, "avg_pool2d", x, kernel_size, stride, padding)


def adaptive_avg_pool2d(x, output_size):
    """Average-pool (N, C, H, W) to (N, C, *output_size); ``output_size=1`` is global average pooling."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W), got {x.shape}")
    size = pair(output_size, "output_size")
    size = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(size))
    return AdaptiveAvgPool2d(size)(x)
