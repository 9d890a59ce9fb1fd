"""Layers: shapes, parameter layout, default init, dropout semantics."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn


def test_linear_weight_is_out_by_in_and_computes_x_wt_plus_b():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = gw.randn(5, 3)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-6)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_linear_without_bias_and_on_batched_sequences():
    layer = nn.Linear(3, 4, bias=False)
    assert layer.bias is None and len(list(layer.parameters())) == 1
    assert layer(gw.zeros(2, 5, 3)).shape == (2, 5, 4)


def test_linear_rejects_inputs_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) has 5 features but the weight \(4, 3\)"):
        nn.Linear(3, 4)(gw.zeros(2, 5))


def test_dropout_is_identity_in_eval_mode():
    layer = nn.Dropout(0.5).eval()
    x = gw.randn(10, 10)
    np.testing.assert_array_equal(layer(x).data, x.data)


def test_dropout_scales_kept_units_by_one_over_keep_probability():
    layer = nn.Dropout(0.25)
    y = layer(gw.ones(200, 200)).data
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / 0.75, rtol=1e-6)
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.02)  # expectation unchanged


def test_dropout_masks_follow_manual_seed():
    gw.manual_seed(3)
    a = nn.Dropout(0.5)(gw.ones(50)).data
    gw.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Dropout(0.5)(gw.ones(50)).data)


def test_activation_modules_and_flatten():
    x = gw.tensor([[-1.0, 2.0]])
    assert nn.ReLU()(x).data.tolist() == [[0.0, 2.0]]
    assert nn.LeakyReLU(0.5)(x).data.tolist() == [[-0.5, 2.0]]
    assert nn.Sigmoid()(x).shape == nn.Tanh()(x).shape == (1, 2)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).data.sum(), 1.0, rtol=1e-6)
    assert nn.Flatten()(gw.zeros(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Identity()(x) is x


def test_loss_modules_match_functions():
    z, y = gw.randn(4, 3), np.array([0, 1, 2, 1])
    assert nn.CrossEntropyLoss()(z, y).item() == pytest.approx(nn.functional.cross_entropy(z, y).item())
    assert nn.CrossEntropyLoss(reduction="sum")(z, y).item() == pytest.approx(
        4 * nn.functional.cross_entropy(z, y).item(), rel=1e-5)
    p = gw.tensor([0.2, 0.7])
    t = np.array([0.0, 1.0])
    assert nn.BCELoss()(p, t).item() == pytest.approx(nn.BCEWithLogitsLoss()(gw.log(p / (1 - p)), t).item(), rel=1e-5)
    assert nn.MSELoss()(p, t).item() == pytest.approx((0.04 + 0.09) / 2, rel=1e-5)
