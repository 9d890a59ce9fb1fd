"""ChebConv: the Chebyshev recursion worked by hand, the spectral filter it stands for, K = 1 as a Linear,
gradient checks in float64, PyTorch Geometric's names, and clear errors."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn, optim
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn.cheb_conv import laplacian, scaled_laplacian
from gradwork.ops.losses import cross_entropy
from tests.helpers import leaf

PATH = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)    # the path graph 0 – 1 – 2


def ring(n):
    a = np.zeros((n, n))
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 1
    a[0, n // 2] = a[n // 2, 0] = 2.0                                  # one weighted chord
    return a


def set_weights(layer, thetas, bias):
    for lin, theta in zip(layer.lins, thetas):
        lin.weight.data[...] = theta
    layer.bias.data[...] = bias


def test_hand_computed_chebyshev_recursion_on_a_path():
    # degrees (1, 2, 1): D^−½ A D^−½ has 1/√2 on each edge; λ_max = 2 makes L̃ = L − I = −D^−½ A D^−½
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(scaled_laplacian(PATH), -np.array([[0, s, 0], [s, 0, s], [0, s, 0]]), atol=1e-15)
    x = np.array([[1.0], [2.0], [3.0]])
    # T0 = x = (1, 2, 3); T1 = L̃ x = −(√2, 2√2, √2); T2 = 2 L̃ T1 − T0 = 2·(2, 2, 2) − (1, 2, 3) = (3, 2, 1)
    layer = nn.ChebConv(1, 1, K=3).double()
    set_weights(layer, [0.5, -1.0, 2.0], 0.25)
    t1 = -math.sqrt(2) * np.array([1.0, 2.0, 1.0])
    expected = 0.5 * x[:, 0] - 1.0 * t1 + 2.0 * np.array([3.0, 2.0, 1.0]) + 0.25
    np.testing.assert_allclose(layer(x, PATH).numpy()[:, 0], expected, atol=1e-12)


@pytest.mark.parametrize("normalization, lambda_max", [("sym", None), ("sym", "compute"), (None, 9.0)])
def test_the_recursion_is_the_spectral_filter_u_g_lambda_ut(rng, normalization, lambda_max):
    """Σ θ_k T_k(L̃) X = U diag(g(λ)) Uᵀ X with L = U diag(λ) Uᵀ and g(λ) = Σ θ_k T_k(2λ/λ_max − 1):
    a filter on the graph's spectrum, computed without the eigenvectors."""
    a = ring(7)
    thetas = [0.3, -0.7, 0.2, 1.1]
    layer = nn.ChebConv(1, 1, K=4, normalization=normalization).double()
    set_weights(layer, thetas, 0.0)
    x = rng.standard_normal((7, 1))
    eigenvalues, u = np.linalg.eigh(laplacian(a, normalization))
    top = {None: 2.0, "compute": eigenvalues.max()}.get(lambda_max, lambda_max)
    g = np.polynomial.chebyshev.chebval(2 * eigenvalues / top - 1, thetas)
    np.testing.assert_allclose(layer(x, a, lambda_max=lambda_max).numpy(), u @ np.diag(g) @ u.T @ x, atol=1e-12)


