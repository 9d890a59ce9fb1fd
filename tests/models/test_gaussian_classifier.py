"""The generative (Gaussian) classifier: closed-form fit checked by hand, the linear boundary of a shared
covariance, scikit-learn's LDA/QDA and SciPy's Gaussian density as cross-checks, and clear errors."""
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis

import gradwork as gw
from gradwork.errors import ConfigError, ShapeError
from gradwork.models import GaussianClassifier


def square(corner):
    """The four corners of a 2×2 square: mean corner + (1, 1), MLE covariance I."""
    x0, y0 = corner
    return np.array([[x0, y0], [x0 + 2, y0], [x0, y0 + 2], [x0 + 2, y0 + 2]], dtype=float)


def two_squares(repeat_second=1):
    x = np.concatenate([square((0, 0))] + [square((4, 0))] * repeat_second)
    y = np.array([0] * 4 + [1] * 4 * repeat_second)
    return x, y


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_closed_form_fit_on_a_hand_computed_two_class_case():
    # class 0: a square around (1, 1); class 1: the same square around (5, 1), given twice (prior 2/3)
    x, y = two_squares(repeat_second=2)
    model = GaussianClassifier(reg=0).fit(x, y)
    np.testing.assert_allclose(model.priors_, [1 / 3, 2 / 3])
    np.testing.assert_allclose(model.means_, [[1, 1], [5, 1]])
    np.testing.assert_allclose(model.covariance_, np.eye(2))    # each class: variance 1 per axis, no correlation
    # Σ = I: w = Σ⁻¹(μ₁ − μ₀) = (4, 0), b = −½|μ₁|² + ½|μ₀|² + ln(2/1) = −13 + 1 + ln 2
    for point, logit in [((3, 1), math.log(2)), ((4, 7), 4.0 + math.log(2)), ((0, -3), -12 + math.log(2))]:
        p1 = model.predict_proba(np.array([point], dtype=float))[0, 1]
        assert p1 == pytest.approx(sigmoid(logit), rel=1e-12)
    assert model.predict(np.array([[2.0, 0.0], [3.5, 9.0]])).tolist() == [0, 1]


def test_shared_covariance_makes_the_posterior_a_softmax_of_a_linear_function(rng):
    x = rng.standard_normal((90, 4)) + np.repeat(np.eye(3, 4) * 3, 30, axis=0)
    y = np.repeat([0, 1, 2], 30)
    model = GaussianClassifier().fit(x, y)
    w, b = model.linear_boundary()
    assert w.shape == (4, 3) and b.shape == (3,)
    logits = x @ w + b
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(x), softmax, atol=1e-12)
    # and for two classes the boundary is the line w·x + b = 0 of Hung-yi Lee's notes
    binary = GaussianClassifier(reg=0).fit(*two_squares())
    w, b = binary.linear_boundary()
    np.testing.assert_allclose(w[:, 1] - w[:, 0], [4, 0])
    assert b[1] - b[0] == pytest.approx(-12)


def test_predict_proba_matches_scikit_learns_linear_discriminant_analysis(rng):
    x = rng.standard_normal((120, 5)) @ rng.standard_normal((5, 5)) + np.repeat(rng.standard_normal((3, 5)), 40, 0)
    y = np.repeat(["cat", "dog", "emu"], 40)            # labels of any sortable type
    ours = GaussianClassifier(shared_covariance=True, reg=0).fit(x, y)
    theirs = LinearDiscriminantAnalysis(solver="lsqr").fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), theirs.predict_proba(x), atol=1e-10)
    assert ours.classes_.tolist() == ["cat", "dog", "emu"]
    assert (ours.predict(x) == theirs.predict(x)).all()


