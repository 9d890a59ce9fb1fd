"""Every fast kernel gives the reference op's numbers: outputs and every gradient, in float64 (to
1e-10) and float32 (to float32 rounding), over many shapes, strides, paddings, dilations, groups and
both memory layouts of the input (channels-first as data arrives, channels-last as layers leave it)."""
import itertools
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.kernels import blas
from gradwork.ops.shape import permute, reshape, split
from tests.helpers import recording_axpy

R = np.random.default_rng(3)
LAYOUTS = ("channels-first", "channels-last")
DTYPES = (np.float64, np.float32)


def stored(array, layout, dtype):
    data = np.asarray(array, dtype=dtype)
    if layout == "channels-last":
        data = np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return data


def run(path, fn, arrays, seed):
    """fn's output and the gradients of every input, on one kernel path; the output's gradient is drawn
    from a generator seeded with ``seed``, so both paths get the same one."""
    with gw.kernels.use(path):
        leaves = [gw.tensor(a, requires_grad=True) for a in arrays]
        for leaf, a in zip(leaves, arrays):
            leaf.data = a.copy(order="K")  # keep the memory layout (gw.tensor copies in C order)
        out = fn(*leaves)
        out.backward(gw.tensor(np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)))
        return out.data, [leaf.grad for leaf in leaves]


def assert_same(fn, arrays, dtype):
    seed = int(R.integers(2**31))
    fast_out, fast_grads = run("fast", fn, arrays, seed)
    ref_out, ref_grads = run("reference", fn, arrays, seed)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(fast_out, ref_out, **tol)
    for i, (a, b) in enumerate(zip(fast_grads, ref_grads)):
        np.testing.assert_allclose(a, b, **tol, err_msg=f"gradient of input {i}")


