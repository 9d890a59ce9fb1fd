"""Pooling options beyond the defaults: ceil_mode, count_include_pad, divisor_override, dilation,
and adaptive pooling's ``None`` (keep that input size)."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.pooling import pool_output_size
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(13)


def row(*values):
    """A (1, 1, 1, W) image: one row, so a (1, k) window slides along it."""
    return gw.tensor(np.array(values, dtype=np.float64).reshape(1, 1, 1, -1))


def test_ceil_mode_rounds_the_number_of_windows_up():
    assert pool_output_size(5, 2, 2, 0) == 2
    assert pool_output_size(5, 2, 2, 0, ceil_mode=True) == 3
    assert pool_output_size(6, 2, 2, 0, ceil_mode=True) == 3  # windows that fit exactly: nothing changes
    assert F.max_pool2d(gw.zeros(1, 1, 5, 7), 2, ceil_mode=True).shape == (1, 1, 3, 4)


def test_ceil_mode_drops_a_last_window_that_would_start_in_the_right_padding():
    # 5 + 2·1 padded = 7 positions; windows of 2 at 0, 2, 4 — a fourth at 6 would hold only padding.
    assert pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    assert F.avg_pool2d(gw.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)


def test_ceil_mode_lets_the_window_be_larger_than_the_input_by_less_than_a_stride():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    assert F.max_pool2d(gw.tensor(x), 3, 2, ceil_mode=True).data.item() == 3.0
    assert F.avg_pool2d(gw.tensor(x), 3, 2, ceil_mode=True).data.item() == 1.5  # 2×2 values inside, 2×2 divisor
    with pytest.raises(ShapeError, match="smallest spatial size that works is 3"):
        F.max_pool2d(gw.tensor(x), 3, 2)


def test_max_pool_ceil_mode_last_window_takes_the_max_of_what_it_covers():
    y = F.max_pool2d(row(1, -2, 3, 0, -5), (1, 2), ceil_mode=True)
    np.testing.assert_array_equal(y.data.ravel(), [1, 3, -5])  # the last window holds only -5: padding never wins


@pytest.mark.parametrize("count_include_pad, expected", [
    (True, [1.0, 3.0, 2.0]),   # padded [0 | 1 2 3 4 | 0]: (0+1+2)/3, (2+3+4)/3, (4+0)/2 — the window is clipped at the padding
    (False, [1.5, 3.0, 4.0]),  # the same sums over the input values only: (1+2)/2, (2+3+4)/3, 4/1
])
def test_avg_pool_ceil_mode_divides_a_window_hanging_over_the_end_by_its_clipped_count(count_include_pad, expected):
    y = F.avg_pool2d(row(1, 2, 3, 4), (1, 3), (1, 2), (0, 1), ceil_mode=True, count_include_pad=count_include_pad)
    np.testing.assert_allclose(y.data.ravel(), expected)


def test_count_include_pad_false_divides_by_the_number_of_input_values_in_each_window():
    x = np.ones((1, 1, 4, 4))
    included = F.avg_pool2d(gw.tensor(x), 3, 1, 1).data[0, 0]
    excluded = F.avg_pool2d(gw.tensor(x), 3, 1, 1, count_include_pad=False).data[0, 0]
    assert included[0, 0] == pytest.approx(4 / 9) and included[0, 1] == pytest.approx(6 / 9)  # corner, edge
    np.testing.assert_allclose(excluded, 1.0)  # the mean of ones, whatever the window's overlap with the padding


def test_divisor_override_divides_every_window_by_that_number():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y = F.avg_pool2d(gw.tensor(x), 2, divisor_override=3)
    np.testing.assert_allclose(y.data[0, 0], x[0, 0].reshape(2, 2, 2, 2).sum(axis=(1, 3)) / 3)


def test_max_pool_dilation_spreads_the_window():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    y = F.max_pool2d(gw.tensor(-x), 2, 1, dilation=2)  # each window: (i, j), (i, j+2), (i+2, j), (i+2, j+2)
    np.testing.assert_array_equal(y.data[0, 0], -x[0, 0, :3, :3])


def test_default_options_run_the_plain_mean_with_no_extra_rows():
    """The defaults (and ceil_mode when the windows fit exactly) keep the fast path: mean, no divisor array."""
    x = leaf(R.standard_normal((1, 2, 6, 6)))
    for options in ({}, {"ceil_mode": True}, {"ceil_mode": True, "count_include_pad": False, "padding": 0}):
        pool = F.avg_pool2d(x, 2, **options)._creator
        assert pool.divisor is None and pool.extra == (0, 0)
    assert F.max_pool2d(x, 2, ceil_mode=True)._creator.extra == (0, 0)
    assert F.avg_pool2d(x, 3, 2, ceil_mode=True)._creator.extra == (1, 1)


GRID = [  # (size, kernel, stride, padding)
    ((5, 5), 2, 2, 0),
    ((7, 6), 3, 2, 1),
    ((6, 5), (3, 2), (2, 3), (1, 1)),
    ((5, 7), 2, 2, 1),
    ((4, 5), 3, 1, 1),
]


@pytest.mark.parametrize("size, kernel, stride, padding", GRID)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool_gradients_with_ceil_mode_and_dilation(size, kernel, stride, padding, ceil_mode):
    x = R.permutation(2 * 2 * size[0] * size[1]).reshape(2, 2, *size) / 10.0  # distinct values: no ties
    assert_grads(lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode), x)
    if size[0] >= 5 and size[1] >= 5:
        assert_grads(lambda t: F.max_pool2d(t, 2, 1, 1, dilation=2, ceil_mode=ceil_mode), x)


@pytest.mark.parametrize("size, kernel, stride, padding", GRID)
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_gradients_with_ceil_mode_and_count_include_pad(size, kernel, stride, padding, ceil_mode,
                                                                  count_include_pad):
    assert_grads(lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad),
                 R.standard_normal((2, 2, *size)))


def test_avg_pool_gradient_with_divisor_override():
    assert_grads(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, divisor_override=5), R.standard_normal((1, 2, 6, 5)))


def test_pooling_keeps_float32_in_every_mode():
    x = gw.zeros(1, 2, 5, 5)
    assert F.avg_pool2d(x, 2, ceil_mode=True, count_include_pad=False).dtype == np.float32
    assert F.avg_pool2d(x, 2, divisor_override=3).dtype == np.float32
    assert F.max_pool2d(x, 2, ceil_mode=True).dtype == np.float32


def test_pooling_option_errors():
    with pytest.raises(ConfigError, match="divisor_override must be a non-zero int or None, got 0"):
        F.avg_pool2d(gw.zeros(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(ConfigError, match="max_pool2d: return_indices=True is not supported"):
        F.max_pool2d(gw.zeros(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.avg_pool2d(gw.zeros(1, 1, 8, 8), 3, padding=2, ceil_mode=True)


@pytest.mark.parametrize("output_size, expected", [((2, None), (2, 7)), ((None, 3), (5, 3)), ((None, None), (5, 7))])
def test_adaptive_avg_pool_none_keeps_that_input_size(output_size, expected):
    x = R.standard_normal((2, 3, 5, 7))
    y = F.adaptive_avg_pool2d(gw.tensor(x), output_size)
    assert y.shape == (2, 3) + expected
    if output_size == (2, None):  # rows 0–2 and 2–4 averaged, every column kept
        np.testing.assert_allclose(y.data[:, :, 0], x[:, :, 0:3].mean(axis=2))
        np.testing.assert_allclose(y.data[:, :, 1], x[:, :, 2:5].mean(axis=2))
    assert_grads(lambda t: F.adaptive_avg_pool2d(t, output_size), x)


def test_adaptive_avg_pool_module_accepts_none():
    assert gw.nn.AdaptiveAvgPool2d((None, 1))(gw.zeros(2, 3, 5, 7)).shape == (2, 3, 5, 1)


def test_adaptive_avg_pool_bad_output_size_names_the_accepted_forms():
    with pytest.raises(ConfigError, match=r"output_size must be a positive int or a pair of positive ints or None "
                                          r"\(None keeps that input size\), got \(2, 3, 4\)"):
        F.adaptive_avg_pool2d(gw.zeros(1, 1, 4, 4), (2, 3, 4))
    with pytest.raises(ConfigError, match="got 0"):
        F.adaptive_avg_pool2d(gw.zeros(1, 1, 4, 4), 0)
