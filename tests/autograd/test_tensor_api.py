"""The tensor API a PyTorch user types in the first hour, and the dtype/memory facts behind it."""
import numpy as np
import pytest

import gradwork as gw
from gradwork import nn
from gradwork.errors import ShapeError


def test_a_python_number_in_where_takes_the_dtype_of_the_tensor():
    x = gw.tensor(np.array([1.0, 2.0]))  # float64
    y = gw.where(gw.tensor([True, False]), 0.1, x)
    assert y.dtype == np.float64 and y.data[0] == 0.1
    assert gw.where(gw.tensor([True, False]), x, 0.1).data[1] == 0.1
    assert gw.where(gw.tensor([True]), 0.5, gw.zeros(1)).dtype == np.float32


def test_python_numbers_take_the_dtype_of_the_tensor_in_arithmetic():
    x = gw.tensor(np.array([1.0]))
    for y in (x + 0.1, 0.1 + x, x * 0.1, x - 0.1, x / 0.1, x.masked_fill(gw.tensor([True]), 0.1)):
        assert y.dtype == np.float64
    assert (x * 0.1).data[0] == 0.1


def test_every_leaf_gets_its_own_gradient_array():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = gw.tensor([3.0, 4.0], requires_grad=True)
    w = gw.tensor([5.0, 6.0], requires_grad=True)
    ((x + y) * w).sum().backward()
    assert not np.shares_memory(x.grad, y.grad)
    x.grad[:] = 0
    np.testing.assert_array_equal(y.grad, [5.0, 6.0])


def test_leaf_gradients_do_not_share_memory_through_reshape():
    x = gw.tensor([[1.0, 2.0]], requires_grad=True)
    y = gw.tensor([1.0, 2.0], requires_grad=True)
    (x.reshape(2) + y).sum().backward()
    assert not np.shares_memory(x.grad, y.grad)
    x.grad *= 0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_tensor_of_a_tensor_is_a_copy():
    t = gw.tensor([1.0, 2.0])
    copy = gw.tensor(t)
    t.data[0] = 9.0
    assert copy.data[0] == 1.0 and copy.dtype == t.dtype
    w = nn.Parameter(gw.tensor([1.0]))
    snapshot = gw.tensor(w)
    with gw.no_grad():
        w -= 1.0
    assert snapshot.item() == 1.0


def test_size_dim_numel_and_python_numbers():
    t = gw.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.numel() == 24
    with pytest.raises(IndexError, match="dim 3"):
        t.size(3)
    assert float(gw.tensor([2.5])) == 2.5 and int(gw.tensor(7)) == 7
    with pytest.raises(ValueError, match="one-element"):
        float(gw.zeros(2))


def test_retain_grad_keeps_the_gradient_of_an_intermediate_tensor():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])
    np.testing.assert_allclose(x.grad, [18.0, 36.0])


def test_clone_has_its_own_memory_and_passes_the_gradient():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.data, x.data)
    (c * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_shape_methods_match_their_numpy_meaning():
    t = gw.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(t.flip(1).data, t.data[:, ::-1])
    np.testing.assert_array_equal(t.repeat(2, 1).data, np.tile(t.data, (2, 1)))
    np.testing.assert_array_equal(gw.tensor([[1.0], [2.0]]).expand(2, 3).data, [[1, 1, 1], [2, 2, 2]])
    assert [p.shape for p in t.split(2, dim=1)] == [(2, 2), (2, 1)]
    assert [p.shape for p in t.chunk(3, dim=1)] == [(2, 1)] * 3
    assert [p.shape for p in gw.zeros(5).chunk(3)] == [(2,), (2,), (1,)]
    assert [p.tolist() for p in t.unbind(0)] == [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(t.cumsum(1).data, np.cumsum(t.data, 1))
    assert t.prod(1).tolist() == [0.0, 60.0]
    assert gw.tensor([3.0, 4.0]).norm().item() == 5.0
    np.testing.assert_allclose(gw.tensor([1000.0, 1000.0]).logsumexp(0).item(), 1000 + np.log(2))


@pytest.mark.parametrize("call, error, words", [
    (lambda t: t.gather(1, gw.tensor([[0, 3]])), IndexError, "index 3 is out of range"),
    (lambda t: t.gather(1, gw.tensor([[0.0, 1.0]])), TypeError, "integers"),
    (lambda t: t.gather(2, gw.tensor([[0]])), IndexError, "dim 2"),
    (lambda t: t.gather(1, gw.tensor([0])), ShapeError, "dimensions"),
    (lambda t: t.masked_fill(gw.tensor([1, 0, 1]), 0.0), TypeError, "boolean"),
    (lambda t: t.masked_fill(gw.tensor([True, False]), 0.0), ShapeError, "cannot be broadcast"),
    (lambda t: t.split([1, 1], dim=1), ValueError, "add up to 3"),
    (lambda t: t.split(0), ValueError, "positive"),
    (lambda t: t.chunk(0), ValueError, "positive"),
    (lambda t: t.expand(4, 3), ShapeError, "only dimensions of length 1"),
    (lambda t: t.repeat(2), ShapeError, "at least one per dimension"),
    (lambda t: t.flip(), ValueError, "give the dims"),
    (lambda t: t.norm(p=-1), ValueError, "p must be"),
    (lambda t: t.prod(dim=(0, 1)), TypeError, "one axis"),
    (lambda t: t.cumsum(5), IndexError, "out of range"),
])
def test_bad_arguments_name_what_is_wrong(call, error, words):
    with pytest.raises(error, match=words):
        call(gw.zeros(2, 3))


def test_edge_shapes_match_pytorch():
    x = gw.tensor(np.array(3.0), requires_grad=True)
    y = x.cumsum(0)
    y.backward()
    assert y.shape == () and x.grad == 1.0
    assert gw.zeros(0, 3).norm(float("inf"), dim=-1).shape == (0,)
    assert gw.zeros(0, 3).logsumexp(-1).shape == (0,)
    assert gw.zeros(0, 3).unbind(0) == ()


def test_norm_below_one_has_a_zero_gradient_at_zero():
    x = gw.tensor(np.array([0.0, 2.0, -1.0]), requires_grad=True)
    x.norm(0.5).backward()
    assert x.grad[0] == 0 and np.all(np.isfinite(x.grad))