CONV_CASES = [  # (N, C, H, W, O, kh, kw, stride, padding, dilation, groups)
    (2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1),
    (2, 1, 9, 8, 3, 3, 3, 1, 1, 1, 1),       # one channel: the transposed window matrix
    (1, 1, 8, 8, 2, 5, 5, 2, 2, 1, 1),
    (1, 2, 8, 9, 3, 3, 2, (2, 1), 0, 1, 1),
    (2, 4, 9, 7, 6, 3, 3, 2, 1, 2, 2),       # dilated, grouped
    (1, 6, 6, 6, 6, 3, 3, 1, 1, 1, 6),       # depthwise (kernels/conv_depthwise.py's compiled loops)
    (2, 5, 9, 8, 5, 3, 3, 2, 1, 1, 5),       # depthwise, stride 2
    (2, 4, 7, 9, 4, 5, 5, 1, 2, 2, 4),       # depthwise, dilated
    (1, 3, 6, 7, 3, 3, 2, (2, 1), (1, 0), 1, 3),  # depthwise, non-square everything
    (2, 8, 7, 7, 8, 7, 7, 1, 3, 1, 8),       # depthwise 7×7 (ConvNeXt's)
    (1, 4, 5, 5, 8, 3, 3, 1, 1, 1, 4),       # two outputs per group: the window path
    (1, 3, 6, 6, 3, 5, 5, 1, 2, 1, 3),
    (2, 1, 5, 5, 2, 4, 4, 3, 1, 1, 1),
    (3, 2, 5, 6, 2, 1, 1, 1, 0, 1, 1),       # 1×1
    (2, 8, 12, 12, 16, 3, 3, 2, 1, 1, 1),
    (2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1),       # stride 1, three channels: the window matrix (conv_shifted.MIN_CHANNELS)
    # stride 1, one group, five channels and more: the shifted products (kernels/conv_shifted.py)
    (2, 5, 8, 7, 5, 3, 3, 1, 1, 2, 1),       # dilated
    (2, 6, 6, 9, 4, 3, 2, 1, (2, 0), 1, 1),  # non-square kernel, padding on one axis only
    (3, 5, 7, 7, 6, 5, 5, 1, 3, 1, 1),       # padding wider than the kernel's reach
    (1, 16, 9, 9, 16, 3, 3, 1, 0, 1, 1),     # no padding: P is the input itself when stored channels-last
    (2, 24, 5, 6, 24, 3, 3, 1, 1, 1, 1),     # wide (C·O > NARROW_CHANNELS): the weight gradient's window matrix
    # strided, narrow, kernel > 1 × 1: shifted products over the input's phases (kernels/conv_phases.py)
    (2, 6, 9, 7, 5, 3, 3, 2, 1, 1, 1),       # odd sizes: phases of unequal lengths
    (1, 5, 11, 10, 4, 3, 2, (2, 1), (1, 0), 1, 1),  # a stride on one axis only
    (2, 7, 13, 12, 3, 3, 3, 3, 2, 2, 1),     # stride 3, dilated
    (2, 5, 9, 9, 4, 5, 5, 2, 2, 1, 1),
    (1, 6, 3, 3, 2, 3, 3, 2, 0, 1, 1),       # one output pixel
    (2, 5, 10, 11, 3, 2, 2, (2, 3), (1, 2), (2, 1), 1),
    (3, 16, 8, 8, 32, 1, 1, 2, 0, 1, 1),     # 1 × 1, stride 2 (a ResNet shortcut): the window path
    (2, 6, 5, 4, 7, 1, 1, 1, 0, 1, 1),       # 1×1: one product each way, on the input's and gradient's memory
    (2, 6, 4, 5, 3, 1, 1, 1, 1, 1, 1),       # 1×1 with padding: outputs of the bias alone around the edge
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d(case, layout, dtype, kernel_version):  # (depthwise layers run compiled loops)
    n, c, h, w, o, kh, kw, s, p, d, g = case
    arrays = [stored(R.standard_normal((n, c, h, w)), layout, dtype), R.standard_normal((o, c // g, kh, kw)).astype(dtype),
              R.standard_normal(o).astype(dtype)]
    assert_same(lambda x, wt, b: F.conv2d(x, wt, b, s, p, d, g), arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", [case for case in CONV_CASES if min(case[2:4]) >= 5])
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN is the point
def test_conv2d_puts_nan_and_inf_where_the_reference_does(case, layout, dtype, kernel_version):
    """One NaN and one ∞ pixel (a weight or gradient stays finite): every sum that reads them is NaN or ±∞ on
    both paths — including the windows that the shifted products compute and throw away, which must not
    leak into real outputs."""
    n, c, h, w, o, kh, kw, s, p, d, g = case
    x = R.standard_normal((n, c, h, w))
    x[0, 0, 1, 1], x[-1, -1, h - 2, w - 1] = np.nan, np.inf
    arrays = [stored(x, layout, dtype), R.standard_normal((o, c // g, kh, kw)).astype(dtype),
              R.standard_normal(o).astype(dtype)]
    assert_same(lambda t, wt, b: F.conv2d(t, wt, b, s, p, d, g), arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 1, 2), (3, 1, 2, 1, 1), (1, 1, 0, 2, 1), (2, 0, 1, 3, 1),
    # output_padding ≥ stride (allowed below the dilation): one more row and column of windows than inputs
    (1, 0, 1, 2, 1), ((1, 2), (1, 0), (1, 2), 3, 2), (2, 1, 2, 3, 1)])
def test_conv_transpose2d(stride, padding, output_padding, dilation, groups, layout, dtype):
    arrays = [stored(R.standard_normal((2, 4, 4, 3)), layout, dtype),
              R.standard_normal((4, 6 // groups, 3, 3)).astype(dtype), R.standard_normal(6).astype(dtype)]
    assert_same(lambda x, wt, b: F.conv_transpose2d(x, wt, b, stride, padding, output_padding, groups, dilation),
                arrays, dtype)


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float32, np.float64), np.float32),  # a float64 bias is added in place: the product's dtype
    ((np.float32, np.float64, np.float64), np.float64),  # a float64 weight makes a float64 product
    ((np.float64, np.float32, np.float32), np.float64)])
def test_conv_transpose2d_of_mixed_dtypes_gives_the_references_dtype(dtypes, expected):
    arrays = [R.standard_normal(shape).astype(dtype) for shape, dtype in zip([(2, 4, 3, 3), (4, 3, 2, 2), (3,)], dtypes)]
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            results[path] = F.conv_transpose2d(*[gw.tensor(a) for a in arrays], stride=2, padding=1).data
    assert results["fast"].dtype == results["reference"].dtype == expected
    np.testing.assert_allclose(results["fast"], results["reference"], rtol=2e-6, atol=2e-6)


POOL_CASES = [  # (kernel, stride, padding, dilation, ceil_mode)
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 1, 1, 1, False), (2, 2, 0, 1, True), (3, 2, 1, 1, True),
    ((3, 2), (2, 1), (1, 0), 1, False), (3, 2, 0, 2, False), (2, 3, 1, 1, True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d(case, layout, dtype, kernel_version):
    k, s, p, d, ceil = case
    x = R.permutation(2 * 3 * 9 * 8).reshape(2, 3, 9, 8) / 10.0  # distinct values: the arg-max is unique
    assert_same(lambda t: F.max_pool2d(t, k, s, p, d, ceil), [stored(x, layout, dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kernel, size", [(2, (8, 8)), (2, (9, 7)), ((3, 2), (9, 8)), (3, (6, 9)), ((2, 4), (4, 8)),
                                          (1, (3, 4))])
def test_max_pool2d_non_overlapping_windows_with_ties(kernel, size, layout, dtype, kernel_version):
    """The paths for stride = kernel (the compiled loops, every layout copied into channels-last first, and
    without them NumPy's two stages), on values
    like a ReLU's output (many exact ties, most at 0), including sizes that leave rows or columns past the
    last window (never read, gradient 0)."""
    x = np.maximum(R.integers(-3, 3, (2, 3) + size), 0).astype(float)
    assert_same(lambda t: F.max_pool2d(t, kernel), [stored(x, layout, dtype)], dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_pool2d_ties_go_to_the_same_position_on_both_paths(layout, kernel_version):
    x = np.zeros((1, 2, 4, 4))
    x[0, 1, :2, :2] = 5.0
    assert_same(lambda t: F.max_pool2d(t, 2), [stored(x, layout, np.float64)], np.float64)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", [(2, None, 0, False), (3, 2, 1, False), (3, 3, 1, True)])
def test_max_pool2d_of_integers_pads_with_the_smallest_integer(kernel, stride, padding, ceil_mode, dtype):
    """Integer images pool as in PyTorch: the padding (−∞ for floats) is the dtype's smallest value, so it
    never wins (−∞ itself cannot be stored in an integer array)."""
    x = (np.arange(30) * 7 % 31).reshape(1, 1, 5, 6).astype(dtype)
    expected = {  # PyTorch's F.max_pool2d of the same int64 image
        (2, None, 0, False): [[18, 25, 28], [29, 23, 30]],
        (3, 2, 1, False): [[18, 25, 28], [29, 29, 30], [20, 27, 30]],
        (3, 3, 1, True): [[18, 28, 15], [29, 30, 26]]}[(kernel, stride, padding, ceil_mode)]
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            out = F.max_pool2d(gw.tensor(x), kernel, stride, padding, ceil_mode=ceil_mode).data
        assert out.dtype == dtype
        assert out[0, 0].tolist() == expected


def test_max_pool2d_of_booleans_is_any_and_pads_with_false():
    x = np.zeros((1, 1, 4, 4), bool)
    x[0, 0, 1, 1] = True
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            padded = F.max_pool2d(gw.tensor(x), 3, 1, 1).data
            hanging = F.max_pool2d(gw.tensor(x), 3, 2, 0, ceil_mode=True).data  # a window over the end
        assert padded.dtype == bool
        assert padded[0, 0].astype(int).tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]
        assert hanging[0, 0].astype(int).tolist() == [[1, 0], [0, 0]]


def test_float16_avg_pool2d_is_the_references():
    """float16 takes the reference, whose sums do not overflow where a float16 running sum would
    (40000 + 40000 is ∞ in float16; the reference's mean of the window is 0)."""
    x = np.array([[[[40000, 40000], [-40000, -40000]]]], dtype=np.float16)
    outputs = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            outputs[path] = F.avg_pool2d(gw.tensor(x), 2).data
    assert outputs["fast"].dtype == np.float16
    np.testing.assert_array_equal(outputs["fast"], outputs["reference"])
    assert outputs["fast"].ravel().tolist() == [0.0]


def test_avg_pool2d_of_integers_is_the_references():
    """Integer input takes the reference's window sums (an integer output, as the reference gives)."""
    x = np.arange(2 * 3 * 6 * 5).reshape(2, 3, 6, 5)
    outputs = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            outputs[path] = F.avg_pool2d(gw.tensor(x), 3, 2, 1).data
    assert outputs["fast"].dtype == outputs["reference"].dtype
    np.testing.assert_array_equal(outputs["fast"], outputs["reference"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case, count_include_pad, divisor_override", [
    (case, include, override) for case, include, override in itertools.product(
        [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 3, 1, 1, True), (3, 1, 1, 1, False),
         ((3, 2), (3, 2), 1, 1, True), ((2, 4), None, 0, 1, False), ((3, 1), 1, (1, 0), 1, False)], (True, False),
        (None, 5))])
def test_avg_pool2d(case, count_include_pad, divisor_override, layout, dtype, kernel_version):
    k, s, p, _, ceil = case
    x = stored(R.standard_normal((2, 3, 9, 8)), layout, dtype)
    assert_same(lambda t: F.avg_pool2d(t, k, s, p, ceil, count_include_pad, divisor_override), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 3, 5), (8, 16, 7, 7)])
def test_batch_norm_in_training(shape, layout, dtype, kernel_version):
    x = R.standard_normal(shape) * 3 + 1
    x = stored(x, layout, dtype) if len(shape) == 4 else x.astype(dtype)
    c = shape[1]
    stats = {}

    def bn(t, w, b):
        running = (np.zeros(c, dtype), np.ones(c, dtype))
        out = F.batch_norm(t, *running, w, b, training=True)
        stats[gw.kernels.current()] = running
        return out

    assert_same(bn, [x, R.standard_normal(c).astype(dtype), R.standard_normal(c).astype(dtype)], dtype)
    # float32: the compiled loops sum in float64, the NumPy kernel in float32 — a batch mean near 0 differs
    # by more than 1e-6 of itself, so also within a float32 ulp of the statistics' scale (~0.1)
    tol = dict(rtol=1e-6, atol=2e-8) if dtype == np.float32 else dict(rtol=1e-12)
    for fast, ref in zip(stats["fast"], stats["reference"]):
        np.testing.assert_allclose(fast, ref, **tol)


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_of_an_empty_batch(shape, training):
    """Nothing to normalise: an empty output, gradients of γ and β that are sums over nothing (0), running
    statistics untouched, no warning — as PyTorch, which also counts the batch in ``num_batches_tracked``."""
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            layer = (gw.nn.BatchNorm1d if len(shape) == 2 else gw.nn.BatchNorm2d)(3)
            layer.train(training)
            x = gw.tensor(np.zeros(shape, np.float32), requires_grad=True)
            out = layer(x)
            out.sum().backward()
            functional = F.batch_norm(gw.tensor(np.zeros(shape, np.float32)), None, None, training=training)
        assert out.shape == functional.shape == shape and x.grad.shape == shape
        assert layer.weight.grad.tolist() == layer.bias.grad.tolist() == [0.0, 0.0, 0.0]
        assert layer.running_mean.data.tolist() == [0.0] * 3 and layer.running_var.data.tolist() == [1.0] * 3
        assert int(layer.num_batches_tracked.data) == int(training)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 3, 5), (8, 16, 7, 7)])
def test_batch_norm_in_evaluation(shape, layout, dtype, kernel_version):
    """Running statistics given, in float32 and float64 (a model may hold them in either); x, γ, β take
    gradients; on the fast path one op runs."""
    x = R.standard_normal(shape) * 3 + 1
    x = stored(x, layout, dtype) if len(shape) == 4 else x.astype(dtype)
    c = shape[1]
    creators = set()
    for stats_dtype in (np.float32, np.float64):
        running = (R.standard_normal(c).astype(stats_dtype), (R.random(c) + 0.5).astype(stats_dtype))

        def bn(t, w, b):
            out = F.batch_norm(t, *running, w, b, training=False)
            creators.add((gw.kernels.current(), type(out.creator).__name__))
            return out

        assert_same(bn, [x, R.standard_normal(c).astype(dtype), R.standard_normal(c).astype(dtype)], dtype)
    assert creators == {("fast", "FrozenBatchNorm"), ("reference", "Add")}


