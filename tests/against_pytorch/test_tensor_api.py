"""The tensor API, activations and in-place updates against PyTorch: same values, same gradients."""
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn

torch = pytest.importorskip("torch")
tF = torch.nn.functional

R = np.random.default_rng(5)
X = R.standard_normal((3, 4))
INDEX = np.array([[0, 3, 3, 1], [2, 2, 0, 1], [1, 0, 3, 3]])
MASK = R.random((3, 4)) > 0.5

# Each case: the same program written for a gradwork tensor and for a torch tensor.
CASES = {
    "expand": lambda t, m: t[:, :1].expand(3, 5) * t[:, 2:3],
    "repeat": lambda t, m: t.repeat(2, 1, 3),
    "flip": lambda t, m: t.flip(0, 1) * t,
    "split": lambda t, m: t.split([1, 3], 1)[1] * 2 + t.split(2, 1)[0].sum(),
    "chunk": lambda t, m: t.chunk(3, 0)[2] - t.chunk(2, 1)[1].sum(),
    "unbind": lambda t, m: t.unbind(1)[2] * t.unbind(0)[0][1],
    "gather": lambda t, m: t.gather(1, m.tensor(INDEX)),
    "masked_fill": lambda t, m: t.masked_fill(m.tensor(MASK), -1.5) * t,
    "clone": lambda t, m: t.clone() * t,
    "cumsum": lambda t, m: t.cumsum(1) * t.cumsum(0),
    "prod": lambda t, m: t.prod(1) + t.prod(0, keepdim=True).sum(),
    "prod_all": lambda t, m: t.prod(),
    "norm": lambda t, m: t.norm() + t.norm(1, 1).sum() + t.norm(3, 0, keepdim=True).sum() + t.norm(math.inf, 1).sum(),
    "logsumexp": lambda t, m: t.logsumexp(1) + t.logsumexp((0, 1)),
    "trig": lambda t, m: t.sin() * t.cos() + (t * t).log1p(),
    "pow_matmul": lambda t, m: t.pow(3).matmul(t.T),
}


def to_gw(data):
    return gw.tensor(data, requires_grad=True)


def to_torch(data):
    return torch.tensor(data, requires_grad=True)


class TorchNamespace:
    tensor = staticmethod(torch.tensor)


class GwNamespace:
    tensor = staticmethod(gw.tensor)


@pytest.mark.parametrize("name", sorted(CASES))
def test_tensor_methods_match_pytorch(name):
    x, tx = to_gw(X), to_torch(X)
    out, tout = CASES[name](x, GwNamespace), CASES[name](tx, TorchNamespace)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    weights = R.standard_normal(out.shape)
    (out * gw.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("ours, theirs", [
    (F.silu, tF.silu), (F.elu, tF.elu), (lambda t: F.elu(t, 0.4), lambda t: tF.elu(t, 0.4)),
    (F.softplus, tF.softplus), (lambda t: F.softplus(t, 2.0, 3.0), lambda t: tF.softplus(t, 2.0, 3.0)),
    (F.hardtanh, tF.hardtanh), (lambda t: F.hardtanh(t, -0.5, 0.25), lambda t: tF.hardtanh(t, -0.5, 0.25)),
    (nn.SiLU(), torch.nn.SiLU()), (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.Softplus(0.5, 4.0), torch.nn.Softplus(0.5, 4.0)),
    (nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)),
])
def test_new_activations_match_pytorch(ours, theirs):
    data = R.standard_normal((4, 5)) * 3
    x, tx = to_gw(data), to_torch(data)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_hand_written_sgd_loop_matches_pytorch():
    data = R.standard_normal((3, 2))
    target = R.standard_normal((5, 2))
    inputs = R.standard_normal((5, 3))
    w, tw = to_gw(data), to_torch(data)
    for _ in range(5):
        for weight, lib, x, y in ((w, gw, gw.tensor(inputs), gw.tensor(target)),
                                  (tw, torch, torch.tensor(inputs), torch.tensor(target))):
            loss = ((x @ weight - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                weight -= 0.1 * weight.grad
                weight.mul_(0.99)
            weight.grad = None
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)
    assert w.requires_grad and w.is_leaf


def test_recorded_in_place_ops_match_pytorch():
    def program(x):
        h = x * 2.0
        h += 1.0
        h.mul_(x)
        h[0, 1] = 0.0
        h.clamp_(-3.0, 3.0)
        return h

    x, tx = to_gw(X), to_torch(X)
    out, tout = program(x), program(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_where_with_a_python_scalar_keeps_float64_like_pytorch():
    x = np.array([1.0, 2.0])
    cond = np.array([True, False])
    ours = gw.where(gw.tensor(cond), 0.1, gw.tensor(x))
    theirs = torch.where(torch.tensor(cond), 0.1, torch.tensor(x))
    assert ours.dtype == np.float64 and theirs.dtype == torch.float64
    np.testing.assert_array_equal(ours.data, theirs.numpy())
