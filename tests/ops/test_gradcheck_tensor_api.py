"""The tensor API a PyTorch user reaches for first, gradient-checked in float64: shape and indexing
ops (expand, repeat, flip, split, chunk, unbind, gather, masked_fill, index_put, clone), reductions
(prod, cumsum, logsumexp, norm), sin/cos/log1p and the activations silu, elu, softplus, hardtanh."""
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(11)


def randn(*shape):
    return R.standard_normal(shape)


def away_from_zero(*shape):
    return R.uniform(0.1, 2.0, shape) * R.choice([-1, 1], shape)


def weighted(outputs):
    """Σ of each output times fixed weights, so every output element gets a different gradient."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    total = 0
    for k, out in enumerate(outputs):
        total = total + (out * gw.tensor(np.linspace(-1, 2, out.numel()).reshape(out.shape) + k)).sum()
    return total


@pytest.mark.parametrize("op", [
    lambda t: t.expand(2, 3, 4), lambda t: t.expand(-1, 4), lambda t: t.repeat(2, 3), lambda t: t.repeat(2, 1, 2),
    lambda t: t.flip(0), lambda t: t.flip(0, 1), lambda t: t.clone() * t,
])
def test_expand_repeat_flip_clone(op):
    assert_grads(lambda t: weighted(op(t)), randn(3, 1))


@pytest.mark.parametrize("op", [
    lambda t: t.split(2, dim=1), lambda t: t.split([1, 3, 1], dim=1), lambda t: t.chunk(3, dim=1),
    lambda t: t.chunk(2, dim=0), lambda t: t.unbind(1), lambda t: t.unbind(0)[1:],
])
def test_split_chunk_unbind(op):
    assert_grads(lambda t: weighted(op(t)), randn(3, 5))


def test_gather_adds_the_gradient_of_elements_picked_twice():
    index = np.array([[0, 0, 2], [1, 1, 1]])
    assert_grads(lambda t: weighted(t.gather(1, index)), randn(2, 4))
    assert_grads(lambda t: weighted(t.gather(0, np.array([[1, 0], [1, 1]]))), randn(2, 3))  # smaller index
    x = leaf([[1.0, 2.0, 3.0]])
    x.gather(1, gw.tensor([[2, 2, 0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 2]])


def test_masked_fill_and_index_put():
    mask = R.random((3, 4)) > 0.5
    assert_grads(lambda t: weighted(t.masked_fill(gw.tensor(mask), -2.0)), randn(3, 4))
    assert_grads(lambda t, v: weighted(gw.ops.index_put(t, (slice(None), 1), v)), randn(3, 4), randn(3))
    assert_grads(lambda t, v: weighted(gw.ops.index_put(t, mask, v)), randn(3, 4), randn(1))


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_prod_including_zeros(dim, keepdim):
    assert_grads(lambda t: weighted(t.prod(dim, keepdim) if dim is not None else t.prod()), randn(3, 4))
    with_zeros = randn(3, 4)
    with_zeros[1, 2] = 0.0
    with_zeros[2, 0] = with_zeros[2, 3] = 0.0
    assert_grads(lambda t: weighted(t.prod(dim, keepdim) if dim is not None else t.prod()), with_zeros)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    assert_grads(lambda t: weighted(t.cumsum(dim)), randn(3, 4))


@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 1), True), (0, True)])
def test_logsumexp(dim, keepdim):
    assert_grads(lambda t: weighted(t.logsumexp(dim, keepdim)), randn(3, 4) * 3)


@pytest.mark.parametrize("p", ["fro", 1, 2, 3, 0.5, math.inf])
@pytest.mark.parametrize("dim", [None, 1])
def test_norm(p, dim):
    x = R.permutation(12).reshape(3, 4) / 5.0 + 0.1  # distinct magnitudes: no ties for the inf-norm
    x = x * R.choice([-1, 1], x.shape)
    assert_grads(lambda t: weighted(t.norm(p, dim)), x)


def test_norm_gradient_is_zero_at_zero():
    x = leaf(np.zeros(3))
    x.norm().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 0])


@pytest.mark.parametrize("name", ["sin", "cos", "log1p"])
def test_sin_cos_log1p(name):
    x = R.uniform(0.1, 2.0, (3, 4))
    assert_grads(lambda t: weighted(getattr(t, name)()), x)


@pytest.mark.parametrize("fn", [F.silu, F.elu, lambda t: F.elu(t, alpha=0.3), F.softplus,
                                lambda t: F.softplus(t, beta=2.0, threshold=1.5), F.hardtanh,
                                lambda t: F.hardtanh(t, -0.5, 1.2)])
def test_new_activations(fn):
    x = away_from_zero(4, 5)
    x[np.abs(np.abs(x) - 0.5) < 0.02] += 0.05  # keep hardtanh's corners and softplus' threshold out of the step
    x[np.abs(x - 1.2) < 0.02] += 0.05
    x[np.abs(2 * x - 1.5) < 0.02] += 0.05
    assert_grads(lambda t: weighted(fn(t)), x)


def test_pow_and_matmul_methods():
    assert_grads(lambda a, b: weighted(a.pow(2).matmul(b)), randn(2, 3), randn(3, 4))