def test_the_switch_selects_the_path_and_the_block_restores_it():
    x, w = gw.randn(1, 1, 5, 5), gw.randn(2, 1, 3, 3)
    x.requires_grad_()
    assert gw.kernels.current() == "fast"
    assert type(F.conv2d(x, w).creator).__name__ == "FastConv2d"
    with gw.kernels.use("reference"):
        assert gw.kernels.current() == "reference"
        assert type(F.conv2d(x, w).creator).__name__ == "Conv2dFunction"
    assert gw.kernels.current() == "fast"
    with pytest.raises(ValueError, match="'fast', 'reference'"):
        gw.kernels.use("turbo")


def test_a_whole_network_trains_step_by_step_the_same_on_both_paths():
    """A CNN with BatchNorm, max- and average pooling: same loss and same weights after three SGD steps."""
    from gradwork import nn, optim

    def train_steps(path):
        gw.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True),
                              nn.Flatten(), nn.Linear(6, 3)).double()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = np.random.default_rng(1).standard_normal((8, 1, 8, 8)), np.arange(8) % 3
        losses = []
        with gw.kernels.use(path):
            for _ in range(3):
                opt.zero_grad()
                loss = F.cross_entropy(model(gw.tensor(x)), y)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return losses, [p.data for p in model.parameters()]

    (fast_losses, fast_weights), (ref_losses, ref_weights) = train_steps("fast"), train_steps("reference")
    np.testing.assert_allclose(fast_losses, ref_losses, rtol=1e-12)
    for a, b in zip(fast_weights, ref_weights):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, I, H", [(5, 3, 4, 6), (1, 2, 3, 2), (12, 4, 7, 5), (3, 1, 2, 1)])
def test_lstm_layer(T, B, I, H, bias, dtype):
    arrays = [R.standard_normal((T, B, I)), R.standard_normal((B, H)) * 0.5, R.standard_normal((B, H)) * 0.5,
              R.standard_normal((4 * H, I)) * 0.5, R.standard_normal((4 * H, H)) * 0.5]
    if bias:
        arrays += [R.standard_normal(4 * H) * 0.3, R.standard_normal(4 * H) * 0.3]
    arrays = [a.astype(dtype) for a in arrays]
    weights = [R.standard_normal((T, B, H)), R.standard_normal((B, H)), R.standard_normal((B, H))]

    def layer(*inputs):
        out, h, c = F.lstm_layer(*inputs)
        return ((out * gw.tensor(weights[0].astype(dtype))).sum(axis=0) + h * gw.tensor(weights[1].astype(dtype))
                + c * gw.tensor(weights[2].astype(dtype)))

    assert_same(layer, arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, I, H", [(5, 3, 4, 6), (1, 2, 3, 2), (12, 4, 7, 5), (3, 1, 2, 1)])
def test_gru_layer(T, B, I, H, bias, dtype):
    arrays = [R.standard_normal((T, B, I)), R.standard_normal((B, H)) * 0.5,
              R.standard_normal((3 * H, I)) * 0.5, R.standard_normal((3 * H, H)) * 0.5]
    if bias:
        arrays += [R.standard_normal(3 * H) * 0.3, R.standard_normal(3 * H) * 0.3]
    arrays = [a.astype(dtype) for a in arrays]
    weights = [R.standard_normal((T, B, H)), R.standard_normal((B, H))]

    def layer(*inputs):
        out, h = F.gru_layer(*inputs)
        return (out * gw.tensor(weights[0].astype(dtype))).sum(axis=0) + h * gw.tensor(weights[1].astype(dtype))

    assert_same(layer, arrays, dtype)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("shape", [(4, 0, 3), (0, 2, 3)])
@pytest.mark.parametrize("path", gw.kernels.PATHS)
def test_recurrent_layers_take_an_empty_batch_or_sequence(layer, shape, path):
    with gw.kernels.use(path):
        gw.manual_seed(0)
        module = getattr(gw.nn, layer)(3, 5)
        x = gw.tensor(np.zeros(shape, np.float32), requires_grad=True)
        out, state = module(x)
        last = state[0] if isinstance(state, tuple) else state
        (out.sum() + last.sum()).backward()
    assert out.shape == shape[:2] + (5,) and x.grad.shape == shape
    assert not module.weight_hh_l0.grad.any()


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_recurrent_layers_of_mixed_dtypes_run_the_references_steps(layer):
    """A float64 layer fed float32 data: the gates in float64 as the reference computes them (the kernels'
    steps would round the weights to the state's float32)."""
    x = R.standard_normal((4, 2, 3)).astype(np.float32)
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            gw.manual_seed(0)
            module = getattr(gw.nn, layer)(3, 5, dtype=np.float64)
            out, _ = module(gw.tensor(x))
            out.sum().backward()
            results[path] = (out.data, *[p.grad for p in module.parameters()])
    for fast, reference in zip(results["fast"], results["reference"]):
        assert fast.dtype == reference.dtype
        np.testing.assert_array_equal(fast, reference)


def test_recurrent_layers_run_their_kernels_on_the_fast_path():
    """The equality tests above would pass with the reference on both sides: check which op ran."""
    x, h = gw.tensor(R.standard_normal((3, 2, 4))), gw.tensor(R.standard_normal((2, 5)))
    lstm_weights = [gw.tensor(R.standard_normal((20, 4))), gw.tensor(R.standard_normal((20, 5)))]
    gru_weights = [gw.tensor(R.standard_normal((15, 4))), gw.tensor(R.standard_normal((15, 5)))]
    for path, lstm_class, gru_class in (("fast", "FastLSTMLayer", "FastGRULayer"),
                                        ("reference", "LSTMLayer", "GRULayer")):
        with gw.kernels.use(path), gw.enable_grad():
            leaves = [gw.tensor(w.data, requires_grad=True) for w in lstm_weights + gru_weights]
            assert type(F.lstm_layer(x, h, h, *leaves[:2])[0].creator).__name__ == lstm_class
            assert type(F.gru_layer(x, h, *leaves[2:])[0].creator).__name__ == gru_class


@pytest.mark.parametrize("dtype", DTYPES)
def test_recurrent_layers_without_blas_and_from_a_batch_first_input(dtype, monkeypatch):
    """The fast LSTM and GRU with NumPy's products instead of BLAS's in-place ones (another BLAS, a GPU
    array), on an input that is a transposed view (an ``LSTM(batch_first=True)`` hands the op one) and an
    initial state stored transposed."""
    T, B, I, H = 6, 3, 4, 5
    x = np.ascontiguousarray(R.standard_normal((B, T, I))).transpose(1, 0, 2).astype(dtype, copy=False)
    state = np.asfortranarray(R.standard_normal((B, H))).astype(dtype, order="K")
    lstm_arrays = [x, state, R.standard_normal((B, H)).astype(dtype), *(
        (R.standard_normal(shape) * 0.5).astype(dtype) for shape in ((4 * H, I), (4 * H, H), (4 * H,), (4 * H,)))]
    gru_arrays = [x, state, *(
        (R.standard_normal(shape) * 0.5).astype(dtype) for shape in ((3 * H, I), (3 * H, H), (3 * H,), (3 * H,)))]
    step_weights = R.standard_normal((T, B, H)).astype(dtype)

    def lstm(*inputs):
        out, h, c = F.lstm_layer(*inputs)
        return (out * gw.tensor(step_weights)).sum(axis=0) + h * 3 - c

    def gru(*inputs):
        out, h = F.gru_layer(*inputs)
        return (out * gw.tensor(step_weights)).sum(axis=0) - h

    for with_blas in (True, False):
        if not with_blas:
            monkeypatch.setattr(blas, "available", lambda *arrays: False)
        assert_same(lstm, lstm_arrays, dtype)
        assert_same(gru, gru_arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "bias", "none"])
@pytest.mark.parametrize("shape, normalized", [((2, 5, 8), (8,)), ((3, 4, 5), (4, 5)), ((6, 7), (7,)),
                                               ((4, 3, 6), "transposed")])
