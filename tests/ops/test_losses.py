"""Losses: values by hand, class weights and ignored labels, bad arguments, and a float64 gradient
check of every loss under every reduction. (Agreement with PyTorch: tests/against_pytorch/test_losses.py.)"""
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn
from gradwork.errors import ConfigError, LabelError, ShapeError
from gradwork.ops.losses import CrossEntropy
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(11)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape):
    return R.standard_normal(shape)


def log_softmax(z, axis=1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- label smoothing with probabilities

def test_label_smoothing_applies_to_probability_targets():
    z = randn(4, 3)
    probs = R.dirichlet(np.ones(3), 4)
    eps = 0.3
    smoothed = (1 - eps) * probs + eps / 3
    expected = -(smoothed * log_softmax(z)).sum(axis=1)
    got = F.cross_entropy(gw.tensor(z), probs, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(got.data, expected, rtol=1e-12)


def test_smoothed_one_hot_probabilities_give_the_same_loss_and_gradient_as_smoothed_class_indices():
    labels = np.array([2, 0, 1, 1])
    a = leaf(randn(4, 3))
    b = leaf(a.data.copy())
    la = F.cross_entropy(a, labels, label_smoothing=0.2)
    lb = F.cross_entropy(b, np.eye(3)[labels], label_smoothing=0.2)
    la.backward()
    lb.backward()
    assert la.item() == pytest.approx(lb.item(), rel=1e-12)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12)


# ---------------------------------------------------------------- the new losses, by hand

def test_l1_loss_is_the_mean_absolute_error():
    x, y = gw.tensor([1.0, -2.0, 3.0]), np.array([0.5, 0.0, 3.0])
    assert F.l1_loss(x, y).item() == pytest.approx(2.5 / 3)
    assert F.l1_loss(x, y, reduction="sum").item() == pytest.approx(2.5)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction="none").data, [0.5, 2.0, 0.0])


