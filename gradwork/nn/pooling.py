"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``."""
from gradwork.errors import ConfigError
from gradwork.nn.module import Module
from gradwork.ops import pooling


class MaxPool2d(Module):
    """Max over each kernel_size window (stride defaults to kernel_size); no parameters.
    (N, C, H, W) → (N, C, ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1, …), the ceiling with ``ceil_mode``
    (a last window hanging over the end counts, if it starts inside the input or its left padding).
    PyTorch's arguments, in PyTorch's order; ``return_indices=True`` is not supported."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        if return_indices:
            raise ConfigError("MaxPool2d: return_indices=True is not supported; gradwork's max pooling returns the "
                              "pooled values only")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return pooling.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class AvgPool2d(Module):
    """Mean over each kernel_size window (stride defaults to kernel_size); no parameters.
    ``count_include_pad=False`` divides by the number of input values in each window (padding left
    out); ``divisor_override`` divides every window by that number; ``ceil_mode`` as in MaxPool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        return pooling.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                  self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        if not self.count_include_pad:
            text += ", count_include_pad=False"
        if self.divisor_override is not None:
            text += f", divisor_override={self.divisor_override}"
        return text


class AdaptiveAvgPool2d(Module):
    """Average-pool to a fixed spatial size whatever the input size; ``AdaptiveAvgPool2d(1)`` is
    global average pooling (one number per channel). ``None`` keeps that input size:
    ``AdaptiveAvgPool2d((1, None))`` averages each column."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return pooling.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
