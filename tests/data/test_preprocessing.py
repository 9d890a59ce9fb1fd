"""Preprocessing: fitted on training data only, applied to every split, invertible."""
import numpy as np
import pytest

from gradwork.data import preprocessing as pp
from gradwork.errors import ConfigError, ShapeError

R = np.random.default_rng(3)
MIX = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.2]])
TRAIN = R.standard_normal((500, 3)) @ MIX + [5.0, -2.0, 1.0]
TEST = R.standard_normal((50, 3)) @ MIX + [5.0, -2.0, 1.0]


@pytest.mark.parametrize("make", [lambda: pp.MeanSubtraction(), pp.Standardizer, pp.MinMaxScaler,
                                  lambda: pp.PCA(2), lambda: pp.PCA(whiten=True), pp.ZCAWhitening])
def test_every_transform_inverts_and_uses_the_training_statistics(make):
    transform = make().fit(TRAIN)
    restored = transform.inverse_transform(transform.transform(TEST))
    if isinstance(transform, pp.PCA) and transform.n_components == 2:
        assert restored.shape == TEST.shape  # two of three components: an approximation
    else:
        np.testing.assert_allclose(restored, TEST, atol=1e-8)


def test_statistics_come_from_the_training_split_only():
    scaler = pp.Standardizer().fit(TRAIN)
    np.testing.assert_allclose(scaler.transform(TRAIN).mean(0), 0, atol=1e-12)
    assert np.abs(scaler.transform(TEST).mean(0)).max() > 1e-3  # the test data is not re-centred
    scaled = pp.MinMaxScaler().fit(TRAIN).transform(TRAIN)
    assert scaled.min() == pytest.approx(-1) and scaled.max() == pytest.approx(1)


def test_pca_whitening_gives_identity_covariance_on_the_training_data():
    white = pp.PCA(whiten=True, eps=0).fit_transform(TRAIN)
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(3), atol=1e-8)
    zca = pp.ZCAWhitening(eps=0).fit_transform(TRAIN)
    np.testing.assert_allclose(np.cov(zca, rowvar=False), np.eye(3), atol=1e-8)


def test_pca_keeps_enough_components_for_the_requested_variance():
    pca = pp.PCA(0.9).fit(TRAIN)
    assert pca.explained_variance_ratio_.sum() >= 0.9
    assert pca.explained_variance_ratio_[:-1].sum() < 0.9
    from sklearn.decomposition import PCA
    ref = PCA(3).fit(TRAIN)
    np.testing.assert_allclose(pp.PCA().fit(TRAIN).explained_variance_, ref.explained_variance_)


def test_per_image_mean_subtraction_centres_each_image():
    images = R.random((4, 1, 5, 5)) + np.arange(4)[:, None, None, None]
    centred = pp.MeanSubtraction(per="image").fit_transform(images)
    np.testing.assert_allclose(centred.mean(axis=(1, 2, 3)), 0, atol=1e-12)


def test_transform_before_fit_and_wrong_shapes_are_refused():
    with pytest.raises(ConfigError, match="has not been fitted"):
        pp.Standardizer().transform(TEST)
    with pytest.raises(ShapeError, match="fitted on examples of shape"):
        pp.Standardizer().fit(TRAIN).transform(TEST[:, :2])