def test_l1_loss_gradient_is_the_sign_of_the_error_and_zero_at_zero():
    x = leaf([1.0, -2.0, 3.0])
    F.l1_loss(x, np.array([0.5, 0.0, 3.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad, [1, -1, 0])


def test_smooth_l1_is_quadratic_inside_beta_and_linear_outside():
    d = np.array([0.2, -0.4, 1.0, -3.0])
    got = F.smooth_l1_loss(gw.tensor(d), np.zeros(4), reduction="none", beta=0.5).data
    np.testing.assert_allclose(got, [0.5 * 0.04 / 0.5, 0.5 * 0.16 / 0.5, 1.0 - 0.25, 3.0 - 0.25])


def test_smooth_l1_with_beta_zero_is_l1():
    x, y = randn(3, 4), randn(3, 4)
    assert F.smooth_l1_loss(gw.tensor(x), y, beta=0.0).item() == pytest.approx(F.l1_loss(gw.tensor(x), y).item())


def test_huber_is_delta_times_smooth_l1_with_beta_delta():
    x, y = randn(5, 3) * 3, randn(5, 3)
    for delta in (0.5, 1.0, 2.0):
        huber = F.huber_loss(gw.tensor(x), y, reduction="none", delta=delta).data
        smooth = F.smooth_l1_loss(gw.tensor(x), y, reduction="none", beta=delta).data
        np.testing.assert_allclose(huber, delta * smooth, rtol=1e-12)


def test_huber_gradient_is_capped_at_delta():
    x = leaf([0.5, 10.0, -10.0])
    F.huber_loss(x, np.zeros(3), reduction="sum", delta=2.0).backward()
    np.testing.assert_allclose(x.grad, [0.5, 2.0, -2.0])


def test_multi_margin_loss_is_the_cs231n_svm_loss():
    # CS231n's example: scores (3.2, 5.1, −1.7) for a cat (class 0), margin 1:
    # max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9, divided by C = 3 as PyTorch does.
    scores = gw.tensor([[3.2, 5.1, -1.7]], dtype=np.float64)
    assert F.multi_margin_loss(scores, [0]).item() == pytest.approx(2.9 / 3)
    assert F.multi_margin_loss(scores, [0], p=2).item() == pytest.approx(2.9 ** 2 / 3)
    assert F.multi_margin_loss(scores, [0], weight=np.array([2.0, 1.0, 1.0])).item() == pytest.approx(2 * 2.9 / 3)


def test_multi_margin_loss_is_zero_when_the_right_class_wins_by_the_margin():
    scores = leaf([[5.0, 3.9, -1.0], [0.0, 2.0, 0.5]])
    loss = F.multi_margin_loss(scores, [0, 1], reduction="none")
    np.testing.assert_array_equal(loss.data, [0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_array_equal(scores.grad, np.zeros((2, 3)))


def test_multi_margin_gradient_lowers_offending_scores_and_raises_the_right_one():
    scores = leaf([[3.2, 5.1, -1.7]])
    F.multi_margin_loss(scores, [0]).backward()
    np.testing.assert_allclose(scores.grad, [[-1 / 3, 1 / 3, 0.0]])


def test_multi_margin_weight_scales_the_loss_but_not_the_mean():
    z, labels = randn(6, 4), R.integers(0, 4, 6)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    per_example = F.multi_margin_loss(gw.tensor(z), labels, reduction="none").data
    weighted = F.multi_margin_loss(gw.tensor(z), labels, weight=w)
    assert weighted.item() == pytest.approx(np.mean(per_example * w[labels]))


def test_kl_div_batchmean_is_the_kl_divergence_per_example():
    p, q = R.dirichlet(np.ones(5), 3), R.dirichlet(np.ones(5), 3)
    kl = (p * np.log(p / q)).sum(axis=1)
    assert F.kl_div(gw.tensor(np.log(q)), p, reduction="batchmean").item() == pytest.approx(kl.mean())
    assert F.kl_div(gw.tensor(np.log(q)), p, reduction="sum").item() == pytest.approx(kl.sum())


def test_kl_div_mean_averages_over_every_element_as_pytorch_does():
    p, q = R.dirichlet(np.ones(5), 3), R.dirichlet(np.ones(5), 3)
    assert F.kl_div(gw.tensor(np.log(q)), p).item() == pytest.approx((p * np.log(p / q)).sum() / 15)


def test_kl_div_counts_zero_target_probabilities_as_zero():
    q = np.array([[0.5, 0.25, 0.25]])
    p = np.array([[1.0, 0.0, 0.0]])
    loss = F.kl_div(gw.tensor(np.log(q)), p, reduction="none")
    np.testing.assert_allclose(loss.data, [[math.log(2), 0.0, 0.0]])


def test_kl_div_with_log_target_equals_kl_div_with_probabilities():
    p, log_q = R.dirichlet(np.ones(4), 3), np.log(R.dirichlet(np.ones(4), 3))
    a = F.kl_div(gw.tensor(log_q), p, reduction="none").data
    b = F.kl_div(gw.tensor(log_q), np.log(p), reduction="none", log_target=True).data
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_kl_div_of_a_distribution_with_itself_is_zero():
    p = R.dirichlet(np.ones(4), 3)
    assert F.kl_div(gw.tensor(np.log(p)), p, reduction="sum").item() == pytest.approx(0.0, abs=1e-12)


def test_modules_hold_their_options_and_call_the_functions():
    x, y = randn(4, 3), randn(4, 3)
    assert nn.L1Loss(reduction="sum")(gw.tensor(x), y).item() == pytest.approx(np.abs(x - y).sum())
    assert nn.SmoothL1Loss(beta=0.5)(gw.tensor(x), y).item() == pytest.approx(
        F.smooth_l1_loss(gw.tensor(x), y, beta=0.5).item())
    assert nn.HuberLoss("sum", 2.0)(gw.tensor(x), y).item() == pytest.approx(
        F.huber_loss(gw.tensor(x), y, reduction="sum", delta=2.0).item())
    log_q, p = log_softmax(x), R.dirichlet(np.ones(3), 4)
    assert nn.KLDivLoss(reduction="batchmean")(gw.tensor(log_q), p).item() == pytest.approx(
        F.kl_div(gw.tensor(log_q), p, reduction="batchmean").item())
    labels = np.array([0, 2, 1, 1])
    assert nn.MultiMarginLoss(2, 0.5)(gw.tensor(x), labels).item() == pytest.approx(
        F.multi_margin_loss(gw.tensor(x), labels, p=2, margin=0.5).item())
    assert "label_smoothing=0.1" in repr(nn.CrossEntropyLoss(label_smoothing=0.1))


# ---------------------------------------------------------------- class weights and ignored labels

def test_ignored_targets_do_not_count_in_the_mean():
    z = randn(5, 3)
    labels = np.array([0, -100, 2, -100, 1])
    kept = labels != -100
    expected = -log_softmax(z)[np.flatnonzero(kept), labels[kept]].mean()
    assert F.cross_entropy(gw.tensor(z), labels).item() == pytest.approx(expected, rel=1e-12)
    assert F.nll_loss(gw.tensor(log_softmax(z)), labels).item() == pytest.approx(expected, rel=1e-12)


def test_ignored_targets_give_zero_loss_and_zero_gradient():
    z = leaf(randn(4, 3))
    labels = np.array([1, 2, 1, 0])
    loss = F.cross_entropy(z, labels, np.array([1.0, 2.0, 3.0]), ignore_index=1, reduction="none",
                           label_smoothing=0.1)
    assert loss.data[0] == 0 and loss.data[2] == 0 and loss.data[1] > 0
    loss.sum().backward()
    np.testing.assert_array_equal(z.grad[[0, 2]], 0.0)
    assert np.all(z.grad[[1, 3]] != 0)


def test_a_label_equal_to_ignore_index_is_not_rejected_as_out_of_range():
    F.cross_entropy(gw.zeros(3, 4), [0, -100, 3])
    F.cross_entropy(gw.zeros(3, 4), [0, 7, 3], ignore_index=7)
    F.nll_loss(gw.zeros(3, 4), [0, -1, 3], ignore_index=-1)


def test_other_out_of_range_labels_still_raise_a_label_error():
    with pytest.raises(LabelError, match=r"label 4 is outside \[0, 4\)"):
        F.cross_entropy(gw.zeros(3, 4), [0, -100, 4])
    with pytest.raises(LabelError, match=r"label -1 is outside"):
        F.nll_loss(gw.zeros(3, 4), [0, -100, -1])
    with pytest.raises(LabelError, match="outside"):
        F.multi_margin_loss(gw.zeros(2, 4), [0, 4])


def test_class_weight_mean_is_the_weighted_mean():
    z = randn(6, 3)
    labels = np.array([0, 1, 2, 2, 1, 0])
    w = np.array([1.0, 2.0, 0.5])
    per_example = -log_softmax(z)[np.arange(6), labels]
    expected = (w[labels] * per_example).sum() / w[labels].sum()
    assert F.cross_entropy(gw.tensor(z), labels, w).item() == pytest.approx(expected, rel=1e-12)
    assert F.nll_loss(gw.tensor(log_softmax(z)), labels, w).item() == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(F.cross_entropy(gw.tensor(z), labels, w, reduction="none").data,
                               w[labels] * per_example, rtol=1e-12)


def test_class_weight_multiplies_each_class_term_of_probability_targets_and_the_mean_stays_over_examples():
    z, probs = randn(4, 3), R.dirichlet(np.ones(3), 4)
    w = np.array([1.0, 2.0, 0.5])
    per_example = -(w * probs * log_softmax(z)).sum(axis=1)
    assert F.cross_entropy(gw.tensor(z), probs, w).item() == pytest.approx(per_example.mean(), rel=1e-12)


def test_ignore_index_is_rejected_with_probability_targets():
    with pytest.raises(ConfigError, match="ignore_index=0 cannot be used with class-probability targets"):
        F.cross_entropy(gw.zeros(2, 3), np.full((2, 3), 1 / 3), ignore_index=0)


def test_weighted_ignored_smoothed_cross_entropy_still_runs_the_fused_op():
    z = gw.tensor(randn(4, 3), requires_grad=True)
    loss = F.cross_entropy(z, [0, 1, -100, 2], np.array([1.0, 2.0, 3.0]), reduction="none", label_smoothing=0.1)
    assert isinstance(loss._creator, CrossEntropy)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("target", ["labels", "labels on images", "one example", "probabilities",
                                    "weighted probabilities", "smoothed labels"])
def test_the_plain_mean_is_taken_inside_the_op_with_the_mean_of_the_per_example_losses(target, dtype):
    """reduction='mean' without class weights on labels or ignored labels is one op (the course's
    SoftmaxWithLoss, whose gradient carries the 1/N): bit for bit the loss and gradient of the mean of
    reduction='none'."""
    shape = {"labels on images": (6, 4, 3, 2), "one example": (4,)}.get(target, (6, 4))
    logits = randn(*shape).astype(dtype)
    y = {"labels": R.integers(0, 4, 6), "labels on images": R.integers(0, 4, (6, 3, 2)),
         "one example": np.array(2), "probabilities": np.exp(log_softmax(randn(6, 4))),
         "weighted probabilities": np.exp(log_softmax(randn(6, 4))), "smoothed labels": R.integers(0, 4, 6)}[target]
    options = {"label_smoothing": 0.2 if target == "smoothed labels" else 0.0,
               "weight": np.array([1.0, 2.0, 0.5, 3.0]) if target == "weighted probabilities" else None}
    inside, outside = (gw.tensor(logits, requires_grad=True) for _ in range(2))
    loss = F.cross_entropy(inside, y, **options)
    assert isinstance(loss._creator, CrossEntropy) and loss.shape == ()
    loss.backward()
    per_example = F.cross_entropy(outside, y, reduction="none", **options)
    per_example.mean().backward()
    np.testing.assert_array_equal(loss.data, per_example.data.mean())
    np.testing.assert_array_equal(inside.grad, outside.grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("target", ["labels", "labels on images", "one example"])
def test_nll_loss_takes_the_plain_mean_inside_the_op_with_the_mean_of_the_per_example_losses(target, dtype):
    """nll_loss with reduction='mean' and no class weights or ignored labels is one op whose gradient carries
    the 1/M: bit for bit the loss and gradient of the mean of reduction='none'."""
    shape = {"labels on images": (6, 4, 3, 2), "one example": (4,)}.get(target, (6, 4))
    log_p = log_softmax(randn(*shape), axis=0 if target == "one example" else 1).astype(dtype)
    y = {"labels": R.integers(0, 4, 6), "labels on images": R.integers(0, 4, (6, 3, 2)),
         "one example": np.array(2)}[target]
    inside, outside = (gw.tensor(log_p, requires_grad=True) for _ in range(2))
    loss = F.nll_loss(inside, y)
    assert type(loss._creator).__name__ == "NegativeLogLikelihood" and loss.shape == ()
    loss.backward()
    F.nll_loss(outside, y, reduction="none").mean().backward()
    np.testing.assert_array_equal(loss.data, F.nll_loss(outside, y, reduction="none").data.mean())
    np.testing.assert_array_equal(inside.grad, outside.grad)


def test_the_mean_inside_the_op_passes_the_gradient_check():
    assert_grads(lambda t: F.cross_entropy(t, [0, 2, 1, 1, 0], label_smoothing=0.1), randn(5, 3))


def test_nll_loss_on_images_equals_nll_loss_on_the_flattened_pixels():
    x = leaf(log_softmax(randn(2, 3, 4, 5)))
    labels = R.integers(0, 3, (2, 4, 5))
    labels[0, 0, :2] = -100
    w = np.array([1.0, 2.0, 0.5])
    flat = F.nll_loss(np.moveaxis(x.data, 1, -1).reshape(-1, 3), labels.reshape(-1), w)
    assert F.nll_loss(x, labels, w).item() == pytest.approx(flat.item(), rel=1e-12)
    assert F.nll_loss(x, labels, reduction="none").shape == (2, 4, 5)


def test_token_cross_entropy_skips_padding_tokens():
    z, labels = randn(2, 3, 4), np.array([[1, 2, -100], [0, -100, -100]])
    kept = labels != -100
    assert F.token_cross_entropy(gw.tensor(z), labels).item() == pytest.approx(
        F.cross_entropy(gw.tensor(z[kept]), labels[kept]).item(), rel=1e-12)


def test_bce_weight_scales_each_element_and_broadcasts_per_output():
    p, y = R.uniform(0.1, 0.9, (4, 3)), R.integers(0, 2, (4, 3)).astype(float)
    w = np.array([0.5, 1.0, 2.0])
    plain = F.binary_cross_entropy(gw.tensor(p), y, reduction="none").data
    np.testing.assert_allclose(F.binary_cross_entropy(gw.tensor(p), y, w, reduction="none").data, plain * w)
    z = np.log(p / (1 - p))
    assert F.binary_cross_entropy_with_logits(gw.tensor(z), y, w).item() == pytest.approx((plain * w).mean())


def test_bce_with_logits_weight_and_pos_weight_combine():
    z, y = randn(4, 3), R.integers(0, 2, (4, 3)).astype(float)
    w, pw = R.uniform(0.5, 2, (4, 1)), np.array([1.0, 3.0, 0.5])
    log_sig, log_one_minus = -np.logaddexp(0, -z), -np.logaddexp(0, z)
    expected = -w * (pw * y * log_sig + (1 - y) * log_one_minus)
    got = F.binary_cross_entropy_with_logits(gw.tensor(z), y, w, reduction="none", pos_weight=pw)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12)


def test_loss_modules_keep_weight_as_a_buffer():
    loss = nn.CrossEntropyLoss(np.array([1.0, 2.0, 3.0]), ignore_index=0)
    assert set(loss.state_dict()) == {"weight"}
    assert list(loss.parameters()) == []
    z, labels = randn(4, 3), np.array([0, 1, 2, 1])
    assert loss(gw.tensor(z), labels).item() == pytest.approx(
        F.cross_entropy(gw.tensor(z), labels, np.array([1.0, 2.0, 3.0]), ignore_index=0).item())
    assert set(nn.BCEWithLogitsLoss(pos_weight=np.ones(3)).state_dict()) == {"pos_weight"}


def test_losses_keep_float32_in_value_and_gradient():
    z = gw.tensor(randn(4, 3).astype(np.float32), requires_grad=True)
    w, y = np.array([1.0, 2.0, 3.0]), randn(4, 3)
    for loss in (lambda: F.cross_entropy(z, [0, 1, -100, 2], w, label_smoothing=0.1),
                 lambda: F.cross_entropy(z, R.dirichlet(np.ones(3), 4), w, label_smoothing=0.1),
                 lambda: F.nll_loss(z, [0, 1, -100, 2], w), lambda: F.multi_margin_loss(z, [0, 1, 2, 2], 2, 1.0, w),
                 lambda: F.l1_loss(z, y), lambda: F.smooth_l1_loss(z, y), lambda: F.huber_loss(z, y),
                 lambda: F.kl_div(z, R.dirichlet(np.ones(3), 4), reduction="batchmean"),
                 lambda: F.binary_cross_entropy_with_logits(z, (y > 0) * 1.0, w, pos_weight=w)):
        z.grad = None
        out = loss()
        out.backward()
        assert out.dtype == np.float32 and z.grad.dtype == np.float32


# ---------------------------------------------------------------- bad arguments

def test_p_other_than_one_or_two_is_rejected():
    for p in (0, 3, 1.5):
        with pytest.raises(ConfigError, match=r"multi_margin_loss: p must be 1 \(hinge\) or 2"):
            F.multi_margin_loss(gw.zeros(2, 3), [0, 1], p=p)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "multi_margin_loss"])
def test_a_class_weight_must_have_shape_c(loss):
    with pytest.raises(ShapeError, match=rf"{loss}: weight must have shape \(C,\) = \(3,\).*got shape \(2,\)"):
        getattr(F, loss)(gw.zeros(2, 3), [0, 1], weight=np.ones(2))
    with pytest.raises(ShapeError, match=r"weight must have shape \(C,\) = \(3,\).*got shape \(1, 3\)"):
        getattr(F, loss)(gw.zeros(2, 3), [0, 1], weight=np.ones((1, 3)))


def test_a_reduction_passed_where_pytorch_takes_weight_is_explained():
    with pytest.raises(ConfigError, match="pass the reduction by name: reduction='sum'"):
        F.cross_entropy(gw.zeros(2, 3), [0, 1], "sum")
    with pytest.raises(ConfigError, match="reduction='none'"):
        F.binary_cross_entropy_with_logits(gw.zeros(2, 3), np.zeros((2, 3)), "none")


def test_a_bce_weight_must_broadcast_to_the_input():
    with pytest.raises(ShapeError, match=r"weight of shape \(2,\) does not broadcast to the input shape \(2, 3\)"):
        F.binary_cross_entropy(gw.full((2, 3), 0.5), np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ShapeError, match=r"pos_weight of shape \(2, 2, 3\) does not broadcast"):
        F.binary_cross_entropy_with_logits(gw.zeros(2, 3), np.zeros((2, 3)), pos_weight=np.ones((2, 2, 3)))


LOSS_CALLS = {
    "cross_entropy": lambda r: F.cross_entropy(gw.zeros(2, 3), [0, 1], reduction=r),
    "nll_loss": lambda r: F.nll_loss(gw.zeros(2, 3), [0, 1], reduction=r),
    "multi_margin_loss": lambda r: F.multi_margin_loss(gw.zeros(2, 3), [0, 1], reduction=r),
    "mse_loss": lambda r: F.mse_loss(gw.zeros(2), np.zeros(2), reduction=r),
    "l1_loss": lambda r: F.l1_loss(gw.zeros(2), np.zeros(2), reduction=r),
    "smooth_l1_loss": lambda r: F.smooth_l1_loss(gw.zeros(2), np.zeros(2), reduction=r),
    "huber_loss": lambda r: F.huber_loss(gw.zeros(2), np.zeros(2), reduction=r),
    "binary_cross_entropy": lambda r: F.binary_cross_entropy(gw.full((2,), 0.5), np.zeros(2), reduction=r),
    "binary_cross_entropy_with_logits": lambda r: F.binary_cross_entropy_with_logits(gw.zeros(2), np.zeros(2),
                                                                                     reduction=r),
}


@pytest.mark.parametrize("loss", list(LOSS_CALLS))
def test_an_unknown_reduction_is_rejected_with_the_valid_ones(loss):
    with pytest.raises(ConfigError, match=rf"{loss}: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        LOSS_CALLS[loss]("avg")
    with pytest.raises(ConfigError, match="got 'batchmean'"):
        LOSS_CALLS[loss]("batchmean")


def test_kl_div_knows_batchmean_and_rejects_unknown_reductions():
    with pytest.raises(ConfigError, match=r"kl_div: reduction must be one of \('mean', 'batchmean', 'sum', 'none'\)"):
        F.kl_div(gw.zeros(2, 3), np.zeros((2, 3)), reduction="batch")


def test_negative_beta_and_non_positive_delta_are_rejected():
    with pytest.raises(ConfigError, match=r"smooth_l1_loss: beta must be ≥ 0.*got -0.5"):
        F.smooth_l1_loss(gw.zeros(2), np.zeros(2), beta=-0.5)
    for delta in (0.0, -1.0):
        with pytest.raises(ConfigError, match="huber_loss: delta must be > 0"):
            F.huber_loss(gw.zeros(2), np.zeros(2), delta=delta)


def test_kl_div_input_and_target_shapes_must_match():
    with pytest.raises(ShapeError, match=r"kl_div: target shape \(3,\) differs from input shape \(2, 3\)"):
        F.kl_div(gw.zeros(2, 3), np.full(3, 1 / 3))


def test_label_smoothing_outside_zero_one_is_rejected():
    with pytest.raises(ConfigError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(gw.zeros(2, 3), [0, 1], label_smoothing=1.5)


# ---------------------------------------------------------------- gradient checks (float64)

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses(reduction):
    labels = np.array([0, 2, 1, 2])
    probs = R.dirichlet(np.ones(3), 4)
    assert_grads(lambda z: F.cross_entropy(z, labels, reduction=reduction), randn(4, 3))
    assert_grads(lambda z: F.cross_entropy(z, probs, reduction=reduction), randn(4, 3))
    assert_grads(lambda z: F.cross_entropy(z, labels, reduction=reduction, label_smoothing=0.1), randn(4, 3))
    assert_grads(lambda z: F.nll_loss(F.log_softmax(z, 1), labels, reduction=reduction), randn(4, 3))
    target = randn(4, 3)
    assert_grads(lambda y: F.mse_loss(y, target, reduction=reduction), randn(4, 3))
    targets = R.integers(0, 2, (4, 3)).astype(float)
    assert_grads(lambda p: F.binary_cross_entropy(p, targets, reduction=reduction), R.uniform(0.1, 0.9, (4, 3)))
    assert_grads(lambda z: F.binary_cross_entropy_with_logits(z, targets, reduction=reduction), randn(4, 3))
    assert_grads(lambda z: F.binary_cross_entropy_with_logits(z, targets, reduction=reduction,
                                                              pos_weight=np.array([1., 2., 3.])), randn(4, 3))


def test_cross_entropy_on_images_of_logits():
    labels = R.integers(0, 3, (2, 4, 5))
    assert_grads(lambda z: F.cross_entropy(z, labels), randn(2, 3, 4, 5))


@pytest.mark.parametrize("spatial", [(), (2, 3)], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weight", [None, np.array([0.5, 2.0, 1.5])], ids=["unweighted", "weighted"])
def test_cross_entropy_gradients_with_weight_ignore_index_and_smoothing(weight, label_smoothing, reduction, spatial):
    labels = R.integers(0, 3, (4,) + spatial)
    labels.reshape(-1)[[1, 2]] = -100
    probs = np.moveaxis(R.dirichlet(np.ones(3), (4,) + spatial), -1, 1)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    assert_grads(lambda z: F.cross_entropy(z, labels, weight, **options), randn(4, 3, *spatial))
    class_2_ignored = np.where(labels == -100, 0, labels)
    assert_grads(lambda z: F.cross_entropy(z, class_2_ignored, weight, ignore_index=2, **options),
                 randn(4, 3, *spatial))
    assert_grads(lambda z: F.cross_entropy(z, probs, weight, **options), randn(4, 3, *spatial))


@pytest.mark.parametrize("spatial", [(), (2, 3)], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, np.array([0.5, 2.0, 1.5])], ids=["unweighted", "weighted"])
def test_nll_loss_gradients_with_weight_and_ignore_index(weight, reduction, spatial):
    labels = R.integers(0, 3, (4,) + spatial)
    labels.reshape(-1)[1] = -100
    assert_grads(lambda x: F.nll_loss(x, labels, weight, reduction=reduction), randn(4, 3, *spatial))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weight", [None, np.array([0.5, 2.0, 1.5, 1.0])], ids=["unweighted", "weighted"])
def test_multi_margin_loss_gradients(weight, p, reduction):
    labels = R.integers(0, 4, 5)
    # Violations 1 − x_y + x_j are then a multiple of 0.1 plus 0.03·(j − y) ≠ 0: never at the kink max(0, ·).
    scores = np.round(randn(5, 4), 1) + 0.03 * np.arange(4)
    assert_grads(lambda x: F.multi_margin_loss(x, labels, p, 1.0, weight, reduction=reduction), scores)
    assert_grads(lambda x: F.multi_margin_loss(x, labels[0], p, 0.5, weight, reduction=reduction), scores[0])


def errors_away_from(kinks, shape):
    """Errors d whose size is at least 0.05 from each kink (0, β, δ): finite differences stay on one side."""
    d = R.uniform(0.1, 3.0, shape) * R.choice([-1, 1], shape)
    for kink in kinks:
        near = np.abs(np.abs(d) - kink) < 0.05
        d[near] += 0.1 * np.sign(d[near])
    return d


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options, kink", [("l1_loss", {}, 0.0), ("smooth_l1_loss", {}, 1.0),
                                                 ("smooth_l1_loss", {"beta": 0.5}, 0.5),
                                                 ("smooth_l1_loss", {"beta": 0.0}, 0.0), ("huber_loss", {}, 1.0),
                                                 ("huber_loss", {"delta": 2.0}, 2.0)])
def test_regression_loss_gradients(name, options, kink, reduction):
    target = randn(4, 3)
    x = target + errors_away_from((0.0, kink), (4, 3))
    assert_grads(lambda a: getattr(F, name)(a, target, reduction=reduction, **options), x)


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradients(log_target, reduction):
    target = R.dirichlet(np.ones(4), 3)
    target[0, 0] = 0.0
    if log_target:
        target = np.log(R.dirichlet(np.ones(4), 3))
    assert_grads(lambda x: F.kl_div(x, target, reduction=reduction, log_target=log_target),
                 np.log(R.dirichlet(np.ones(4), 3)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_binary_cross_entropy_gradients(reduction):
    y = R.integers(0, 2, (4, 3)).astype(float)
    w, pw = R.uniform(0.5, 2, (4, 1)), np.array([1.0, 3.0, 0.5])
    assert_grads(lambda p: F.binary_cross_entropy(p, y, w, reduction=reduction), R.uniform(0.1, 0.9, (4, 3)))
    assert_grads(lambda z: F.binary_cross_entropy_with_logits(z, y, w, reduction=reduction), randn(4, 3))
    assert_grads(lambda z: F.binary_cross_entropy_with_logits(z, y, w, reduction=reduction, pos_weight=pw),
                 randn(4, 3))


# ----------------------------------------------------------------- values worked out by hand
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
