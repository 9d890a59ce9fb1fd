"""Initialisers: the variance formulas, gains and orthogonality."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork.nn import init


def weight(*shape):
    return gw.nn.Parameter(np.empty(shape, np.float32))


def test_gains():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish2")


@pytest.mark.parametrize("fn, expected_std", [
    (lambda w: init.xavier_uniform_(w), math.sqrt(2 / (300 + 200))),
    (lambda w: init.xavier_normal_(w), math.sqrt(2 / (300 + 200))),
    (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 200)),
    (lambda w: init.normal_(w, 0, 0.01), 0.01),
])
def test_initialisers_have_the_documented_standard_deviation(fn, expected_std):
    w = fn(weight(200, 300))
    assert w.data.std() == pytest.approx(expected_std, rel=0.03)
    assert abs(w.data.mean()) < expected_std * 0.05


def test_fans_count_the_receptive_field_of_conv_weights():
    w = init.kaiming_normal_(weight(64, 32, 3, 3), nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.03)


def test_constant_zeros_uniform():
    assert np.all(init.zeros_(weight(3, 3)).data == 0)
    assert np.all(init.constant_(weight(3), 0.5).data == 0.5)
    w = init.uniform_(weight(100, 100), -0.1, 0.2).data
    assert w.min() >= -0.1 and w.max() <= 0.2


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = init.orthogonal_(weight(*shape)).data.astype(np.float64)
    small = min(shape)
    product = w @ w.T if shape[0] <= shape[1] else w.T @ w
    np.testing.assert_allclose(product, np.eye(small), atol=1e-5)


def test_init_of_a_vector_says_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(weight(5))
