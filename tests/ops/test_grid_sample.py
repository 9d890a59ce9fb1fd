"""affine_grid and grid_sample: gradient checks in float64 for every mode × padding_mode × align_corners,
values worked out by hand (identity, a shift by one pixel, rounding, reflection), and the errors.

Every test here runs on both kernel paths (tests/ops/conftest.py); these ops have one path."""
import itertools

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.errors import ConfigError, ShapeError
from gradwork.tools import gradcheck
from tests.helpers import leaf

MODES, PADDINGS = ["bilinear", "nearest"], ["zeros", "border", "reflection"]
COMBINATIONS = list(itertools.product(MODES, PADDINGS, [False, True]))
R = np.random.default_rng(14)


def random_grid(n, h, w, spread=1.4):
    """Points inside and outside the image ([−1, 1] is the image); with probability 1 none sits on a
    pixel centre or an edge, where bilinear interpolation has a kink."""
    return R.uniform(-spread, spread, (n, h, w, 2))


def theta_near_identity(n):
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) + R.normal(0, 0.3, (n, 2, 3))


@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBINATIONS)
def test_grid_sample_gradients_to_input_and_grid(mode, padding_mode, align_corners):
    x, grid = leaf(R.standard_normal((2, 2, 4, 5))), leaf(random_grid(2, 3, 4))
    report = gradcheck(lambda x, g: F.grid_sample(x, g, mode, padding_mode, align_corners), [x, grid])
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBINATIONS)
def test_gradients_through_affine_grid_to_theta(mode, padding_mode, align_corners):
    x, theta = leaf(R.standard_normal((2, 1, 5, 4))), leaf(theta_near_identity(2))

    def warp(x, theta):
        return F.grid_sample(x, F.affine_grid(theta, (2, 1, 3, 4), align_corners), mode, padding_mode, align_corners)

    report = gradcheck(warp, [x, theta])
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_gradient(align_corners):
    report = gradcheck(lambda t: F.affine_grid(t, (3, 2, 4, 5), align_corners), [leaf(R.standard_normal((3, 2, 3)))])
    assert report.max_error < 1e-7, str(report)


def test_nearest_has_no_grid_gradient_as_in_pytorch():
    grid = leaf(random_grid(1, 3, 3))
    F.grid_sample(leaf(R.standard_normal((1, 2, 4, 4))), grid, mode="nearest").sum().backward()
    assert np.array_equal(grid.grad, np.zeros_like(grid.data))


@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBINATIONS)
def test_the_identity_theta_reproduces_the_input(mode, padding_mode, align_corners):
    x = R.standard_normal((2, 3, 5, 6))
    theta = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    grid = F.affine_grid(gw.tensor(theta), x.shape, align_corners)
    out = F.grid_sample(gw.tensor(x), grid, mode, padding_mode, align_corners)
    np.testing.assert_allclose(out.data, x, atol=1e-12)


def test_affine_grid_puts_the_pixel_centres_where_align_corners_says():
    theta = gw.tensor(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]))
    np.testing.assert_allclose(F.affine_grid(theta, (1, 1, 1, 4), align_corners=True).data[0, 0, :, 0],
                               [-1, -1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(F.affine_grid(theta, (1, 1, 1, 4), align_corners=False).data[0, 0, :, 0],
                               [-0.75, -0.25, 0.25, 0.75])  # the centres of four pixels spanning [−1, 1]
    assert np.array_equal(F.affine_grid(theta, (1, 1, 1, 4)).data[0, 0, :, 1], np.zeros(4))  # one row: y = 0


@pytest.mark.parametrize("mode", MODES)
def test_a_shift_by_one_pixel(mode):
    # Reading at x + 2/W moves every column one pixel to the left (a pixel is 2/W wide in normalised units).
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    theta = gw.tensor(np.array([[[1.0, 0, 2 / 4], [0, 1.0, 0]]]))
    grid = F.affine_grid(theta, x.shape)
    zeros = F.grid_sample(gw.tensor(x), grid, mode, "zeros").data[0, 0]
    border = F.grid_sample(gw.tensor(x), grid, mode, "border").data[0, 0]
    np.testing.assert_allclose(zeros, np.concatenate([x[0, 0, :, 1:], np.zeros((3, 1))], axis=1), atol=1e-12)
    np.testing.assert_allclose(border, np.concatenate([x[0, 0, :, 1:], x[0, 0, :, 3:]], axis=1), atol=1e-12)


def at_pixels(columns, width, align_corners):
    """A grid reading the given pixel columns of a one-row image (whose one row sits at y = 0)."""
    columns = np.asarray(columns, dtype=float)
    x = columns / (width - 1) * 2 - 1 if align_corners else (2 * columns + 1) / width - 1
    return gw.tensor(np.stack([x, np.zeros_like(x)], axis=-1)[None, None])


def test_nearest_rounds_halves_to_even_like_pytorch():
    x = gw.tensor(np.array([[[[10.0, 11, 12, 13]]]]))
    out = F.grid_sample(x, at_pixels([0.5, 1.5, 2.5, 1.25, 1.75], 4, False), mode="nearest", align_corners=False)
    assert list(out.data.ravel()) == [10, 12, 12, 11, 12]


def test_bilinear_interpolates_between_the_two_neighbours():
    x = gw.tensor(np.array([[[[10.0, 20, 40, 80]]]]))
    out = F.grid_sample(x, at_pixels([0.25, 1.5, 2.9, 3.5, -0.5], 4, True), align_corners=True)
    # beyond the last centre, zeros padding mixes in a 0: half of 80 at 3.5, half of 10 at −0.5
    np.testing.assert_allclose(out.data.ravel(), [12.5, 30, 76, 40, 5])


@pytest.mark.parametrize("align_corners, columns, expected", [
    (True, [-1.0, 4.0, 7.5], [1.0, 2.0, 1.5]),      # mirrored at the centres of pixels 0 and 3
    (False, [-1.0, 4.2, -4.5], [0.0, 2.8, 3.0]),    # mirrored at the outer edges −0.5 and 3.5
])
def test_reflection_mirrors_at_the_borders(align_corners, columns, expected):
    x = gw.tensor(np.array([[[[0.0, 1, 2, 3]]]]))  # the value is the column: the output says where it read
    out = F.grid_sample(x, at_pixels(columns, 4, align_corners), padding_mode="reflection",
                        align_corners=align_corners)
    np.testing.assert_allclose(out.data.ravel(), expected, atol=1e-12)


def test_float32_stays_float32():
    x, theta = gw.randn(2, 1, 6, 6), gw.tensor(theta_near_identity(2).astype(np.float32), requires_grad=True)
    out = F.grid_sample(x, F.affine_grid(theta, x.shape))
    out.sum().backward()
    assert out.dtype == np.float32 and theta.grad.dtype == np.float32


def test_an_output_size_other_than_the_inputs():
    x = gw.randn(2, 3, 8, 8)
    theta = gw.tensor(np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]], np.float32), (2, 1, 1)))
    assert F.grid_sample(x, F.affine_grid(theta, (2, 3, 5, 7))).shape == (2, 3, 5, 7)


