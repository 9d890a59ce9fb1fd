"""SpatialTransformer: starts as the identity, learns a known translation, its gradients, its errors."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn, optim
from gradwork.errors import ConfigError, ShapeError
from gradwork.tools.gradcheck import check_model_gradients


def blobs(n, size, seed):
    """Smooth images: one Gaussian blob each at a random place (a smooth image gives a smooth loss in θ)."""
    rng = np.random.default_rng(seed)
    coordinates = np.arange(size)
    centres = rng.uniform(size * 0.3, size * 0.7, (n, 2, 1, 1))
    rows, columns = coordinates[:, None], coordinates[None, :]
    return np.exp(-((rows - centres[:, 0]) ** 2 + (columns - centres[:, 1]) ** 2) / 8.0)[:, None]


def localisation(size, channels=1):
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 8), nn.Tanh())


def test_it_starts_as_the_identity():
    gw.manual_seed(0)
    layer = nn.SpatialTransformer(localisation(6, channels=3))
    assert np.array_equal(layer.fc_loc.weight.data, np.zeros((6, 8)))
    assert np.array_equal(layer.fc_loc.bias.data, [1, 0, 0, 0, 1, 0])
    x = gw.randn(4, 3, 6, 6)
    np.testing.assert_allclose(layer(x).data, x.data, atol=1e-6)
    np.testing.assert_array_equal(layer.theta.data, np.tile([[1, 0, 0], [0, 1, 0]], (4, 1, 1)))
    assert layer.theta.requires_grad is False  # kept for pictures, cut off from the graph


def test_parameters_have_pytorchs_tutorial_names_and_the_output_size_is_honoured():
    layer = nn.SpatialTransformer(localisation(8), output_size=(5, 7))
    assert [name for name, _ in layer.named_parameters()] == [
        "localisation.1.weight", "localisation.1.bias", "fc_loc.weight", "fc_loc.bias"]
    assert layer(gw.randn(2, 1, 8, 8)).shape == (2, 1, 5, 7)


def test_it_learns_a_known_translation():
    gw.manual_seed(0)
    images = blobs(16, 12, seed=1)
    true_theta = np.tile(np.array([[1.0, 0, 0.3], [0, 1.0, -0.2]], np.float32), (16, 1, 1))
    targets = F.grid_sample(gw.tensor(images.astype(np.float32)),
                            F.affine_grid(gw.tensor(true_theta), images.shape)).data
    x, y = gw.tensor(images.astype(np.float32)), gw.tensor(targets)
    layer = nn.SpatialTransformer(localisation(12))
    optimizer = optim.Adam(layer.parameters(), lr=0.01)
    first = None
    for _ in range(150):
        optimizer.zero_grad()
        loss = F.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        first = first if first is not None else float(loss.data)
    assert float(loss.data) < first / 50
    np.testing.assert_allclose(layer.theta.data.mean(axis=0), true_theta[0], atol=0.03)


def test_gradients_of_every_parameter():
    gw.manual_seed(1)
    layer = nn.SpatialTransformer(localisation(5, channels=2), output_size=(4, 4))
    nn.init.normal_(layer.fc_loc.weight, std=0.3)  # away from zero, so every parameter gets a gradient
    x, target = gw.randn(3, 2, 5, 5), gw.randn(3, 2, 4, 4).double()
    report = check_model_gradients(layer, lambda out, t: F.mse_loss(out, t), x, target)
    assert report.max_error < 1e-6, str(report)


def test_features_are_counted_from_the_last_linear_or_given():
    assert nn.SpatialTransformer(localisation(4)).fc_loc.in_features == 8
    convolutional = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
    layer = nn.SpatialTransformer(convolutional, features=2 * 4 * 4)
    assert layer(gw.randn(2, 1, 6, 6)).shape == (2, 1, 6, 6)


def test_errors_say_what_to_fix():
    with pytest.raises(ConfigError, match="pass features=F"):
        nn.SpatialTransformer(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()))
    layer = nn.SpatialTransformer(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), features=10)
    with pytest.raises(ShapeError, match=r"fc_loc expects \(N, 10\); pass features=32"):
        layer(gw.randn(2, 1, 6, 6))
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        layer(gw.randn(2, 36))
    with pytest.raises(ConfigError, match="output_size"):
        nn.SpatialTransformer(localisation(4), output_size=7)
    with pytest.raises(ConfigError, match="localisation must be a Module"):
        nn.SpatialTransformer(lambda x: x, features=4)
    with pytest.raises(ConfigError, match="padding_mode"):
        nn.SpatialTransformer(localisation(4), padding_mode="reflect")