def test_per_class_covariances_match_gaussian_densities_and_quadratic_discriminant_analysis(rng):
    x = np.concatenate([rng.standard_normal((30, 3)) * [1, 2, 0.5], rng.standard_normal((50, 3)) * 3 + 1])
    y = np.repeat([0, 1], [30, 50])
    model = GaussianClassifier(shared_covariance=False, reg=0).fit(x, y)
    cov = [np.cov(x[y == k].T, bias=True) for k in (0, 1)]            # maximum likelihood: divide by N_k
    np.testing.assert_allclose(model.covariances_, cov, atol=1e-12)
    joint = np.stack([multivariate_normal(x[y == k].mean(0), cov[k]).logpdf(x) + math.log(np.mean(y == k))
                      for k in (0, 1)], axis=1)
    np.testing.assert_allclose(model.joint_log_likelihood(x), joint, atol=1e-10)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(x, y)
    if np.allclose(qda.covariance_[0], cov[0]):   # scikit-learn < 1.8 divided by N_k − 1 instead
        np.testing.assert_allclose(model.predict_proba(x), qda.predict_proba(x), atol=1e-10)
    with pytest.raises(ConfigError, match="quadratic"):
        model.linear_boundary()


def test_the_ridge_makes_constant_features_work_and_its_absence_says_what_to_do(rng):
    x = np.concatenate([rng.standard_normal((40, 3)), np.zeros((40, 2))], axis=1)   # two pixels always 0
    y = np.repeat([0, 1], 20)
    x[y == 1, 0] += 3
    with pytest.raises(ConfigError, match="singular.*larger reg"):
        GaussianClassifier(reg=0).fit(x, y)
    for shared in (True, False):
        p = GaussianClassifier(shared_covariance=shared).fit(x, y).predict_proba(x)
        assert np.isfinite(p).all() and np.allclose(p.sum(1), 1)


def test_posteriors_stay_exact_where_densities_underflow(rng):
    """In 400 dimensions every density is below the smallest float64; the posterior must not be 0/0."""
    x = rng.standard_normal((1000, 400)) * 5
    y = np.repeat([0, 1], 500)
    x[y == 1] += 2.0
    model = GaussianClassifier().fit(x[::2], y[::2])
    test_x, test_y = x[1::2], y[1::2]
    assert model.joint_log_likelihood(test_x).max() < -800     # e^−800 is 0 in float64
    p = model.predict_proba(test_x)
    assert np.isfinite(p).all() and np.allclose(p.sum(1), 1) and model.score(test_x, test_y) > 0.85
    w, b = model.linear_boundary()                              # the same posterior, without any density
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-(test_x @ (w[:, 1] - w[:, 0]) + b[1] - b[0]))),
                               rtol=1e-6, atol=1e-12)


def test_accepts_images_and_tensors_and_classifies_real_digits():
    from gradwork.data import datasets
    x, y = datasets.load_digits()[0].arrays                                    # 1,437 images (N, 1, 8, 8)
    model = GaussianClassifier(reg=1e-2).fit(gw.tensor(x[:1200]), gw.tensor(y[:1200]))
    assert model.score(x[1200:], y[1200:]) >= 0.9


def test_clear_errors():
    with pytest.raises(ConfigError, match="not been fitted.*fit"):
        GaussianClassifier().predict(np.zeros((1, 2)))
    with pytest.raises(ConfigError, match="not been fitted"):
        GaussianClassifier().linear_boundary()
    model = GaussianClassifier().fit(*two_squares())
    with pytest.raises(ShapeError, match="fitted on 2 features, got examples with 3"):
        model.predict_proba(np.zeros((4, 3)))
    x, y = two_squares()
    with pytest.raises(ConfigError, match="class 1 has only one example.*shared_covariance=True"):
        GaussianClassifier(shared_covariance=False).fit(x[:5], y[:5])
    GaussianClassifier(shared_covariance=True).fit(x[:5], y[:5])   # a shared covariance needs no per-class one
    with pytest.raises(ConfigError, match="single class"):
        GaussianClassifier().fit(x[:4], y[:4])
    with pytest.raises(ShapeError, match="8 examples but 7 labels"):
        GaussianClassifier().fit(x, y[:7])
    with pytest.raises(ShapeError, match=r"\(N, D\)"):
        GaussianClassifier().fit(np.zeros(5), np.zeros(5))
    with pytest.raises(ConfigError, match="reg"):
        GaussianClassifier(reg=-1)
