"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d``."""
import math

from gradwork.backend import get_default_dtype, xp
from gradwork.errors import ConfigError
from gradwork.nn import init
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.conv import conv2d, conv_transpose2d, as_pair, resolve_padding
from gradwork.ops.padding import pad

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_channels(name, in_channels, out_channels, groups):
    for label, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                         f"divisible by groups ({groups})")


class _ConvNd(Module):
    """What both convolution layers share: a weight whose first axis is the one fan_in is not taken
    over, an optional bias, and PyTorch's default initialisation
    U(−1/√fan_in, 1/√fan_in) for both (``kaiming_uniform_`` with a = √5), fan_in = weight.numel() / weight.shape[0]."""

    def __init__(self, weight_shape, out_channels, bias, dtype):
        super().__init__()
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(xp.empty(weight_shape, dtype))
        if bias:
            self.bias = Parameter(xp.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.numel() // self.weight.shape[0])
            init.uniform_(self.bias, -bound, bound)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) → (N, C_out, H', W'), H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.

    Parameters: ``weight`` (C_out, C_in/groups, kh, kw) and ``bias`` (C_out,), PyTorch's layout.
    Default init (PyTorch's): weight and bias ~ U(−1/√fan_in, 1/√fan_in), fan_in = C_in/groups·kh·kw
    (``kaiming_uniform_`` with a = √5). For ReLU networks, He init (``kaiming_normal_``) is better.
    ``padding`` may be an int, a pair, 'valid' (0) or 'same' (stride 1: output size = input size; an
    even kernel's extra row and column go at the bottom and right).
    ``padding_mode``: what the padding holds — 'zeros', or 'reflect', 'replicate', 'circular' (see
    ``ops/padding.py``): for those the input is padded with :func:`pad` first and then convolved
    without padding, as PyTorch does.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", dtype=None):
        _check_channels("Conv2d", in_channels, out_channels, groups)
        if padding_mode not in PADDING_MODES:
            raise ConfigError(f"Conv2d: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
                              f"got {padding_mode!r}")
        kernel_size = as_pair(kernel_size)
        super().__init__((out_channels, in_channels // groups) + kernel_size, out_channels, bias, dtype)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = kernel_size, as_pair(stride), as_pair(dilation)
        self.padding = padding if isinstance(padding, str) else as_pair(padding)
        self.padding_mode = padding_mode
        # Checked here so a bad padding fails when the layer is made; kept as F.pad's flat
        # (left, right, top, bottom) for the padding modes that pad before convolving.
        (ph, pw), (extra_h, extra_w) = resolve_padding(self.padding, kernel_size, self.dilation, self.stride)
        self.pad_amounts = (pw, pw + extra_w, ph, ph + extra_h)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return conv2d(pad(x, self.pad_amounts, self.padding_mode), self.weight, self.bias, self.stride, 0,
                      self.dilation, self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (N, C_in, H, W) → (N, C_out, (H − 1)s − 2p + d(k − 1) + output_padding + 1, …).

    Parameters: ``weight`` (C_in, C_out/groups, kh, kw) — note the order, as in PyTorch — and ``bias``.
    Default init as PyTorch: U(−1/√fan_in, 1/√fan_in) with fan_in = C_out/groups·kh·kw.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, dtype=None):
        _check_channels("ConvTranspose2d", in_channels, out_channels, groups)
        kernel_size = as_pair(kernel_size)
        super().__init__((in_channels, out_channels // groups) + kernel_size, out_channels, bias, dtype)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding = kernel_size, as_pair(stride), as_pair(padding)
        self.output_padding, self.dilation = as_pair(output_padding), as_pair(dilation)

    def forward(self, x):
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")
