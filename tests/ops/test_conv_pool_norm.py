"""Convolution, pooling and normalisation: gradient checks, the loop-by-loop definition, edge sizes.

Every test here runs on both kernel paths (tests/ops/conftest.py)."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.conv import col2im, im2col, output_size
from gradwork.ops.conv_loops import conv2d_by_loops
from gradwork.ops.padding import pad
from gradwork.ops.pooling import MaxPool2dFunction
from gradwork.tools import gradcheck
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(11)


CONV_CASES = [  # (N, C, H, W, O, k, stride, padding, dilation, groups)
    (2, 3, 7, 7, 4, 3, 1, 1, 1, 1),
    (1, 2, 8, 9, 3, 3, 2, 0, 1, 1),
    (2, 4, 9, 7, 6, 3, 2, 1, 2, 2),
    (1, 3, 6, 6, 3, 5, 1, 2, 1, 3),
    (2, 1, 5, 5, 2, 4, 3, 1, 1, 1),  # kernel larger than stride, odd size
    (1, 2, 5, 6, 2, 1, 1, 0, 1, 1),  # 1×1 convolution
]


def stored(array, layout):
    """A float64 leaf holding ``array`` (N, C, H, W) in the given memory order: "channels-first"
    as a data set delivers it, or "channels-last" as convolutions and pooling leave it. conv2d
    builds its window matrix differently for the two (ops/conv.py), and both must agree."""
    t = leaf(array)
    if layout == "channels-last":
        t.data = np.ascontiguousarray(t.data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return t


LAYOUTS = ["channels-first", "channels-last"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_the_direct_loop(case, layout):
    n, c, h, w, o, k, s, p, d, g = case
    x, weight, bias = R.standard_normal((n, c, h, w)), R.standard_normal((o, c // g, k, k)), R.standard_normal(o)
    y = F.conv2d(stored(x, layout), gw.tensor(weight), gw.tensor(bias), s, p, d, g)
    np.testing.assert_allclose(y.data, conv2d_by_loops(x, weight, bias, s, p, d, g), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients(case, layout):
    n, c, h, w, o, k, s, p, d, g = case
    report = gradcheck(lambda x, wt, b: F.conv2d(x, wt, b, s, p, d, g),
                       [stored(R.standard_normal((n, c, h, w)), layout), leaf(R.standard_normal((o, c // g, k, k))),
                        leaf(R.standard_normal(o))])
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 1, 2), (3, 1, 2, 1, 1), (1, 1, 0, 2, 1)])
def test_conv_transpose2d_gradients(stride, padding, output_padding, dilation, groups):
    assert_grads(lambda x, wt, b: F.conv_transpose2d(x, wt, b, stride, padding, output_padding, groups, dilation),
                 R.standard_normal((2, 4, 4, 3)), R.standard_normal((4, 6 // groups, 3, 3)), R.standard_normal(6))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩: the transposed convolution really is the transpose."""
    x, y, w = R.standard_normal((2, 3, 9, 9)), R.standard_normal((2, 5, 4, 4)), R.standard_normal((5, 3, 3, 3))
    forward = F.conv2d(gw.tensor(x), gw.tensor(w), stride=2, padding=0).data
    backward = F.conv_transpose2d(gw.tensor(y), gw.tensor(w), stride=2, padding=0).data
    assert (forward * y).sum() == pytest.approx((x * backward).sum(), rel=1e-10)


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, expected", [
    (5, 5, 1, 0, 1, 1), (4, 5, 1, 0, 1, 0), (5, 3, 2, 0, 1, 2), (6, 3, 2, 0, 1, 2), (7, 3, 2, 1, 1, 4),
    (28, 5, 1, 2, 1, 28), (7, 3, 1, 0, 3, 1), (32, 3, 2, 1, 1, 16)])
def test_output_size_formula_at_the_edges(size, kernel, stride, padding, dilation, expected):
    assert output_size(size, kernel, stride, padding, dilation) == expected
    if expected > 0:
        x = gw.zeros(1, 1, size, size)
        y = F.conv2d(x, gw.zeros(1, 1, kernel, kernel), stride=stride, padding=padding, dilation=dilation)
        assert y.shape[2:] == (expected, expected)


def test_im2col_windows_are_the_input_patches():
    x = np.arange(2 * 3 * 5 * 5, dtype=float).reshape(2, 3, 5, 5)
    cols = im2col(x, (3, 3), (2, 2), (0, 0), (1, 1))  # (N·H'·W', C·kh·kw), a row per window
    assert cols.shape == (2 * 2 * 2, 3 * 3 * 3)
    np.testing.assert_array_equal(cols.reshape(2, 2, 2, 3, 3, 3)[1, 1, 0, 2], x[1, 2, 2:5, 0:3])


