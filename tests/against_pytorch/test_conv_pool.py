"""Convolution, padding and pooling against PyTorch: outputs and input/weight gradients, float64,
over a grid of shapes, kernels, strides, paddings, dilations, padding modes, ceil_mode and
count_include_pad.

PyTorch is not a dependency; these tests run only where it is installed and are skipped elsewhere.
"""
import itertools

import numpy as np
import pytest

import gradwork.nn.functional as F
from gradwork import nn
from gradwork.ops.padding import pad

torch = pytest.importorskip("torch")
from tests.against_pytorch.pairs import backward_both, both  # noqa: E402

TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


# --- pad ----------------------------------------------------------------------------------------

PAD_CASES = [  # (shape, pad): the crops are those where PyTorch's result is well defined in every mode
    ((2, 3, 6), (1, 2)), ((3, 6), (5, 0)), ((2, 3, 6), (-2, 3)), ((2, 3, 6), (2, -1)),
    ((2, 4, 5), (1, 2, 3, 0)), ((2, 3, 4, 5), (3, 1, -1, 2)), ((2, 3, 4, 5), (4, 4, 3, 3)),
    ((2, 2, 3, 4, 3), (1, 2, 2, 1, 0, 2)), ((2, 3, 4, 3), (2, 1, 1, 2, 1, 0)),
]


@pytest.mark.parametrize("shape, amounts", PAD_CASES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_pytorch(mode, shape, amounts):
    x, xt = both(np.random.default_rng(0).standard_normal(shape))
    y, yt = pad(x, amounts, mode), TF.pad(xt, amounts, mode=mode)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 1)
    assert_close(x.grad, xt.grad, "input gradient")


def test_constant_pad_with_a_value_and_crops_on_many_dimensions_matches_pytorch():
    x, xt = both(np.random.default_rng(2).standard_normal((3, 2, 4, 5)))
    amounts = (1, -2, 0, 2, -1, 1, 2, 0)
    y, yt = pad(x, amounts, value=-1.5), TF.pad(xt, amounts, value=-1.5)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 3)
    assert_close(x.grad, xt.grad, "input gradient")


# --- conv2d -------------------------------------------------------------------------------------

