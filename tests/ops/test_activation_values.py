"""Activations and softmax against values worked out by hand (losses by hand: test_losses.py)."""
import math

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F


def test_activation_values_by_hand():
    x = gw.tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(F.relu(x).data, [0, 0, 3])
    np.testing.assert_allclose(F.leaky_relu(x, 0.1).data, [-0.2, 0, 3])
    np.testing.assert_allclose(F.sigmoid(x).data, [1 / (1 + math.e ** 2), 0.5, 1 / (1 + math.e ** -3)], rtol=1e-6)
    np.testing.assert_allclose(F.tanh(x).data, [math.tanh(-2), 0, math.tanh(3)], rtol=1e-6)
    np.testing.assert_array_equal(F.step(x).data, [0, 0, 1])


def test_softmax_by_hand():
    p = F.softmax(gw.tensor([1.0, 2.0, 3.0])).data
    e = np.exp([1, 2, 3])
    np.testing.assert_allclose(p, e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(gw.tensor([1.0, 2.0, 3.0])).data, np.log(e / e.sum()), rtol=1e-6)


def test_sigmoid_and_softmax_do_not_overflow():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_allclose(F.sigmoid(gw.tensor([-1000.0, 1000.0])).data, [0, 1])
        np.testing.assert_allclose(F.softmax(gw.tensor([1000.0, 0.0])).data, [1, 0])
