"""Fast pooling: the same numbers as ``gradwork/ops/pooling.py``, on the fast convolution's
channels-last windows (``gradwork.kernels.conv.im2col``), so pooling a convolution's output needs no
copy, and — for max pooling — with one byte per output recorded in forward so backward never reads
the input again (1.13× on the W2 training step, bench/RESULTS.md, 2026-11-23). Ties go to the first
kernel position in row-major order, as in the reference's argmax.
"""
from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.kernels.conv import col2im, im2col


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


class FastMaxPool2d(Function):
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

    op_name = "max_pool2d"

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
        winner = get_array_module(out).zeros(out.shape, dtype=xp.min_scalar_type(len(rest))) if record else None
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
            gx = get_array_module(gy).empty((n, h, w, c), dtype=gy.dtype)
            blocks = gx.reshape(n, h // kh, kh, w // kw, kw, c)
            targets = [blocks[:, :, i, :, j, :] for i in range(kh) for j in range(kw)]
        else:
            routed = get_array_module(gy).empty(gy.shape[:3] + (1, kh, kw, c), dtype=gy.dtype)
            targets = self.positions(routed)
        for k, target in enumerate(targets):
            xp.multiply(gy, winner == k, out=target)  # every target is written once, so no zero-filling first
        if tiles:
            return gx.transpose(0, 3, 1, 2)
        return add_back(routed, self.input_shape, self.stride, self.padding, self.dilation, self.extra)


class FastAvgPool2d(Function):
    """out = (sum over each window) / divisor. By default — padding counted as zeros
    (count_include_pad=True) and no ceil_mode windows hanging over the end — every divisor is
    kh·kw and this is the plain mean. Otherwise ``divisor`` (H', W') holds each window's own count
    (see :func:`window_counts`), or the one number ``divisor_override``."""

    op_name = "avg_pool2d"

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