def conv_cases():
    """(shape, kernel, stride, padding, dilation, groups) that PyTorch accepts."""
    cases = []
    for shape, kernel, stride, padding, dilation in itertools.product(
            [(2, 4, 7, 6), (1, 2, 5, 8)], [(1, 1), (2, 2), (3, 3), (4, 3)], [1, 2, (2, 1)],
            [0, 1, (2, 1), "same", "valid"], [1, 2, (1, 2)]):
        if padding == "same" and stride != 1:
            continue
        pads = (0, 0) if isinstance(padding, str) else (padding, padding) if isinstance(padding, int) else padding
        dils = (dilation, dilation) if isinstance(dilation, int) else dilation
        if padding != "same" and any(n + 2 * p - d * (k - 1) < 1
                                     for n, p, d, k in zip(shape[2:], pads, dils, kernel)):
            continue  # too small for the kernel
        cases.append((shape, kernel, stride, padding, dilation, 2 if shape[1] == 4 and kernel == (3, 3) else 1))
    return cases


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note that it copies
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, groups", conv_cases())
def test_conv2d_matches_pytorch(shape, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(4)
    x, xt = both(rng.standard_normal(shape))
    w, wt = both(rng.standard_normal((6, shape[1] // groups) + kernel))
    b, bt = both(rng.standard_normal(6))
    y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    yt = TF.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 5)
    for name, ours, theirs in (("input", x, xt), ("weight", w, wt), ("bias", b, bt)):
        assert_close(ours.grad, theirs.grad, f"{name} gradient")


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("kernel, stride, padding, dilation", [
    (3, 1, 1, 1), (3, 2, 1, 1), ((2, 4), 1, "same", 1), (2, 1, "same", 2), (3, 1, (2, 1), (1, 2)),
    ((3, 2), 2, (1, 2), 1), (4, 1, "same", 1), (3, 1, "valid", 1)])
def test_conv2d_layer_padding_modes_match_pytorch(padding_mode, kernel, stride, padding, dilation):
    reference = torch.nn.Conv2d(4, 6, kernel, stride, padding, dilation, groups=2, padding_mode=padding_mode).double()
    layer = nn.Conv2d(4, 6, kernel, stride, padding, dilation, groups=2, padding_mode=padding_mode).double()
    layer.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    x, xt = both(np.random.default_rng(6).standard_normal((2, 4, 7, 6)))
    y, yt = layer(x), reference(xt)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 7)
    assert_close(x.grad, xt.grad, "input gradient")
    assert_close(layer.weight.grad, reference.weight.grad, "weight gradient")
    assert_close(layer.bias.grad, reference.bias.grad, "bias gradient")


# --- pooling ------------------------------------------------------------------------------------

def pool_cases(dilations):
    """(size, kernel, stride, padding, dilation, ceil_mode) that PyTorch accepts: padding at most half
    the kernel and at least one window."""
    cases = []
    for size, kernel, stride, padding, dilation, ceil_mode in itertools.product(
            [(5, 5), (6, 7), (2, 3)], [1, 2, 3, (3, 2)], [None, 1, 2, 3, (2, 1)], [0, 1, (1, 0)], dilations,
            [False, True]):
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        s = k if stride is None else (stride, stride) if isinstance(stride, int) else stride
        p = (padding, padding) if isinstance(padding, int) else padding
        if any(pi > ki // 2 for pi, ki in zip(p, k)):
            continue
        span = [n + 2 * pi - dilation * (ki - 1) - 1 for n, pi, ki in zip(size, p, k)]
        if any(sp + (si - 1 if ceil_mode else 0) < 0 for sp, si in zip(span, s)):
            continue  # no window fits
        cases.append((size, kernel, stride, padding, dilation, ceil_mode))
    return cases


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, ceil_mode", pool_cases([1, 2]))
def test_max_pool2d_matches_pytorch(size, kernel, stride, padding, dilation, ceil_mode):
    x, xt = both(np.random.default_rng(8).standard_normal((2, 3) + size))  # continuous values: no ties
    y = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    yt = TF.max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 9)
    assert_close(x.grad, xt.grad, "input gradient")


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("size, kernel, stride, padding, dilation, ceil_mode", pool_cases([1]))
def test_avg_pool2d_matches_pytorch(size, kernel, stride, padding, dilation, ceil_mode, count_include_pad):
    x, xt = both(np.random.default_rng(10).standard_normal((2, 3) + size))
    y = F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    yt = TF.avg_pool2d(xt, kernel, stride, padding, ceil_mode, count_include_pad)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 11)
    assert_close(x.grad, xt.grad, "input gradient")


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("divisor_override", [1, 3, 7])
def test_avg_pool2d_divisor_override_matches_pytorch(divisor_override, ceil_mode):
    x, xt = both(np.random.default_rng(12).standard_normal((2, 3, 7, 6)))
    y = F.avg_pool2d(x, 3, 2, 1, ceil_mode, False, divisor_override)
    yt = TF.avg_pool2d(xt, 3, 2, 1, ceil_mode, False, divisor_override)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 13)
    assert_close(x.grad, xt.grad, "input gradient")


def test_pool_layers_match_pytorch_with_ceil_mode_and_count_include_pad():
    x, xt = both(np.random.default_rng(14).standard_normal((2, 3, 9, 8)))
    pairs = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
              torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False))]
    for ours, theirs in pairs:
        assert_close(ours(x).data, theirs(xt), type(ours).__name__)


@pytest.mark.parametrize("output_size", [(2, None), (None, 3), (None, None), (4, None), 3])
def test_adaptive_avg_pool2d_with_none_matches_pytorch(output_size):
    x, xt = both(np.random.default_rng(15).standard_normal((2, 3, 7, 5)))
    y, yt = nn.AdaptiveAvgPool2d(output_size)(x), torch.nn.AdaptiveAvgPool2d(output_size)(xt)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 16)
    assert_close(x.grad, xt.grad, "input gradient")
