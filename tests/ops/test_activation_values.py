"""Activations and losses against values worked out by hand."""
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.errors import LabelError, ShapeError


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


def test_cross_entropy_by_hand():
    logits = gw.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = [0, 1]
    manual = [-math.log(math.exp(2) / (math.exp(2) + math.exp(1) + math.exp(0.1))),
              -math.log(math.exp(2.5) / (math.exp(0.5) + math.exp(2.5) + math.exp(0.3)))]
    np.testing.assert_allclose(F.cross_entropy(logits, labels, reduction="none").data, manual, rtol=1e-6)
    assert F.cross_entropy(logits, labels).item() == pytest.approx(np.mean(manual), rel=1e-6)
    assert F.cross_entropy(logits, labels, reduction="sum").item() == pytest.approx(sum(manual), rel=1e-6)


def test_cross_entropy_of_uniform_logits_is_log_of_the_class_count():
    assert F.cross_entropy(gw.zeros(4, 10), [1, 2, 3, 4]).item() == pytest.approx(math.log(10), rel=1e-6)


def test_cross_entropy_is_stable_at_extreme_logits():
    logits = gw.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = F.cross_entropy(logits, [1, 1])
        loss.backward()
    assert loss.item() == pytest.approx(1e4, rel=1e-6)  # first row: wrong by 2e4 → loss 2e4; second: 0
    assert np.all(np.isfinite(logits.grad))
    np.testing.assert_allclose(logits.grad, [[0.5, -0.5, 0], [0, 0, 0]], atol=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    z = gw.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    F.cross_entropy(z, [2]).backward()
    p = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    np.testing.assert_allclose(z.grad, [p - [0, 0, 1]], rtol=1e-6)


def test_cross_entropy_with_probability_targets_matches_class_indices():
    z = gw.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, -1.0]])
    onehot = np.eye(3, dtype=np.float32)[[2, 0]]
    assert F.cross_entropy(z, onehot).item() == pytest.approx(F.cross_entropy(z, [2, 0]).item(), rel=1e-6)


def test_binary_losses_by_hand():
    p = gw.tensor([0.9, 0.2])
    y = np.array([1.0, 0.0])
    manual = [-math.log(0.9), -math.log(0.8)]
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction="none").data, manual, rtol=1e-6)
    logits = gw.tensor([math.log(9), math.log(0.25)])  # σ = 0.9, 0.2
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(logits, y, reduction="none").data, manual, rtol=1e-5)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        big = F.binary_cross_entropy_with_logits(gw.tensor([1e4, -1e4]), np.array([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(big.data, [1e4, 1e4])


def test_mse_by_hand():
    assert F.mse_loss(gw.tensor([1.0, 2.0]), np.array([0.0, 4.0])).item() == pytest.approx(2.5)


def test_mse_rejects_targets_that_would_broadcast():
    with pytest.raises(ShapeError, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        F.mse_loss(gw.zeros(4, 1), np.zeros(4))


def test_labels_outside_the_class_range_are_rejected():
    with pytest.raises(LabelError, match=r"label 3 is outside \[0, 3\)"):
        F.cross_entropy(gw.zeros(2, 3), [0, 3])
    with pytest.raises(LabelError, match=r"label -1"):
        F.nll_loss(gw.zeros(2, 3), [-1, 0])
    with pytest.raises(LabelError, match="integers"):
        F.cross_entropy(gw.zeros(2, 3), np.array([0.5, 1.0]))
    with pytest.raises(ShapeError, match="labels"):
        F.nll_loss(gw.zeros(2, 3), [0, 1, 2])


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(gw.zeros(2, 3), [0, 1], reduction="avg")


def test_penalties_by_hand():
    w = [gw.tensor([1.0, -2.0]), gw.tensor([[3.0]])]
    assert F.l1_penalty(w).item() == 6
    assert F.l2_penalty(w).item() == 14
