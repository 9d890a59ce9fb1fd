"""Every loss against torch.nn.functional in float64: values and input gradients agree to ~1e-10
over the options (class weight × ignore_index × label smoothing × reduction × index / probability
targets × (N, C) / (N, C, d1, d2) inputs, and the options of the other losses).

PyTorch is not a dependency; these tests are skipped where it is not installed.
"""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn
from tests.helpers import leaf

torch = pytest.importorskip("torch")
tf = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
C = 4


def assert_same(ours, theirs, x, tol=1e-10):
    """``ours`` (on a gradwork leaf) and ``theirs`` (on a torch leaf) give the same value and the same
    gradient of Σ r ⊙ output (fixed random r) with respect to the input array ``x``."""
    gx = leaf(x)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, tout = ours(gx), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    r = np.random.default_rng(99).standard_normal(out.shape)
    (out * gw.tensor(r)).sum().backward()
    (tout * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=tol, atol=tol)


def t(a):
    return None if a is None else torch.from_numpy(np.asarray(a))


def class_problem(spatial, seed=0):
    """Logits (N, C, *spatial), labels (N, *spatial) and probabilities (N, C, *spatial)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((5, C) + spatial) * 2
    labels = rng.integers(0, C, (5,) + spatial)
    probs = rng.dirichlet(np.ones(C), (5,) + spatial)
    return z, labels, np.moveaxis(probs, -1, 1).copy()


WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
# (ignore_index, how many labels to set to it): none ignored, padding -100, an in-range class ignored
IGNORES = [(-100, 0), (-100, 3), (1, None)]


@pytest.mark.parametrize("spatial", [(), (3, 2)], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", IGNORES, ids=["no-ignored", "padding", "class-1-ignored"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
def test_cross_entropy_with_class_indices(weight, ignore, label_smoothing, reduction, spatial):
    z, labels, _ = class_problem(spatial)
    ignore_index, how_many = ignore
    if how_many:
        labels.reshape(-1)[[0, 2, 4][:how_many]] = ignore_index
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    assert_same(lambda x: F.cross_entropy(x, labels, weight, **options),
                lambda x: tf.cross_entropy(x, t(labels), t(weight), **options), z)


@pytest.mark.parametrize("spatial", [(), (3, 2)], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
def test_cross_entropy_with_probability_targets(weight, label_smoothing, reduction, spatial):
    z, _, probs = class_problem(spatial)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    assert_same(lambda x: F.cross_entropy(x, probs, weight, **options),
                lambda x: tf.cross_entropy(x, t(probs), t(weight), **options), z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
def test_cross_entropy_of_one_example(weight, reduction):
    z, labels, probs = class_problem(())
    for target in (np.array(labels[0]), probs[0]):
        options = dict(reduction=reduction, label_smoothing=0.1)
        assert_same(lambda x: F.cross_entropy(x, target, weight, **options),
                    lambda x: tf.cross_entropy(x, t(target), t(weight), **options), z[0])


@pytest.mark.parametrize("spatial", [(), (3, 2)], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", IGNORES, ids=["no-ignored", "padding", "class-1-ignored"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
def test_nll_loss(weight, ignore, reduction, spatial):
    z, labels, _ = class_problem(spatial)
    ignore_index, how_many = ignore
    if how_many:
        labels.reshape(-1)[[0, 2, 4][:how_many]] = ignore_index
    options = dict(ignore_index=ignore_index, reduction=reduction)
    assert_same(lambda x: F.nll_loss(x, labels, weight, **options),
                lambda x: tf.nll_loss(x, t(labels), t(weight), **options), z)


def test_nll_loss_of_one_example():
    z, labels, _ = class_problem(())
    assert_same(lambda x: F.nll_loss(x, np.array(labels[0]), WEIGHT),
                lambda x: tf.nll_loss(x, t(np.array(labels[0])), t(WEIGHT)), z[0])


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_every_target_ignored_gives_nan_and_zero_gradients_as_in_pytorch(loss):
    z = np.random.default_rng(3).standard_normal((3, C))
    labels = np.full(3, -100)
    x = leaf(z)
    out = getattr(F, loss)(x, labels, WEIGHT)
    tx = torch.tensor(z, requires_grad=True)
    tout = getattr(tf, loss)(tx, t(labels), t(WEIGHT))
    assert np.isnan(out.item()) and torch.isnan(tout)
    out.backward()
    tout.backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, margin, weight", [(1, 1.0, None), (2, 1.0, None), (1, 0.5, WEIGHT), (2, 2.0, WEIGHT)])
def test_multi_margin_loss(p, margin, weight, reduction):
    z, labels, _ = class_problem(())
    assert_same(lambda x: F.multi_margin_loss(x, labels, p, margin, weight, reduction=reduction),
                lambda x: tf.multi_margin_loss(x, t(labels), p, margin, t(weight), reduction=reduction), z)
    assert_same(lambda x: F.multi_margin_loss(x, np.array(labels[0]), p, margin, weight, reduction=reduction),
                lambda x: tf.multi_margin_loss(x, t(np.array(labels[0])), p, margin, t(weight), reduction=reduction),
                z[0])


def regression_problem():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3, 2)) * 2
    return x, x + rng.standard_normal(x.shape) * 1.5  # errors both inside and outside β = 1


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                           ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
                                           ("huber_loss", {}), ("huber_loss", {"delta": 0.5}),
                                           ("huber_loss", {"delta": 2.5})])
def test_regression_losses(name, options, reduction):
    x, y = regression_problem()
    assert_same(lambda a: getattr(F, name)(a, y, reduction=reduction, **options),
                lambda a: getattr(tf, name)(a, t(y), reduction=reduction, **options), x)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's advice to prefer 'batchmean'
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(log_target, reduction):
    rng = np.random.default_rng(5)
    log_p = np.log(rng.dirichlet(np.ones(C), 6))
    target = rng.dirichlet(np.ones(C), 6)
    target[0, 1] = 0.0  # 0·log 0 counts as 0
    if log_target:
        target = np.log(rng.dirichlet(np.ones(C), 6))
    assert_same(lambda a: F.kl_div(a, target, reduction=reduction, log_target=log_target),
                lambda a: tf.kl_div(a, t(target), reduction=reduction, log_target=log_target), log_p)


BINARY_WEIGHTS = {"none": None, "per-output": np.array([0.5, 1.0, 2.0]), "per-element": "full",
                  "per-row": np.array([[1.0], [0.0], [2.0], [0.5]])}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", list(BINARY_WEIGHTS), ids=list(BINARY_WEIGHTS))
@pytest.mark.parametrize("pos_weight", [None, np.array([1.0, 3.0, 0.5])], ids=["no-pos-weight", "pos-weight"])
def test_binary_cross_entropy_with_logits(pos_weight, weight, reduction):
    rng = np.random.default_rng(6)
    z = rng.standard_normal((4, 3)) * 3
    y = rng.integers(0, 2, (4, 3)).astype(float)
    w = rng.uniform(0.1, 2, (4, 3)) if isinstance(BINARY_WEIGHTS[weight], str) else BINARY_WEIGHTS[weight]
    assert_same(lambda a: F.binary_cross_entropy_with_logits(a, y, w, reduction=reduction, pos_weight=pos_weight),
                lambda a: tf.binary_cross_entropy_with_logits(a, t(y), t(w), reduction=reduction,
                                                              pos_weight=t(pos_weight)), z)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", list(BINARY_WEIGHTS), ids=list(BINARY_WEIGHTS))
def test_binary_cross_entropy(weight, reduction):
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, (4, 3))
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.1, 2, (4, 3)) if isinstance(BINARY_WEIGHTS[weight], str) else BINARY_WEIGHTS[weight]
    assert_same(lambda a: F.binary_cross_entropy(a, y, w, reduction=reduction),
                lambda a: tf.binary_cross_entropy(a, t(y), t(w), reduction=reduction), p)


def test_modules_match_pytorch_modules():
    z, labels, probs = class_problem((3, 2))
    labels.reshape(-1)[:2] = 2
    x, y = regression_problem()
    pairs = [
        (nn.CrossEntropyLoss(gw.tensor(WEIGHT), ignore_index=2, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(t(WEIGHT), ignore_index=2, label_smoothing=0.1), z, labels),
        (nn.CrossEntropyLoss(WEIGHT, reduction="sum"), torch.nn.CrossEntropyLoss(t(WEIGHT), reduction="sum"), z,
         probs),
        (nn.NLLLoss(WEIGHT, ignore_index=2), torch.nn.NLLLoss(t(WEIGHT), ignore_index=2), z, labels),
        (nn.MultiMarginLoss(2, 0.5, WEIGHT), torch.nn.MultiMarginLoss(2, 0.5, t(WEIGHT)), z[:, :, 0, 0],
         labels[:, 0, 0]),
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), x, y),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), x, y),
        (nn.HuberLoss("none", 0.5), torch.nn.HuberLoss("none", 0.5), x, y),
        (nn.KLDivLoss(reduction="batchmean", log_target=True), torch.nn.KLDivLoss(reduction="batchmean",
                                                                                  log_target=True), x, y),
        (nn.BCEWithLogitsLoss(np.full(2, 0.5), pos_weight=np.full(2, 2.0)),
         torch.nn.BCEWithLogitsLoss(t(np.full(2, 0.5)), pos_weight=t(np.full(2, 2.0))), x, (y > 0).astype(float)),
        (nn.BCELoss(np.full(2, 0.5)), torch.nn.BCELoss(t(np.full(2, 0.5))), 1 / (1 + np.exp(-x)),
         (y > 0).astype(float)),
    ]
    for ours, theirs, x_, y_ in pairs:
        assert_same(lambda a: ours(a, y_), lambda a: theirs(a, t(y_)), x_)