def test_layer_norm(shape, normalized, affine, dtype, kernel_version):
    """The fused LayerNorm (kernels/normalization.py; its compiled loops, and its NumPy version) against
    Standardize → ·γ → +β."""
    transposed = normalized == "transposed"
    normalized = shape[-1:] if transposed else normalized
    arrays = [R.standard_normal(shape) * 3 + 1]
    if "weight" in affine:
        arrays.append(R.standard_normal(normalized))
    if "bias" in affine:
        arrays.append(R.standard_normal(normalized))
    arrays = [a.astype(dtype) for a in arrays]
    if transposed:  # stored in Fortran order: the rows are not contiguous
        arrays[0] = np.asfortranarray(arrays[0])

    def norm(x, *params):
        weight = params[0] if "weight" in affine else None
        bias = params[-1] if "bias" in affine else None
        return F.layer_norm(x, normalized, weight, bias)

    assert_same(norm, arrays, dtype)


def test_layer_norm_with_other_parameter_shapes_or_dtypes_takes_the_reference_path():
    """γ or β of another shape than normalized_shape (broadcast by the reference), or integer input."""
    x = R.standard_normal((2, 3, 4))
    for normalized, weight in (((3, 4), R.standard_normal(4)), ((4,), R.standard_normal((1, 4)))):
        (fast, fast_grads), (ref, ref_grads) = both_paths(
            lambda x, w: F.layer_norm(x, normalized, w), x, weight, grad_of=[0, 1])
        np.testing.assert_allclose(fast, ref, rtol=1e-12)
        for a, b in zip(fast_grads, ref_grads):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    (fast, _), (ref, _) = both_paths(lambda x: F.layer_norm(x, 3), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(fast, ref)


def test_fused_layer_norm_refuses_a_weight_changed_after_forward():
    x = gw.tensor(R.standard_normal((2, 4)), requires_grad=True)
    weight = gw.tensor(np.ones(4), requires_grad=True)
    y = F.layer_norm(x, 4, weight)
    assert y._creator.name == "layer_norm"
    with gw.no_grad():
        weight.mul_(3)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()


def test_fused_layer_norm_runs_on_the_fast_path():
    x = gw.tensor(R.standard_normal((2, 3, 4)), requires_grad=True)
    layer = gw.nn.LayerNorm(4).double()
    assert layer(x)._creator.name == "layer_norm"
    with gw.kernels.use("reference"):
        assert layer(x)._creator.name == "add"


ATTENTION_CASES = {  # name: (query, key, value shapes, mask maker or None, causal)
    "heads": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6), None, False),
    "no leading axes": ((5, 4), (7, 4), (7, 3), None, False),
    "causal": ((2, 2, 6, 4), (2, 2, 6, 4), (2, 2, 6, 4), None, True),
    "boolean mask": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), lambda: R.random((5, 7)) < 0.7, False),
    "padding mask and causal": ((2, 2, 6, 4), (2, 2, 6, 4), (2, 2, 6, 4),
                                lambda: np.arange(6)[None, None, None, :] < np.array([4, 6])[:, None, None, None],
                                True),
    "float mask per head": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), lambda: R.standard_normal((1, 3, 5, 7)), False),
    # row 2 of every head 200 below the rest: shifted by the head's maximum it would underflow, so the
    # fused softmax computes it again with its own maximum
    "rows far below the head's maximum": ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4),
                                          lambda: np.where(np.arange(5)[:, None] == 2, -200.0, 0.0) + np.zeros(7),
                                          False),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_weights", [False, True])
@pytest.mark.parametrize("case", ATTENTION_CASES)
def test_attention(case, with_weights, dtype):
    """The fused attention (kernels/attention.py) against the composition of ops, with the weights as a
    second output (their gradient flows back too) or not."""
    q_shape, k_shape, v_shape, make_mask, causal = ATTENTION_CASES[case]
    mask = make_mask() if make_mask else None
    arrays = [R.standard_normal(shape).astype(dtype) for shape in (q_shape, k_shape, v_shape)]

    def attend(q, k, v):
        result = F.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, return_weights=with_weights)
        return gw.cat(list(result), axis=-1) if with_weights else result

    assert_same(attend, arrays, dtype)


def test_fused_attention_runs_on_the_fast_path_only_where_it_applies():
    q = gw.tensor(R.standard_normal((2, 3, 5, 4)), requires_grad=True)
    fused = F.scaled_dot_product_attention(q, q, q)
    assert fused._creator.name == "scaled_dot_product_attention"
    with gw.kernels.use("reference"):
        assert F.scaled_dot_product_attention(q, q, q)._creator.name == "mat_mul"
    assert F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)._creator.name == "mat_mul"  # dropout: reference
    shared_key = gw.tensor(R.standard_normal((2, 1, 5, 4)))  # one key for every head: broadcast, reference
    assert F.scaled_dot_product_attention(q, shared_key, shared_key)._creator.name == "mat_mul"
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5, training=False)  # eval: no dropout, fused
    assert out._creator.name == "scaled_dot_product_attention"


def both_paths(fn, *arrays, grad_of=None):
    """fn's output on each path, and the gradients of the inputs listed in ``grad_of`` (indices)."""
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            tensors = [gw.tensor(a, requires_grad=grad_of is not None and i in grad_of) for i, a in enumerate(arrays)]
            out = fn(*tensors)
            grads = []
            if grad_of is not None:
                out.backward(gw.tensor(np.ones(out.shape, out.dtype)))
                grads = [tensors[i].grad for i in grad_of]
            results[path] = (out.numpy(), grads)
    return results["fast"], results["reference"]


@pytest.mark.parametrize("dtype", [np.float16, np.int64])
def test_attention_in_other_dtypes_takes_the_reference_path(dtype):
    """float16 (e⁻²⁰ underflows there) and integer inputs are not fused; integer inputs give float scores
    and a float mask is not truncated."""
    arrays = [(R.standard_normal((2, 3, 4)) * 3).astype(dtype) for _ in range(3)]
    mask = np.array([[0.5, -0.7, 0.0]])

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask=mask, causal=True)

    (fast, _), (reference, _) = both_paths(attend, *arrays)
    np.testing.assert_array_equal(fast, reference)
    assert fast.dtype == (np.float16 if dtype == np.float16 else np.float64)