def test_k_equals_one_is_a_linear_layer_applied_to_each_node(rng):
    layer = nn.ChebConv(4, 3, K=1)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    out = layer(x, ring(5))
    np.testing.assert_allclose(out.numpy(), x @ layer.lins[0].weight.numpy().T + layer.bias.numpy(), rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("normalization, lambda_max", [("sym", None), ("rw", "compute"), (None, 6.0)])
def test_gradients_to_features_and_every_theta(rng, normalization, lambda_max):
    layer = nn.ChebConv(3, 2, K=3, normalization=normalization).double()
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    x = leaf(rng.standard_normal((7, 3)))
    report = gw.tools.gradcheck(lambda x, *params: layer(x, ring(7), lambda_max=lambda_max),
                                [x] + list(layer.parameters()))
    assert report.max_error < 1e-7, str(report)


def test_random_walk_laplacian_is_applied_as_pytorch_geometric_sends_messages():
    """PyG's rw Laplacian sends x_j / deg(j) from each neighbour j to node i: L̃X = (2/λ)(X − A D⁻¹ X) − X.
    On the path 0 – 1 – 2 (degrees 1, 2, 1) with λ = 2 and x = (1, 2, 3): A D⁻¹ x = (1, 1 + 3, 1) = (1, 4, 1),
    so L̃x = −(1, 4, 1); the row-normalised D⁻¹ A x would give −(2, 2, 2) instead."""
    layer = nn.ChebConv(1, 1, K=2, normalization="rw").double()
    set_weights(layer, [0.0, 1.0], 0.0)
    x = np.array([[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(layer(x, PATH, lambda_max=2.0).numpy()[:, 0], [-1.0, -4.0, -1.0], atol=1e-12)


def test_laplacians_ignore_self_loops_and_isolated_nodes():
    a = np.array([[5, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)     # a self-loop on 0; node 2 alone
    np.testing.assert_allclose(laplacian(a, None), [[1, -1, 0], [-1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(laplacian(a, "sym"), [[1, -1, 0], [-1, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(laplacian(a, "rw"), [[1, -1, 0], [-1, 1, 0], [0, 0, 1]])
    assert scaled_laplacian(ring(6), "sym", "compute").max() <= 1 + 1e-12
    assert np.linalg.eigvalsh(scaled_laplacian(ring(6), "sym", "compute")).min() >= -1 - 1e-12


def test_pytorch_geometric_names_and_initialisation():
    layer = nn.ChebConv(16, 4, K=3)
    assert sorted(layer.state_dict()) == ["bias", "lins.0.weight", "lins.1.weight", "lins.2.weight"]
    assert layer.lins[0].weight.shape == (4, 16) and layer.lins[0].bias is None
    assert (layer.bias.numpy() == 0).all()
    bound = math.sqrt(6 / (16 + 4))                                   # Glorot-uniform
    assert 0.5 * bound < np.abs(layer.lins[1].weight.numpy()).max() <= bound
    assert nn.ChebConv(2, 2, K=2, bias=False).bias is None
    assert "K=3" in repr(layer)


def test_learns_two_communities_from_one_label_each():
    a = np.zeros((10, 10))
    a[:5, :5] = a[5:, 5:] = 1                                         # two 5-cliques joined by one edge
    a[4, 5] = a[5, 4] = 1
    x = np.eye(10, dtype=np.float32)
    first, second = nn.ChebConv(10, 8, K=2), nn.ChebConv(8, 2, K=2)
    params = list(first.parameters()) + list(second.parameters())
    opt = optim.Adam(params, lr=0.05)
    labelled, labels = np.array([0, 9]), np.array([0, 1])
    for _ in range(60):
        opt.zero_grad()
        out = second(gw.nn.functional.relu(first(x, a)), a)
        cross_entropy(out[labelled], labels).backward()
        opt.step()
    assert out.numpy().argmax(1).tolist() == [0] * 5 + [1] * 5


def test_clear_errors():
    with pytest.raises(ConfigError, match="K"):
        nn.ChebConv(3, 2, K=0)
    with pytest.raises(ConfigError, match="normalization"):
        nn.ChebConv(3, 2, K=2, normalization="both")
    with pytest.raises(ShapeError, match="adjacency"):
        nn.ChebConv(3, 2, K=2)(np.zeros((5, 3), np.float32), np.zeros((4, 4)))
    with pytest.raises(ConfigError, match="lambda_max"):
        nn.ChebConv(3, 2, K=2, normalization="rw")(np.zeros((3, 3), np.float32), PATH)
    with pytest.raises(ConfigError, match="lambda_max"):
        nn.ChebConv(3, 2, K=2)(np.zeros((3, 3), np.float32), PATH, lambda_max="largest")
    with pytest.raises(ConfigError, match="give it edges"):
        nn.ChebConv(3, 2, K=2, normalization=None)(np.zeros((3, 3), np.float32), np.zeros((3, 3)),
                                                   lambda_max="compute")