def test_col2im_is_the_adjoint_of_im2col():
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for any x and c: col2im adds each window back where it was read."""
    x = R.standard_normal((2, 3, 7, 6))
    args = ((3, 2), (2, 1), (1, 0), (1, 2))
    cols = im2col(x, *args)
    c = R.standard_normal(cols.shape)
    assert (cols * c).sum() == pytest.approx((x * col2im(c, x.shape, *args)).sum(), rel=1e-12)


def test_same_padding_keeps_the_size():
    y = F.conv2d(gw.zeros(1, 2, 7, 6), gw.zeros(4, 2, 3, 3), padding="same")
    assert y.shape == (1, 4, 7, 6)


def test_same_padding_with_an_even_kernel_pads_the_extra_row_at_the_end():
    """d·(k − 1) = 1 padded row in all for a 2×2 kernel: PyTorch puts it at the bottom (and the column at the right)."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = F.conv2d(gw.tensor(x), gw.ones(1, 1, 2, 2).double(), padding="same").data[0, 0]
    assert y.shape == (3, 3)
    assert y[0, 0] == x[0, 0, :2, :2].sum()  # the first window starts at the top-left corner: no padding before
    assert y[2, 2] == x[0, 0, 2, 2]  # the last window hangs over the bottom-right corner into zeros
    np.testing.assert_array_equal(y[2], x[0, 0, 2, :] + np.append(x[0, 0, 2, 1:], 0))


@pytest.mark.parametrize("kernel, dilation, before, after", [
    ((2, 2), (1, 1), (0, 0), (1, 1)),  # total 1 per axis: all of it at the end
    ((4, 4), (1, 1), (1, 1), (2, 2)),  # total 3: 1 before, 2 after
    ((2, 3), (3, 1), (1, 1), (2, 1)),  # effective 4×3: rows 1 + 2, columns 1 + 1
    ((4, 2), (2, 2), (3, 1), (3, 1)),  # effective 7×3: even totals split evenly
])
def test_same_padding_splits_the_total_as_pytorch_with_the_odd_one_at_the_end(kernel, dilation, before, after):
    x, w = R.standard_normal((2, 3, 6, 5)), R.standard_normal((4, 3) + kernel)
    y = F.conv2d(gw.tensor(x), gw.tensor(w), padding="same", dilation=dilation)
    explicit = pad(gw.tensor(x), (before[1], after[1], before[0], after[0]))
    expected = F.conv2d(explicit, gw.tensor(w), padding=0, dilation=dilation)
    assert y.shape == (2, 4, 6, 5)
    np.testing.assert_allclose(y.data, expected.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, dilation", [((2, 2), 1), ((4, 3), 1), ((2, 2), 3), ((3, 2), 2)])
def test_same_padding_gradients_with_even_kernels(kernel, dilation):
    assert_grads(lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=dilation),
                 R.standard_normal((2, 2, 5, 4)), R.standard_normal((3, 2) + kernel), R.standard_normal(3))


def test_conv_padding_strings_other_than_same_and_valid_are_errors():
    x, w = gw.zeros(1, 1, 5, 5), gw.zeros(1, 1, 3, 3)
    with pytest.raises(ConfigError, match="conv2d: padding must be an int, a pair of ints, 'same' or 'valid', "
                                          "got 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ConfigError, match=r"padding='same' needs stride 1 .* got stride=\(2, 2\)"):
        F.conv2d(x, w, stride=2, padding="same")


def test_conv_errors_name_the_problem():
    with pytest.raises(ShapeError, match=r"input has 3 channels but the layer expects 1 \(input shape \(2, 3, 8, 8\)\)"):
        gw.nn.Conv2d(1, 4, 3)(gw.zeros(2, 3, 8, 8))
    with pytest.raises(ShapeError, match="too small for a 5×5 kernel.*smallest that works is 5"):
        gw.nn.Conv2d(1, 4, 5)(gw.zeros(2, 1, 4, 8))
    with pytest.raises(ShapeError, match=r"expected input of shape \(N, C, H, W\)"):
        gw.nn.Conv2d(1, 4, 3)(gw.zeros(8, 8))
    with pytest.raises(ValueError, match="divisible by groups"):
        gw.nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), ((2, 3), (1, 2), (1, 1))])
@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_pooling_gradients(kernel, stride, padding, size):
    x = R.permutation(2 * 3 * size[0] * size[1]).reshape(2, 3, *size) / 10.0  # distinct values: no ties
    assert_grads(lambda t: F.max_pool2d(t, kernel, stride, padding), x)
    assert_grads(lambda t: F.avg_pool2d(t, kernel, stride, padding), x)


@pytest.mark.parametrize("output_size", [1, (2, 3), (3, 3), (5, 4)])
def test_adaptive_avg_pool_gradients(output_size):
    assert_grads(lambda t: F.adaptive_avg_pool2d(t, output_size), R.standard_normal((2, 3, 5, 7)))