def test_fused_attention_with_some_inputs_not_needing_gradients():
    arrays = [R.standard_normal((2, 3, 5, 4)) for _ in range(3)]
    for grad_of in ([0], [1], [2], [0, 2]):
        (fast, fast_grads), (ref, ref_grads) = both_paths(F.scaled_dot_product_attention, *arrays, grad_of=grad_of)
        np.testing.assert_allclose(fast, ref, rtol=1e-10)
        for a, b in zip(fast_grads, ref_grads):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("need_weights, average", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_is_the_same_on_both_paths(need_weights, average, batch_first):
    """Heads are strided views of the projections here, as in every Transformer."""
    gw.manual_seed(3)
    attention = gw.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    x = R.standard_normal((3, 5, 8))
    padding = np.array([[False] * 5, [False, False, False, True, True], [False] * 4 + [True]])
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            attention.zero_grad()
            inputs = gw.tensor(x if batch_first else x.transpose(1, 0, 2), requires_grad=True)  # (T, B, E)
            out, weights = attention(inputs, inputs, inputs, key_padding_mask=padding, need_weights=need_weights,
                                     average_attn_weights=average)
            loss = (out * out).sum() + ((weights * weights).sum() if need_weights else 0)
            loss.backward()
            results[path] = [out.numpy()] + ([weights.numpy()] if need_weights else []) + [inputs.grad] + \
                [p.grad.copy() for p in attention.parameters()]
            assert (weights is None) == (not need_weights)
    for a, b in zip(results["fast"], results["reference"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract:RuntimeWarning")  # NaN is the point
def test_fused_attention_gives_nan_where_the_reference_does(dtype):
    """A query row that may attend to nothing (every key masked) and a NaN input: NaN in the same places."""
    arrays = [R.standard_normal((2, 2, 4, 3)).astype(dtype) for _ in range(3)]
    arrays[1][1, 0, 2, 0] = np.nan
    mask = np.ones((4, 4), bool)
    mask[3] = False

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask=mask)

    outputs = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            outputs[path] = attend(*(gw.tensor(a) for a in arrays)).numpy()
    assert np.isnan(outputs["fast"]).any() and not np.isnan(outputs["fast"]).all()
    np.testing.assert_array_equal(np.isnan(outputs["fast"]), np.isnan(outputs["reference"]))
    tol = dict(rtol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(outputs["fast"], outputs["reference"], **tol)


@pytest.mark.parametrize("path", gw.kernels.PATHS)
def test_an_empty_batch_goes_through_every_kernel(path):
    """A batch of 0 images (PyTorch allows it): the right shapes out, zero gradients back, on both paths
    and through every layout of the fast convolution (shifted, one-channel, grouped, strided)."""
    layers = [lambda t, w, b: F.conv2d(t, w, b, 1, 1), lambda t, w, b: F.conv2d(t, w, b, 2, 1),
              lambda t, w, b: F.conv2d(t, w[:, :2], b, 1, 1, 1, 2), lambda t, w, b: F.conv2d(t[:, :1], w[:, :1], b, 1, 1),
              lambda t, w, b: F.conv_transpose2d(t, w.permute(1, 0, 2, 3), b, 2, 1, 1),
              lambda t, w, b: F.max_pool2d(t, 2), lambda t, w, b: F.max_pool2d(t, 3, 2, 1),
              lambda t, w, b: F.avg_pool2d(t, 2)]
    with gw.kernels.use(path):
        for layer in layers:
            x = gw.tensor(np.ones((0, 4, 6, 6), np.float32), requires_grad=True)
            w = gw.tensor(np.ones((6, 4, 3, 3), np.float32), requires_grad=True)
            b = gw.tensor(np.ones(6, np.float32), requires_grad=True)
            y = layer(x, w, b)
            assert y.shape[0] == 0
            y.sum().backward()
            assert x.grad.shape == x.shape
            assert w.grad is None or not w.grad.any()


@pytest.mark.parametrize("channels", [1, 3])
def test_float32_convolution_with_float64_bias_and_gradient(channels):
    """A float32 layer meeting float64: a float64 bias keeps the output float32 (as ``out += bias`` does),
    and a float64 output gradient (a loss against float64 targets) gives the reference's gradients —
    the shifted path's BLAS products need one dtype, so such a gradient takes the window path."""
    x = R.standard_normal((2, channels, 6, 5)).astype(np.float32)
    w = R.standard_normal((4, channels, 3, 3)).astype(np.float32)
    b = R.standard_normal(4)  # float64
    target = R.standard_normal((2, 4, 6, 5))  # float64
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            leaves = [gw.tensor(a, requires_grad=True) for a in (x, w, b)]
            out = F.conv2d(*leaves, 1, 1)
            ((out - gw.tensor(target)) ** 2).sum().backward()
            results[path] = (out.data, *[leaf.grad for leaf in leaves])
    assert results["fast"][0].dtype == results["reference"][0].dtype == np.float32
    for fast, ref in zip(results["fast"], results["reference"]):
        assert fast.dtype == ref.dtype
        np.testing.assert_allclose(fast, ref, rtol=2e-4, atol=2e-4)


def relu_both_paths(x, gy):
    """(output, input gradient) of relu on each path, for an input array and an output gradient."""
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            leaf = gw.tensor(x, requires_grad=True)
            leaf.data = x.copy(order="K")  # keep the memory layout
            out = F.relu(leaf)
            out.backward(gw.tensor(gy))
            results[path] = (out, leaf.grad)
    return results


@pytest.mark.parametrize("dtype", DTYPES + (np.float16,))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_relu(layout, dtype, kernel_version, monkeypatch):
    """Exactly the reference's values and gradient — NaN, ±∞, zeros of both signs and the smallest
    subnormals included, in the input and in the gradient (0·∞ is NaN) — in the input's dtype and memory
    layout."""
    from gradwork.kernels import activations
    monkeypatch.setattr(activations, "COMPILED_BACKWARD_MIN_SIZE", 0)  # the compiled backward at this size too
    x = stored(R.standard_normal((3, 4, 5, 6)), layout, dtype)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, np.finfo(dtype).max], dtype)
    x[np.unravel_index(np.arange(0, 16 * specials.size, 16), x.shape)] = specials
    gy = R.standard_normal(x.shape).astype(dtype)
    gy.reshape(-1)[5:5 + 7 * specials.size:7] = specials  # against positive and non-positive x alike
    with np.errstate(invalid="ignore"):  # 0·∞ (NaN) on both paths
        results = relu_both_paths(x, gy)
    (fast, fast_grad), (ref, ref_grad) = results["fast"], results["reference"]
    assert fast._creator.name == ref._creator.name == "relu"
    assert type(fast._creator).__name__ == "FastReLU" and type(ref._creator).__name__ == "ReLUFunction"
    assert fast.dtype == ref.dtype == dtype and fast_grad.dtype == dtype
    np.testing.assert_array_equal(fast.data, ref.data)  # NaN where NaN; −0.0 and 0.0 compare equal
    np.testing.assert_array_equal(fast_grad, ref_grad)
    numbers = ~np.isnan(ref_grad)
    np.testing.assert_array_equal(np.signbit(fast_grad[numbers]), np.signbit(ref_grad[numbers]))  # ±0 too
    assert fast.data.strides == ref.data.strides  # the layout kept, as maximum keeps it


def test_relu_of_integers_and_a_wider_gradient():
    """An integer input keeps its dtype (clip against ∞ would make float64); a float64 gradient into a
    float32 ReLU gives the reference path's gradient, in its dtype."""
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            out = F.relu(gw.tensor(np.array([[-2, 0, 3]])))
            assert out.dtype == np.int64
            np.testing.assert_array_equal(out.data, [[0, 0, 3]])
    grads = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            leaf = gw.tensor(np.array([-1.0, 2.0, 0.0], np.float32), requires_grad=True)
            (F.relu(leaf) * gw.tensor(np.array([5.0, 6.0, 7.0]))).sum().backward()  # float64 downstream
            grads[path] = leaf.grad
    assert grads["fast"].dtype == grads["reference"].dtype
    np.testing.assert_array_equal(grads["fast"], [0.0, 6.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("output_size, shape", [(1, (3, 5, 7, 6)), ((1, 1), (2, 4, 1, 9)), (1, (2, 3, 1, 1)),
                                                ((2, 3), (2, 3, 8, 9)), ((1, None), (2, 3, 5, 4))])
def test_adaptive_avg_pool2d(output_size, shape, layout, dtype):
    """Global average pooling (output 1 × 1) as one mean, its gradient laid out like the input; other
    output sizes are the reference's."""
    x = stored(R.standard_normal(shape), layout, dtype)
    assert_same(lambda t: F.adaptive_avg_pool2d(t, output_size), [x], dtype)
    with gw.kernels.use("fast"):
        leaf = gw.tensor(x, requires_grad=True)
        leaf.data = x.copy(order="K")
        out = F.adaptive_avg_pool2d(leaf, output_size)
    assert type(out._creator).__name__ == "FastAdaptiveAvgPool2d" and out._creator.name == "adaptive_avg_pool2d"
    if out.shape[2:] == (1, 1) and 1 not in shape[2:]:  # (a leaf's .grad is a C-ordered copy: the op's own result)
        assert out._creator.backward(np.ones(out.shape, dtype)).strides == x.strides  # laid out like the input


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_average_pooling_of_values_whose_sum_overflows_or_of_empty_maps(dtype):
    """The mean sums before it divides: where that overflows (values near the largest float), or a map is
    empty, or holds ∞/NaN, the reference's numbers (and no warning of the fast path's own)."""
    big = np.full((1, 2, 7, 7), np.finfo(dtype).max / 4, dtype)
    special = R.standard_normal((1, 3, 2, 2)).astype(dtype)
    special[0, 0, 0, 0], special[0, 1, 1, 1] = np.inf, np.nan
    for x in (big, special, np.zeros((2, 3, 0, 4), dtype)):
        results = {}
        for path in gw.kernels.PATHS:
            with gw.kernels.use(path), np.errstate(all="raise" if x is big else "ignore"):
                leaf = gw.tensor(x, requires_grad=True)
                out = F.adaptive_avg_pool2d(leaf, 1)
                out.backward(gw.tensor(np.ones(out.shape, dtype)))
                results[path] = (out.data, leaf.grad)
        np.testing.assert_array_equal(results["fast"][0], results["reference"][0])
        np.testing.assert_array_equal(results["fast"][1], results["reference"][1])


# name: (the activation, its fast kernel's class, exact?): exact — the same numbers, bit for bit; else to rounding
ACTIVATIONS = {
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.01), "FastLeakyReLU", True),
    "leaky_relu slope 1": (lambda t: F.leaky_relu(t, 1.0), "FastLeakyReLU", True),
    "leaky_relu slope 0": (lambda t: F.leaky_relu(t, 0.0), "FastLeakyReLU", True),  # (the reference's formula)
    "leaky_relu slope 2": (lambda t: F.leaky_relu(t, 2.0), "FastLeakyReLU", True),  # (the reference's formula)
    "leaky_relu slope 1e-46": (lambda t: F.leaky_relu(t, 1e-46), "FastLeakyReLU", True),  # 0 in float32
    "elu": (F.elu, "FastELU", True),
    "elu alpha 0.5": (lambda t: F.elu(t, 0.5), "FastELU", True),
    "elu alpha 1.7": (lambda t: F.elu(t, 1.7), "FastELU", True),
    "elu alpha -1": (lambda t: F.elu(t, -1.0), "FastELU", True),  # (the reference's formula)
    "elu alpha inf": (lambda t: F.elu(t, math.inf), "FastELU", True),  # (the reference's formula)
    "elu alpha float64 scalar": (lambda t: F.elu(t, np.float64(0.5)), "FastELU", True),  # float64 result
    "sigmoid": (F.sigmoid, "FastSigmoid", True),
    "silu": (F.silu, "FastSiLU", True),
    "softplus": (F.softplus, "FastSoftplus", True),
    "softplus beta 2 threshold 5": (lambda t: F.softplus(t, 2.0, 5.0), "FastSoftplus", True),
    "gelu": (F.gelu, "FastGELU", False),
    "gelu tanh": (lambda t: F.gelu(t, approximate="tanh"), "FastGELU", False),
}
#: the kernels with compiled loops for float32 (kernels/activation_loops.py)
LOOPS_IN_FLOAT32 = {"FastGELU", "FastSigmoid", "FastSiLU"}
ACTIVATION_SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 2.5, -2.5, 4.9, 5.1, 19.5, 20.5,
                       -20.5, 40.0, -40.0, 88.0, -88.0, 100.0, -100.0, -5.5, -9.0, 2e19, -3e19, 2e154, -3e154]