def test_bad_theta_names_the_shape_it_got_and_the_one_expected():
    with pytest.raises(ShapeError, match=r"\(N, 2, 3\).*got \(2, 3\)"):
        F.affine_grid(gw.zeros(2, 3), (1, 1, 4, 4))
    with pytest.raises(ShapeError, match=r"\(N, 2, 3\).*got \(1, 3, 3\)"):
        F.affine_grid(gw.zeros(1, 3, 3), (1, 1, 4, 4))


@pytest.mark.parametrize("size", [(1, 4, 4), (1, 1, 4, 4, 4), (1, 1, 0, 4), 16])
def test_affine_grid_wants_a_four_long_size(size):
    with pytest.raises(ShapeError, match="size must be the output's"):
        F.affine_grid(gw.zeros(1, 2, 3), size)


def test_affine_grid_size_must_have_one_image_per_theta():
    with pytest.raises(ShapeError, match="2 images but theta holds 1"):
        F.affine_grid(gw.zeros(1, 2, 3), (2, 1, 4, 4))


@pytest.mark.parametrize("grid_shape, message", [
    ((1, 3, 3, 3), r"grid of shape \(N, H', W', 2\)"),
    ((1, 3, 3), r"grid of shape \(N, H', W', 2\)"),
    ((2, 3, 3, 2), "input holds 1 images but grid holds 2"),
])
def test_a_grid_that_does_not_fit_the_input(grid_shape, message):
    with pytest.raises(ShapeError, match=message):
        F.grid_sample(gw.zeros(1, 1, 4, 4), gw.zeros(*grid_shape))


def test_input_must_be_four_dimensional():
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        F.grid_sample(gw.zeros(1, 4, 4), gw.zeros(1, 3, 3, 2))


@pytest.mark.parametrize("options, message", [
    ({"mode": "bicubic"}, "unknown mode 'bicubic'.*not implemented"),
    ({"mode": "linear"}, "unknown mode 'linear'"),
    ({"padding_mode": "reflect"}, "unknown padding_mode 'reflect'"),
])
def test_unknown_mode_names(options, message):
    with pytest.raises(ConfigError, match=message):
        F.grid_sample(gw.zeros(1, 1, 4, 4), gw.zeros(1, 3, 3, 2), **options)


def test_input_and_grid_must_share_a_dtype():
    with pytest.raises(TypeError, match="same floating-point dtype, got float32 and float64"):
        F.grid_sample(gw.zeros(1, 1, 4, 4), gw.tensor(np.zeros((1, 3, 3, 2))))


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_a_nan_point_reads_nan_instead_of_crashing(padding_mode):
    """A diverging localisation network gives NaN coordinates: the output there is NaN (so the loss
    shows it), the other points are unchanged, and backward runs."""
    x = gw.tensor(np.random.default_rng(0).random((1, 2, 4, 4)), requires_grad=True)
    grid = np.random.default_rng(1).uniform(-1, 1, (1, 2, 3, 2))
    clean = F.grid_sample(x, gw.tensor(grid), padding_mode=padding_mode).data
    grid[0, 1, 2, 0] = np.nan
    out = F.grid_sample(x, gw.tensor(grid, requires_grad=True), padding_mode=padding_mode)
    assert np.isnan(out.data[0, :, 1, 2]).all()
    keep = ~np.isnan(out.data)
    np.testing.assert_allclose(out.data[keep], clean[keep])
    (out * 0 + 1).sum().backward()
    assert np.isfinite(x.grad).all()
