"""affine_grid, grid_sample and the spatial transformer against PyTorch: outputs, input, grid and theta
gradients in float64, for every mode × padding_mode × align_corners, with points inside and far
outside [−1, 1] and one-pixel axes.

PyTorch is not a dependency; these tests run only where it is installed and are skipped elsewhere.
"""
import itertools

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn

torch = pytest.importorskip("torch")
from tests.against_pytorch.pairs import backward_both, both  # noqa: E402

TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12
COMBINATIONS = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))
SHAPES = [  # (input shape, output H', W')
    ((2, 3, 5, 7), (4, 6)),
    ((1, 2, 6, 4), (7, 3)),
    ((2, 1, 1, 5), (3, 3)),   # one row: reflection with align_corners=True folds everything onto it
    ((1, 2, 4, 1), (2, 5)),   # one column
]


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("shape, out_hw", SHAPES)
@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBINATIONS)
def test_grid_sample_matches_pytorch(mode, padding_mode, align_corners, shape, out_hw):
    seed = [COMBINATIONS.index((mode, padding_mode, align_corners)), SHAPES.index((shape, out_hw))]
    rng = np.random.default_rng(seed)
    x, xt = both(rng.standard_normal(shape))
    grid, gridt = both(rng.uniform(-3, 3, (shape[0], *out_hw, 2)))  # most points outside [−1, 1]
    y = F.grid_sample(x, grid, mode, padding_mode, align_corners)
    yt = TF.grid_sample(xt, gridt, mode, padding_mode, align_corners)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 1)
    assert_close(x.grad, xt.grad, "input gradient")
    assert_close(grid.grad, gridt.grad, "grid gradient")


@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBINATIONS)
def test_affine_grid_then_grid_sample_matches_pytorch_including_the_theta_gradient(mode, padding_mode,
                                                                                   align_corners):
    rng = np.random.default_rng(7)
    x, xt = both(rng.standard_normal((3, 2, 9, 8)))
    theta, thetat = both(np.array([[1.0, 0, 0], [0, 1.0, 0]]) + rng.normal(0, 0.5, (3, 2, 3)))
    size = (3, 2, 6, 7)
    grid, gridt = F.affine_grid(theta, size, align_corners), TF.affine_grid(thetat, size, align_corners)
    assert_close(grid.data, gridt, "grid")
    y = F.grid_sample(x, grid, mode, padding_mode, align_corners)
    yt = TF.grid_sample(xt, gridt, mode, padding_mode, align_corners)
    assert_close(y.data, yt, "output")
    backward_both(y, yt, 2)
    assert_close(x.grad, xt.grad, "input gradient")
    assert_close(theta.grad, thetat.grad, "theta gradient")


@pytest.mark.parametrize("align_corners", [False, True])
def test_nearest_rounds_exact_halves_as_pytorch_does(align_corners):
    x, xt = both(np.arange(36.0).reshape(1, 1, 6, 6))
    half_pixels = np.arange(-1.5, 6.0, 0.5)  # every half pixel from outside left to outside right
    columns, rows = np.meshgrid(half_pixels, half_pixels)
    pixels = np.stack([columns, rows], axis=-1)[None]
    grid = pixels / 5 * 2 - 1 if align_corners else (2 * pixels + 1) / 6 - 1
    assert np.array_equal(F.grid_sample(x, gw.tensor(grid), "nearest", align_corners=align_corners).data,
                          TF.grid_sample(xt, torch.tensor(grid), "nearest", align_corners=align_corners).detach())


def test_float32_agrees_with_pytorch_to_float32_precision():
    rng = np.random.default_rng(3)
    x, grid = rng.standard_normal((4, 3, 10, 10)).astype(np.float32), rng.uniform(-1.2, 1.2, (4, 8, 8, 2))
    grid = grid.astype(np.float32)
    np.testing.assert_allclose(F.grid_sample(gw.tensor(x), gw.tensor(grid)).data,
                               TF.grid_sample(torch.tensor(x), torch.tensor(grid), align_corners=False).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_spatial_transformer_matches_the_same_network_written_in_pytorch():
    rng = np.random.default_rng(5)
    ours = nn.SpatialTransformer(nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 6, 8), nn.Tanh()),
                                 output_size=(4, 5)).double()
    loc, fc = torch.nn.Linear(72, 8).double(), torch.nn.Linear(8, 6).double()
    with torch.no_grad():  # random weights everywhere (fc_loc too, so θ is not the identity), copied both ways
        for name, layer in (("localisation.1", loc), ("fc_loc", fc)):
            for part in ("weight", "bias"):
                value = rng.normal(0, 0.3, tuple(getattr(layer, part).shape))
                getattr(layer, part).copy_(torch.tensor(value))
                dict(ours.named_parameters())[f"{name}.{part}"].data[...] = value
    x, xt = both(rng.standard_normal((3, 2, 6, 6)))
    theta_t = fc(torch.tanh(loc(xt.flatten(1)))).view(-1, 2, 3)
    yt = TF.grid_sample(xt, TF.affine_grid(theta_t, (3, 2, 4, 5), align_corners=False), align_corners=False)
    y = ours(x)
    assert_close(y.data, yt, "output")
    assert_close(ours.theta.data, theta_t, "theta")
    backward_both(y, yt, 4)
    assert_close(x.grad, xt.grad, "input gradient")
    assert_close(ours.fc_loc.weight.grad, fc.weight.grad, "fc_loc weight gradient")
    assert_close(dict(ours.named_parameters())["localisation.1.weight"].grad, loc.weight.grad,
                 "localisation weight gradient")