def activation_both_paths(fn, x, gy):
    """{path: (output tensor, input gradient)} for one activation on both kernel paths."""
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path), np.errstate(over="ignore", invalid="ignore"):  # ∞·0 in the reference
            leaf = gw.tensor(x, requires_grad=True)
            out = fn(leaf)
            out.backward(gw.tensor(gy))
            results[path] = (out, leaf.grad)
    return results


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name, dtype, kernel_version):
    """The activations without np.where, x ** 3 or SciPy's float32 erf (kernels/smooth_activations.py):
    the reference's values and gradients — bit for bit where the docstrings say so, NaN, ±∞, zeros of both
    signs, the thresholds and the overflow edges included — and its dtypes."""
    fn, kernel, exact = ACTIVATIONS[name]
    with np.errstate(over="ignore"):  # ±3e154 is ±∞ in float32
        x = np.concatenate([R.standard_normal(500) * 4, ACTIVATION_SPECIALS]).astype(dtype).reshape(4, -1)
    gy = R.standard_normal(x.shape).astype(dtype)
    results = activation_both_paths(fn, x, gy)
    (fast, fast_grad), (ref, ref_grad) = results["fast"], results["reference"]
    assert type(fast._creator).__name__ == kernel and fast._creator.name == ref._creator.name
    assert fast.dtype == ref.dtype and fast_grad.dtype == ref_grad.dtype
    # The compiled loops (activation_loops.py) make σ from an exponential of their own: within an ulp or two
    # (two of the smallest subnormal steps where it is subnormal); an ulp of σ near 1 is a larger share of
    # the gradient's factor 1 − σ: there the difference is an ulp of 1 times |gy|
    own_exponential = kernel_version == "compiled loops" and dtype == np.float32 and kernel in LOOPS_IN_FLOAT32
    if exact and not own_exponential:
        np.testing.assert_array_equal(fast.data, ref.data)  # NaN where NaN; −0.0 and 0.0 compare equal
        np.testing.assert_array_equal(fast_grad, ref_grad)
    elif exact:
        np.testing.assert_allclose(fast.data, ref.data, rtol=5e-7, atol=3e-45)
        np.testing.assert_allclose(fast_grad, ref_grad, rtol=5e-7, atol=2e-7)
    else:
        tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-6)
        np.testing.assert_allclose(fast.data, ref.data, **tol)
        if own_exponential:  # the reference's tanh form loses up to 1.2e-6 to 1 − tanh² where |tanh| is near 1
            tol["atol"] = 2e-6 * max(1.0, float(np.abs(gy).max()))  # (times |gy|); the loops do not
        np.testing.assert_allclose(fast_grad, ref_grad, **tol)


def test_exact_gelu_in_float32_is_as_accurate_as_float64_allows(kernel_version):
    """The float32 GELU through erfc's rational approximation against x·Φ(x) in float64 (Φ from SciPy's
    erfc, exact in the tail): within 1e-6 everywhere, and within 1e-5 relative in the negative tail, where
    the reference's 1 + erf(x/√2) cancels to 0 in float32."""
    from scipy.special import erfc
    x = np.linspace(-9, 9, 20001).astype(np.float32)
    results = activation_both_paths(F.gelu, x, np.ones_like(x))
    wide = x.astype(np.float64)
    cdf = 0.5 * erfc(-wide / np.sqrt(2))
    value, slope = wide * cdf, cdf + wide * np.exp(-0.5 * wide * wide) / np.sqrt(2 * np.pi)
    fast, fast_grad = results["fast"]
    np.testing.assert_allclose(fast.data, value, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast_grad, slope, rtol=0, atol=1e-6)
    tail = x < -3
    np.testing.assert_allclose(fast.data[tail], value[tail], rtol=1e-5)
    assert np.all(results["reference"][0].data[x < -6] == 0)  # what the reference loses there


def test_activations_of_integers_float16_and_0d_arrays_take_the_reference():
    for name, (fn, _, _) in ACTIVATIONS.items():
        for x in (np.array([[-2, 0, 3]]), np.array([[-2.0, 0.5, 3.0]], np.float16), np.array(-1.5, np.float32)):
            results = {}
            for path in gw.kernels.PATHS:
                with gw.kernels.use(path), np.errstate(invalid="ignore"):  # 0·∞ in ELU(α = ∞)'s reference
                    results[path] = fn(gw.tensor(x)).data
            assert results["fast"].dtype == results["reference"].dtype, name
            np.testing.assert_array_equal(results["fast"], results["reference"], err_msg=name)


LINEAR_CASES = {  # name: (input shape, weight shape, bias?)
    "rows": ((5, 3), (4, 3), True),
    "a batch of sequences": ((2, 3, 5), (6, 5), True),
    "one vector": ((5,), (4, 5), True),
    "no bias": ((5, 3), (4, 3), False),
    "one output": ((7, 4), (1, 4), True),
}


@pytest.fixture
def bias_in_product_at_every_size(monkeypatch):
    """FastLinear's BLAS forward (bias preloaded, β = 1) for these small layers too, not only from 64K
    outputs on, so the cases below compare that path with the reference."""
    import gradwork.kernels.linear
    monkeypatch.setattr(gradwork.kernels.linear, "BIAS_IN_PRODUCT_MIN_OUTPUTS", 0)


@pytest.mark.usefixtures("bias_in_product_at_every_size")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LINEAR_CASES)
def test_linear(case, dtype):
    x_shape, w_shape, has_bias = LINEAR_CASES[case]
    arrays = [R.standard_normal(x_shape).astype(dtype), R.standard_normal(w_shape).astype(dtype)]
    if has_bias:
        arrays.append(R.standard_normal(w_shape[0]).astype(dtype))
    assert_same(lambda *t: F.linear(*t), arrays, dtype)


@pytest.mark.usefixtures("bias_in_product_at_every_size")
@pytest.mark.parametrize("layout", ["transposed input", "Fortran-ordered weight"])
def test_linear_reads_any_memory_layout(layout):
    x, w, b = R.standard_normal((6, 4)), R.standard_normal((3, 4)), R.standard_normal(3)
    if layout == "transposed input":
        x = np.ascontiguousarray(x.T).T
    else:
        w = np.asfortranarray(w)
    assert_same(lambda *t: F.linear(*t), [x, w, b], np.float64)