def test_global_average_pool_is_the_mean_per_channel():
    x = R.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(gw.tensor(x), 1).data[:, :, 0, 0], x.mean(axis=(2, 3)))


def test_max_pool_routes_gradient_to_the_max_only():
    x = leaf([[[[1.0, 5.0], [3.0, 2.0]]]])
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0, 1], [0, 0]]]])


def test_max_pool_with_ties_gives_the_whole_gradient_to_one_position():
    x = leaf(np.ones((1, 2, 4, 4)))
    F.max_pool2d(x, 2).sum().backward()
    windows = x.grad.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 2, 4)
    np.testing.assert_array_equal(windows.sum(axis=-1), 1)
    np.testing.assert_array_equal((windows != 0).sum(axis=-1), 1)
    np.testing.assert_array_equal(windows[..., 0], 1)  # the first in row-major order, as PyTorch picks


def test_max_pool_tie_goes_to_the_first_position_in_row_major_order():
    x = leaf([[[[0.0, 7.0], [7.0, 7.0]], [[2.0, 1.0], [9.0, 9.0]]]])
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0, 1], [0, 0]], [[0, 0], [1, 0]]]])


def test_max_pool_without_gradient_keeps_nothing_for_backward():
    pool = MaxPool2dFunction((2, 2), (2, 2), (0, 0))
    with gw.no_grad():
        y = pool(gw.tensor(R.standard_normal((2, 3, 4, 4))))
    assert y.shape == (2, 3, 2, 2) and pool.saved == ()


def test_pooling_errors():
    with pytest.raises(ShapeError, match="smaller than the 3×3 window"):
        F.max_pool2d(gw.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(gw.zeros(1, 1, 8, 8), 2, padding=2)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 4, 5)])
def test_batch_norm_gradients_in_training(shape):
    assert_grads(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                 R.standard_normal(shape) * 2 + 1, R.standard_normal(3), R.standard_normal(3))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_batch_norm_gradients_in_training_for_both_layouts_and_without_affine(layout):
    x = stored(R.standard_normal((4, 3, 3, 5)) * 2 + 1, layout)
    report = gradcheck(lambda x_, w, b: F.batch_norm(x_, None, None, w, b, training=True),
                       [x, leaf(R.standard_normal(3)), leaf(R.standard_normal(3))])
    assert report.max_error < 1e-6, str(report)
    report = gradcheck(lambda x_: F.batch_norm(x_, None, None, None, None, training=True), [x])
    assert report.max_error < 1e-6, str(report)


def test_fused_batch_norm_equals_standardize_scale_shift():
    """batch_norm with γ and β is one fused op; it must equal the three-op composition, forward
    and backward, and leave the same running statistics."""
    x, w, b, g = (R.standard_normal((5, 4, 3, 3)) * 3 + 2, R.standard_normal(4), R.standard_normal(4),
                  R.standard_normal((5, 4, 3, 3)))
    grads, outputs, stats = [], [], []
    for fused in (True, False):
        xt, wt, bt = leaf(x), leaf(w), leaf(b)
        mean, var = np.zeros(4), np.ones(4)
        if fused:
            y = F.batch_norm(xt, mean, var, wt, bt, training=True, momentum=0.3)
        else:
            y = F.batch_norm(xt, mean, var, None, None, training=True, momentum=0.3) * wt.reshape(1, 4, 1, 1) \
                + bt.reshape(1, 4, 1, 1)
        y.backward(gw.tensor(g))
        outputs.append(y.data), grads.append((xt.grad, wt.grad, bt.grad)), stats.append((mean, var))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12, atol=1e-12)
    for a, c in zip(grads[0] + stats[0], grads[1] + stats[1]):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_batch_norm_gradients_in_eval_mode():
    mean, var = R.standard_normal(3), R.uniform(0.5, 2, 3)
    assert_grads(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
                 R.standard_normal((4, 3, 2, 2)), R.standard_normal(3), R.standard_normal(3))


@pytest.mark.parametrize("normalized", [(5,), (4, 5)])
def test_layer_norm_gradients(normalized):
    assert_grads(lambda x, w, b: F.layer_norm(x, normalized, w, b),
                 R.standard_normal((2, 4, 5)), R.standard_normal(normalized), R.standard_normal(normalized))


def test_dropout2d_drops_whole_channels():
    y = F.dropout2d(gw.ones(20, 30, 4, 4), 0.5).data
    per_channel = y.reshape(20, 30, 16)
    assert np.all((per_channel == 0).all(axis=-1) | (per_channel == 2).all(axis=-1))
    assert 0.35 < (per_channel[..., 0] == 0).mean() < 0.65
