"""Batch transforms: deterministic under a seed, shapes and ranges kept, fitted on training data only."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.data import ArrayDataset, DataLoader
from gradwork.data import transforms as T
from gradwork.errors import ConfigError

IMAGES = np.random.default_rng(0).random((16, 3, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("make", [lambda: T.RandomHorizontalFlip(), lambda: T.RandomCrop(8, 2),
                                  lambda: T.ColorShift(0.2), lambda: T.PCAColorAugmentation(0.1).fit(IMAGES),
                                  lambda: T.augmentation("flip,crop,color", 8)])
def test_augmentations_are_deterministic_under_a_seed_and_keep_the_shape(make):
    gw.manual_seed(7)
    a = make()(IMAGES)
    gw.manual_seed(7)
    b = make()(IMAGES)
    np.testing.assert_array_equal(a, b)
    assert a.shape == IMAGES.shape and a.dtype == np.float32


def test_flip_mirrors_some_images_exactly():
    out = T.RandomHorizontalFlip(p=0.5)(IMAGES)
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, IMAGES)]
    same = [np.array_equal(o, i) for o, i in zip(out, IMAGES)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)


def test_crop_is_a_shifted_window_of_the_padded_image():
    out = T.RandomCrop(8, padding=2)(IMAGES)
    padded = np.pad(IMAGES, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for o, p in zip(out, padded):
        assert any(np.array_equal(o, p[:, i:i + 8, j:j + 8]) for i in range(5) for j in range(5))


def test_color_shift_stays_in_unit_range():
    out = T.ColorShift(0.5)(IMAGES)
    assert out.min() >= 0 and out.max() <= 1


def test_normalize_is_fitted_on_training_data_only():
    norm = T.Normalize()
    with pytest.raises(ConfigError, match="fit\\(train_images\\)"):
        norm(IMAGES)
    norm.fit(IMAGES)
    out = norm(IMAGES)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    test = IMAGES[:4] + 1
    assert norm(test).mean() > 1  # the test set is shifted by the training statistics, not its own


def test_pca_augmentation_needs_fitting_and_moves_colours_along_principal_directions():
    with pytest.raises(ConfigError, match="fit"):
        T.PCAColorAugmentation()(IMAGES)
    pca = T.PCAColorAugmentation(0.5).fit(IMAGES)
    shift = pca(IMAGES) - IMAGES
    assert np.allclose(shift, shift[:, :, :1, :1], atol=1e-6)  # the same shift for every pixel of an image


def test_unknown_augmentation_name():
    with pytest.raises(ConfigError, match="unknown augmentation 'blur'; choose from: flip, crop, color, pca"):
        T.augmentation("flip,blur", 8)


def test_to_unit_range_and_loader_transform():
    assert T.ToUnitRange()(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    loader = DataLoader(ArrayDataset(IMAGES, np.arange(16)), batch_size=4, transform=lambda x: x * 0)
    x, y = next(iter(loader))
    assert x.max() == 0 and y.tolist() == [0, 1, 2, 3]


def test_compose_fit_feeds_later_learners_and_draws_nothing_otherwise():
    norm = T.Normalize()
    T.Compose([T.ColorShift(0.0), norm]).fit(IMAGES)  # a zero shift then normalise: fitted on the shifted output
    np.testing.assert_allclose(norm.mean, IMAGES.mean(axis=(0, 2, 3)), rtol=1e-5)
    gw.manual_seed(3)
    T.Compose([T.RandomCrop(8, 2), T.RandomHorizontalFlip()]).fit(IMAGES)
    after_fit = gw.rand(1).item()
    gw.manual_seed(3)
    assert gw.rand(1).item() == after_fit  # fitting random augmentations consumed no random numbers