def test_fast_linear_runs_where_blas_can_and_the_reference_otherwise():
    """The fast forward needs one dtype for input, weight and bias; a float64 bias on a float32 layer
    gives the reference's float64 output; an empty batch gives an empty output."""
    x = gw.tensor(R.standard_normal((4, 3)).astype(np.float32))
    w = gw.tensor(R.standard_normal((2, 3)).astype(np.float32))
    b64 = gw.tensor(R.standard_normal(2))
    outputs = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            outputs[path] = F.linear(x, w, b64)
            empty = F.linear(gw.tensor(np.zeros((0, 3), np.float32)), w, gw.tensor(np.ones(2, np.float32)))
            assert empty.shape == (0, 2)
    assert outputs["fast"].dtype == outputs["reference"].dtype
    np.testing.assert_allclose(outputs["fast"].data, outputs["reference"].data, rtol=1e-6)
    with gw.kernels.use("fast"):
        out = F.linear(x, w, gw.tensor(np.ones(2, np.float32), requires_grad=True))
    assert type(out.creator).__name__ == "FastLinear" and out.creator.name == "linear"
    with pytest.raises(gw.errors.ShapeError, match="expects 5"):
        F.linear(x, gw.tensor(np.ones((2, 5), np.float32)), gw.tensor(np.ones(2, np.float32)))


