"""Information-theory and clustering metrics, against SciPy and scikit-learn."""
import math

import numpy as np
import pytest
from scipy import spatial, stats
from sklearn import metrics

from gradwork.tools import info

R = np.random.default_rng(5)
P, Q = R.random(6), R.random(6)
P, Q = P / P.sum(), Q / Q.sum()


def test_entropy_and_kl_match_scipy():
    assert info.entropy(P) == pytest.approx(stats.entropy(P))
    assert info.entropy(P, base=2) == pytest.approx(stats.entropy(P, base=2))
    assert info.kl_divergence(P, Q) == pytest.approx(stats.entropy(P, Q))
    assert info.cross_entropy(P, Q) == pytest.approx(info.entropy(P) + info.kl_divergence(P, Q))


def test_zero_probabilities_are_handled_safely():
    p = np.array([0.5, 0.5, 0.0])
    assert info.entropy(p, base=2) == pytest.approx(1.0)
    assert info.kl_divergence(p, [0.25, 0.25, 0.5]) == pytest.approx(math.log(2))
    assert info.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert np.isfinite(info.js_divergence([1.0, 0.0], [0.0, 1.0]))


def test_js_divergence_is_symmetric_bounded_by_log_2_and_matches_scipy():
    assert info.js_divergence(P, Q) == pytest.approx(info.js_divergence(Q, P))
    assert info.js_divergence([1, 0], [0, 1]) == pytest.approx(math.log(2))
    assert math.sqrt(info.js_divergence(P, Q)) == pytest.approx(spatial.distance.jensenshannon(P, Q))


def test_mutual_information_and_clustering_scores_match_scikit_learn():
    a, b = R.integers(0, 3, 200), R.integers(0, 4, 200)
    b[:100] = a[:100]
    assert info.mutual_information(a, b) == pytest.approx(metrics.mutual_info_score(a, b))
    assert info.rand_index(a, b) == pytest.approx(metrics.rand_score(a, b))
    assert info.adjusted_rand_index(a, b) == pytest.approx(metrics.adjusted_rand_score(a, b))
    assert info.adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0


def test_mutual_information_of_independent_variables_is_zero():
    assert info.mutual_information([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0)


def test_cosine_similarity_matches_scipy_and_is_zero_for_a_zero_vector():
    a, b = R.standard_normal(5), R.standard_normal(5)
    assert info.cosine_similarity(a, b) == pytest.approx(1 - spatial.distance.cosine(a, b))
    assert info.cosine_similarity(a, np.zeros(5)) == 0.0


def test_bad_distributions_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        info.entropy([0.5, -0.1])
    with pytest.raises(ValueError, match="different lengths"):
        info.rand_index([0, 1], [0])
