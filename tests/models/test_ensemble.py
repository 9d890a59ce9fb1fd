"""Ensemble: the mean of the members' probabilities, exactly; its output works with the existing losses,
metrics and evaluate; gradients flow; clear errors."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn, train
from gradwork.errors import ConfigError, ShapeError
from gradwork.models import Ensemble
from gradwork.ops.losses import cross_entropy, nll_loss
from tests.helpers import leaf


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def members(n=3, features=4, classes=5):
    gw.manual_seed(1)
    return [nn.Linear(features, classes) for _ in range(n)]


def test_output_is_the_log_of_the_mean_of_the_members_probabilities(rng):
    models = members()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    ensemble = Ensemble(models)
    mean = np.mean([softmax(m(x).numpy().astype(np.float64)) for m in models], axis=0)
    np.testing.assert_allclose(np.exp(ensemble(x).numpy()), mean, rtol=1e-5)
    np.testing.assert_allclose(ensemble.predict_proba(x).numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(ensemble.predict_proba(x).numpy().sum(1), 1, rtol=1e-6)


def test_exact_by_hand_for_two_members():
    # member 1 gives probabilities (e/(1+e), 1/(1+e)), member 2 (1/2, 1/2): the mean is their average
    a, b = nn.Linear(1, 2).double(), nn.Linear(1, 2).double()
    a.weight.data[...] = [[1.0], [0.0]]
    b.weight.data[...] = 0.0
    a.bias.data[...] = b.bias.data[...] = 0.0
    p = Ensemble([a, b]).predict_proba(np.ones((1, 1))).numpy()[0]
    first = math.e / (1 + math.e)
    np.testing.assert_allclose(p, [(first + 0.5) / 2, (1 - first + 0.5) / 2], rtol=1e-14)


def test_one_member_is_its_own_log_softmax_and_extreme_logits_stay_finite(rng):
    model = nn.Linear(3, 4).double()
    x = rng.standard_normal((5, 3)) * 1e4                          # probabilities of e^−10000: log kept exact
    out = Ensemble([model])(x).numpy()
    z = model(x).numpy()
    np.testing.assert_allclose(out, z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True))
                                                                         .sum(1, keepdims=True)), rtol=1e-12)
    assert np.isfinite(out).all()


def test_existing_losses_metrics_and_evaluate_read_it_as_the_ensemble(rng):
    models = members()
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.integers(0, 5, 40)
    ensemble = Ensemble(models)
    mean = np.mean([softmax(m(x).numpy().astype(np.float64)) for m in models], axis=0)
    nll = -np.log(mean[np.arange(40), y]).mean()
    assert cross_entropy(ensemble(x), y).item() == pytest.approx(nll, rel=1e-5)   # log_softmax leaves it as is
    assert nll_loss(ensemble(x), y).item() == pytest.approx(nll, rel=1e-5)
    results = train.evaluate(ensemble, (x, y), loss="cross_entropy")
    assert results["loss"] == pytest.approx(nll, rel=1e-5)
    assert results["accuracy"] == pytest.approx((mean.argmax(1) == y).mean())


def test_gradients_flow_to_the_input_and_members(rng):
    models = [m.double() for m in members(2, 3, 4)]
    report = gw.tools.gradcheck(lambda x, *p: Ensemble(models)(x), [leaf(rng.standard_normal((5, 3)))]
                                + list(models[0].parameters()) + list(models[1].parameters()))
    assert report.max_error < 1e-7, str(report)


def test_members_are_registered_and_follow_train_and_eval():
    ensemble = Ensemble([nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5)) for _ in range(2)])
    assert sorted(ensemble.state_dict()) == ["models.0.0.bias", "models.0.0.weight", "models.1.0.bias",
                                             "models.1.0.weight"]
    ensemble.eval()
    assert not any(m.training for m in ensemble.modules())
    assert len(ensemble) == 2 and "2 members" in repr(ensemble)


def test_clear_errors():
    with pytest.raises(ConfigError, match="at least one model"):
        Ensemble([])
    with pytest.raises(ConfigError, match="member 1 is a function"):
        Ensemble([nn.Linear(2, 2), lambda x: x])
    with pytest.raises(ShapeError, match="same shape"):
        Ensemble([nn.Linear(2, 3), nn.Linear(2, 4)])(np.zeros((1, 2), np.float32))
    with pytest.raises(ShapeError, match="C ≥ 2"):
        Ensemble([nn.Linear(2, 1)])(np.zeros((1, 2), np.float32))