@pytest.mark.skipif(not blas.available(np.ones((1, 1), np.float32)), reason="NumPy's BLAS not found")
def test_fast_linear_puts_the_bias_in_the_product_from_64k_outputs(monkeypatch):
    """At 300 rows × 256 outputs the fast forward is one BLAS call adding x·Wᵀ onto the bias (at 100 rows,
    below the limit, none); the numbers are the reference's to float32 rounding."""
    calls = []
    real_gemm = blas.gemm
    monkeypatch.setattr(blas, "gemm", lambda *a, **k: calls.append(k) or real_gemm(*a, **k))
    w, b = R.standard_normal((256, 8)).astype(np.float32), R.standard_normal(256).astype(np.float32)
    for rows, expected_calls in ((300, [dict(accumulate=True)]), (100, [])):
        calls.clear()
        x = R.standard_normal((rows, 8)).astype(np.float32)
        assert_same(lambda *t: F.linear(*t), [x, w, b], np.float32)
        assert calls == expected_calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", [
    lambda p: gw.optim.SGD(p, lr=0.1),
    lambda p: gw.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-3),
    lambda p: gw.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: gw.optim.Adam(p, lr=1e-2),
    lambda p: gw.optim.AdamW(p, lr=1e-2, amsgrad=True),
    lambda p: gw.optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
], ids=["sgd", "sgd-momentum", "nesterov", "adam", "adamw-amsgrad", "rmsprop-centred-momentum"])
def test_optimizers_step_the_same_on_both_paths(make, dtype, monkeypatch):
    """Updates of parameters large enough for BLAS's axpy (kernels.blas.add_scaled) move the weights as the
    reference's ``target += alpha * x`` does, step after step; a small parameter beside them stays on NumPy."""
    calls = recording_axpy(monkeypatch)
    big, small = (200, blas.ADD_SCALED_MIN_SIZE // 200 + 1), (3, 4)

    def three_steps(path):
        rng = np.random.default_rng(2)
        params = [gw.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape in (big, small)]
        opt = make(params)
        with gw.kernels.use(path):
            for _ in range(3):
                for p in params:
                    p.grad = rng.standard_normal(p.shape).astype(dtype)
                opt.step()
        return [p.data for p in params]

    reference = three_steps("reference")
    assert calls == []
    fast = three_steps("fast")
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for a, b in zip(fast, reference):
        np.testing.assert_allclose(a, b, **tol)
    if blas._axpy:
        assert calls and set(calls) == {200 * big[1]}  # only the big parameter, every step


MATMUL_CASES = {  # a's shape, b's shape: the product's summed dimensions of length 1 are the fast ones
    "word2vec's scores (outer-product dA)": ((5, 6, 4), (5, 4, 1)),
    "a row times a stack (outer-product dB)": ((3, 1, 4), (3, 4, 5)),
    "both outer products": ((3, 1, 4), (3, 4, 1)),
    "broadcast stacks": ((2, 1, 3, 4), (5, 4, 1)),
    "a shared matrix": ((3, 4), (7, 4, 1)),
    "plain 2-D": ((3, 4), (4, 5)),
    "2-D outer product": ((3, 1), (1, 5)),
    "vector @ stack": ((4,), (2, 4, 1)),
    "stack @ vector": ((2, 3, 4), (4,)),
    "dot product": ((4,), (4,)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MATMUL_CASES)
def test_matmul(case, dtype):
    """Bit for bit: a product summed over one term is that term, whichever way it is made."""
    a_shape, b_shape = MATMUL_CASES[case]
    arrays = [R.standard_normal(a_shape).astype(dtype), R.standard_normal(b_shape).astype(dtype)]
    seed = int(R.integers(2**31))
    fast_out, fast_grads = run("fast", lambda a, b: a @ b, arrays, seed)
    ref_out, ref_grads = run("reference", lambda a, b: a @ b, arrays, seed)
    np.testing.assert_array_equal(fast_out, ref_out)
    for fast, ref in zip(fast_grads, ref_grads):
        assert fast.shape == ref.shape
        np.testing.assert_array_equal(fast, ref)


def test_matmul_runs_its_kernel_on_the_fast_path_only():
    a, b = gw.randn(2, 3, 4), gw.randn(2, 4, 1)
    a.requires_grad_()
    assert type((a @ b).creator).__name__ == "FastMatMul"
    with gw.kernels.use("reference"):
        assert type((a @ b).creator).__name__ == "MatMul"


SPLIT_CASES = {  # name: (input shape, how the split input is made from the leaf, sizes, axis)
    "contiguous": ((6, 4), lambda x: x, [2, 4], 0),
    "packed projection": ((2, 3, 24), lambda x: permute(reshape(x, 2, 3, 3, 2, 4), 2, 0, 3, 1, 4), [1, 1, 1], 0),
    "transposed": ((5, 6), lambda x: x.T, [1, 2, 2], 1),
    "flipped": ((4, 6), lambda x: x[::-1, ::2], [2, 1], 1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SPLIT_CASES)
def test_split(case, dtype):
    """FastSplit (kernels/shape.py) against Split: the same pieces and gradients, whatever the input's
    memory order."""
    shape, make, sizes, axis = SPLIT_CASES[case]

    def pieces_summed(x):
        pieces = split(make(x), sizes, axis)
        return sum((piece * (i + 1.0)).sum() for i, piece in enumerate(pieces))  # each piece its own gradient

    assert_same(pieces_summed, [R.standard_normal(shape).astype(dtype)], dtype)


def test_split_gives_a_permuted_input_its_gradient_in_the_input_memory_order():
    """The Transformer's packed projection: the gradient joined for the permuted (3, B, H, T, d) view
    comes back to the (B, T, 3·E) projection C-ordered, so the reshape's backward copies nothing."""
    projection = gw.tensor(R.standard_normal((2, 3, 24)), requires_grad=True)
    heads = permute(reshape(projection, 2, 3, 3, 2, 4), 2, 0, 3, 1, 4)
    pieces = split(heads, 1, 0)
    assert pieces[0]._creator.name == "split" and type(pieces[0]._creator).__name__ == "FastSplit"
    gradients = [R.standard_normal(p.shape) for p in pieces]
    joined = pieces[0]._creator.backward(*gradients)
    np.testing.assert_array_equal(joined, np.concatenate(gradients, axis=0))
    assert joined.transpose(1, 3, 0, 2, 4).flags.c_contiguous  # the permute's backward: C-ordered again
    with gw.kernels.use("reference"):
        reference = split(permute(reshape(projection, 2, 3, 3, 2, 4), 2, 0, 3, 1, 4), 1, 0)[0]._creator
    assert not reference.backward(*gradients).transpose(1, 3, 0, 2, 4).flags.c_contiguous


CROSS_ENTROPY_SHAPES = [(1, 1), (5, 2), (40, 10), (128, 10), (300, 33), (200, 64), (32, 1000)]


@pytest.mark.parametrize("reduction", ["mean", "none", "sum"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CROSS_ENTROPY_SHAPES)
def test_cross_entropy(shape, dtype, reduction, kernel_version):
    """FastCrossEntropy (kernels/cross_entropy.py) against CrossEntropy: loss and logits' gradient, for one
    class and many, few rows and many (short rows take layout.row_maxima's transposed copy; float32 rows of 64
    classes and more the compiled loop)."""
    labels = R.integers(0, shape[1], shape[0])
    logits = (R.standard_normal(shape) * 3).astype(dtype)
    assert_same(lambda z: F.cross_entropy(z, labels, reduction=reduction), [logits], dtype)
    with gw.kernels.use("fast"):
        loss = F.cross_entropy(gw.tensor(logits, requires_grad=True), labels, reduction=reduction)
    creator = loss.creator if reduction != "sum" else loss.creator.inputs[0].creator
    assert type(creator).__name__ == "FastCrossEntropy" and creator.from_exponentials


@pytest.mark.parametrize("classes", [10, 100])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_of_large_and_non_finite_logits_is_the_references(dtype, classes, kernel_version):
    """Logits of ±1e4 (the shift by each row's maximum keeps exp in range) and rows holding NaN or +∞ give the
    reference's numbers: the same losses and gradients where finite, NaN in the same places — through the NumPy
    passes and (float32, 100 classes) the compiled loop."""
    logits = (R.standard_normal((64, classes)) * 1e4).astype(dtype)
    logits[3, 2], logits[7, 0], logits[9, 9] = np.nan, np.inf, -np.inf
    labels = R.integers(0, classes, 64)
    labels[9] = 0  # a −∞ logit beside the label: a finite loss
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            z = gw.tensor(logits, requires_grad=True)
            with np.errstate(invalid="ignore"):  # ∞ − ∞ in the shift, on both paths
                loss = F.cross_entropy(z, labels, reduction="none")
            loss.backward(gw.tensor(np.ones(64, dtype)))
            results[path] = loss.data, z.grad
    for fast, reference in zip(results["fast"], results["reference"]):
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
        np.testing.assert_allclose(fast, reference, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert np.isnan(results["fast"][0][[3, 7]]).all() and np.isfinite(results["fast"][0][9])


@pytest.mark.parametrize("options", [dict(weight="w"), dict(label_smoothing=0.1), dict(ignore_index=1),
                                     dict(probabilities=True), dict(empty=True), dict(float16=True)],
                         ids=["class-weights", "smoothing", "ignored-label", "probabilities", "empty-batch", "float16"])
def test_cross_entropy_takes_the_reference_where_the_kernel_does_not_apply(options):
    """Class weights, label smoothing, an ignored label that occurs, probabilities as targets, an empty batch
    and float16 logits run the reference's computation inside the fast class — with the reference's numbers."""
    options = dict(options)
    rows = 0 if options.pop("empty", False) else 12
    logits = R.standard_normal((rows, 4)).astype(np.float16 if options.pop("float16", False) else np.float64)
    target = R.integers(0, 4, rows)
    if "ignore_index" in options and rows:
        target[0] = options["ignore_index"]  # the ignored label occurs
    if options.pop("probabilities", False):
        target = R.dirichlet(np.ones(4), rows)
    if options.get("weight") == "w":
        options["weight"] = gw.tensor(R.uniform(0.5, 2, 4))
    with gw.kernels.use("fast"):
        loss = F.cross_entropy(gw.tensor(logits, requires_grad=True), target, reduction="none", **options)
    assert type(loss.creator).__name__ == "FastCrossEntropy" and not loss.creator.from_exponentials
    if rows and logits.dtype == np.float64:
        assert_same(lambda z: F.cross_entropy(z, target, reduction="none", **options), [logits], np.float64)


def test_float16_cross_entropy_of_a_large_batch_is_the_references_finite_mean():
    """float16 logits run the reference, whose mean adds the losses in float32: 30,000 losses of about 3.8 sum
    to more than float16's largest number (65,504), so a float16 sum would give ∞."""
    logits = (R.standard_normal((30_000, 10)) * 2).astype(np.float16)
    labels = R.integers(0, 10, 30_000)
    losses = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            losses[path] = F.cross_entropy(gw.tensor(logits), labels).data
    assert np.isfinite(losses["fast"]) and losses["fast"] == losses["reference"]


SOFTMAX_CASES = {  # shape, axis, how the input is stored
    "small": ((4, 5), -1, "C"),               # below COMPILED_MIN_SIZE: the reference inside the fast class
    "classes": ((128, 10), 1, "C"),
    "square": ((64, 64), -1, "C"),
    "vocabulary": ((300, 65), -1, "C"),
    "attention scores": ((4, 2, 16, 16), -1, "C"),
    "not the last axis": ((8, 40, 6), 1, "C"),
    "transposed input": ((64, 40), -1, "transposed"),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SOFTMAX_CASES)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax(fn, case, dtype, kernel_version):
    """FastSoftmax and FastLogSoftmax (kernels/softmax.py) against the reference: output and gradient, for
    the float32 rows the compiled loops take and everything they leave to the reference."""
    shape, axis, stored_as = SOFTMAX_CASES[case]
    x = (R.standard_normal(shape) * 4).astype(dtype)
    if stored_as == "transposed":
        x = np.ascontiguousarray(x.T).T
    assert_same(lambda t: getattr(F, fn)(t, dim=axis), [x], dtype)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_of_non_finite_rows_and_a_broadcast_gradient(fn, kernel_version):
    """Rows holding NaN, +∞ or −∞ give NaN (or 0, −∞) where the reference does, on both kernel versions; a
    gradient that is a broadcast view (a sum's backward) gives the reference's input gradient."""
    x = (R.standard_normal((64, 48)) * 3).astype(np.float32)
    x[1, 3], x[2, 0], x[3, 7], x[4] = np.nan, np.inf, -np.inf, -np.inf
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path), np.errstate(invalid="ignore"):
            t = gw.tensor(x, requires_grad=True)
            y = getattr(F, fn)(t, dim=-1)
            y[5:].sum().backward()
            results[path] = y.data, t.grad
    for fast, reference in zip(results["fast"], results["reference"]):
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
        np.testing.assert_allclose(fast, reference, rtol=2e-5, atol=2e-6)
    assert np.isnan(results["fast"][0][[1, 2, 4]]).all() and not np.isnan(results["fast"][0][3]).any()


def test_softmax_kernels_run_their_loops_only_on_float32_rows(monkeypatch):
    """Which inputs the compiled loops take: float32 along the last axis of a C-ordered array of at least
    COMPILED_MIN_SIZE values — not float64, another axis, a transposed input or a small one."""
    from gradwork.kernels import jit, softmax
    if not jit.available():
        pytest.skip('Numba is not installed (pip install "gradwork[jit]"): no loops to choose')
    calls = []
    real_run_rows = softmax.run_rows
    monkeypatch.setattr(softmax, "run_rows", lambda maker, *arrays: calls.append(maker) or real_run_rows(maker, *arrays))

    def loops_run(x, axis=-1):
        calls.clear()
        t = gw.tensor(x, requires_grad=True)
        t.data = x.copy(order="K")  # (gw.tensor copies in C order)
        for fn in (F.softmax, F.log_softmax):
            fn(t, dim=axis).sum().backward()
        return calls

    x = R.standard_normal((64, 32)).astype(np.float32)
    assert loops_run(x) == ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]
    for other in (x.astype(np.float64), np.ascontiguousarray(x.T).T, x[:4]):
        assert loops_run(other) == []
    assert loops_run(x, axis=0) == []


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "cross_entropy"])
def test_softmax_loops_sum_long_rows_as_accurately_as_the_reference(fn, kernel_version):
    """A row of 300,000 equal logits but one: each probability within 1e-6 (relative) of float64's, as the
    reference's pairwise sums give — one float32 chain of additions along the row erred by 1.3e-5 here."""
    x = np.full((2, 300_000), np.log(0.3234), np.float32)
    x[:, 0] = 0.0
    labels = np.array([0, 5])
    exact = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True).astype(np.float64))
    exact /= exact.sum(axis=1, keepdims=True)
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            if fn == "cross_entropy":
                result = F.cross_entropy(gw.tensor(x), labels, reduction="none").data
                np.testing.assert_allclose(result, -np.log(exact[[0, 1], labels]), rtol=1e-6, err_msg=path)
            else:
                result = getattr(F, fn)(gw.tensor(x), dim=-1).data.astype(np.float64)
                expected = exact if fn == "softmax" else np.log(exact)
                np.testing.assert_allclose(result, expected, rtol=1e-6, err_msg=path)
