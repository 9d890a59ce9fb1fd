"""Tensor creation, dtypes, operators and conversions."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.errors import ShapeError


def test_tensor_keeps_numpy_dtype_and_makes_python_floats_float32():
    assert gw.tensor(np.zeros(2, np.float64)).dtype == np.float64
    assert gw.tensor(np.zeros(2, np.int32)).dtype == np.int32
    assert gw.tensor([1.0, 2.0]).dtype == np.float32
    assert gw.tensor(1.5).dtype == np.float32
    assert gw.tensor([1, 2]).dtype == np.int64
    assert gw.tensor(3).dtype == np.int64
    assert gw.tensor(np.float64(2.0)).dtype == np.float64


def test_tensor_copies_its_input():
    a = np.zeros(3)
    t = gw.tensor(a)
    a[0] = 5
    assert t.data[0] == 0


def test_properties_and_conversions():
    t = gw.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and t.dtype == np.float32
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2 and t.dim() == 2
    assert isinstance(t.numpy(), np.ndarray)
    assert t.sum().item() == 21.0 and isinstance(t.sum().item(), float)
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_python_numbers_keep_the_tensor_dtype():
    t = gw.tensor([1.0, 2.0])
    for result in (t * 2.5, 2.5 * t, t + np.float64(1), t / 3, t ** 2, 1 - t):
        assert result.dtype == np.float32


def test_integer_tensor_with_a_float_becomes_float():
    assert (gw.arange(3) * 0.5).dtype == np.float32


def test_operators_match_numpy_with_broadcasting():
    a = np.arange(6.0).reshape(2, 3)
    b = np.array([1.0, 2.0, 4.0])
    ta, tb = gw.tensor(a), gw.tensor(b)
    np.testing.assert_allclose((ta + tb).data, a + b)
    np.testing.assert_allclose((ta - tb).data, a - b)
    np.testing.assert_allclose((ta * tb).data, a * b)
    np.testing.assert_allclose((ta / tb).data, a / b)
    np.testing.assert_allclose((ta ** 2).data, a ** 2)
    np.testing.assert_allclose((ta @ tb).data, a @ b)
    np.testing.assert_allclose((-ta).data, -a)
    np.testing.assert_allclose((a * tb).data, a * b)  # ndarray on the left hands over to the tensor


def test_comparisons_give_boolean_tensors_without_grad():
    t = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = t > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal((t == 2.0).data, [False, True, False])
    np.testing.assert_array_equal((t <= 2.0).data, [True, True, False])


def test_transpose_swaps_two_axes_and_permute_reorders_all():
    t = gw.zeros(2, 3, 4)
    assert t.transpose(0, 2).shape == (4, 3, 2)
    assert t.permute(1, 2, 0).shape == (3, 4, 2)
    assert t.T.shape == (4, 3, 2)
    assert gw.zeros(2, 3).T.shape == (3, 2)


def test_reductions_accept_numpy_and_pytorch_spellings():
    t = gw.tensor(np.arange(12.0).reshape(3, 4))
    assert t.sum(axis=1).shape == (3,)
    assert t.sum(dim=1, keepdim=True).shape == (3, 1)
    assert t.mean(0, keepdims=True).shape == (1, 4)
    np.testing.assert_array_equal(t.argmax(dim=1).data, [3, 3, 3])
    np.testing.assert_array_equal(t.argmin(axis=0).data, [0, 0, 0, 0])
    assert t.var().item() == pytest.approx(np.var(np.arange(12.0), ddof=1))
    assert t.var(correction=0).item() == pytest.approx(np.var(np.arange(12.0)))


def test_factories():
    assert gw.zeros(2, 3).shape == (2, 3) and gw.zeros((2, 3)).dtype == np.float32
    assert gw.ones(4).data.sum() == 4
    assert gw.full((2, 2), 7.0).data.tolist() == [[7, 7], [7, 7]]
    assert gw.eye(3).data.trace() == 3
    assert gw.arange(5).data.tolist() == [0, 1, 2, 3, 4]
    assert gw.arange(0, 1, 0.25).dtype == np.float32
    x = gw.tensor([[1.0, 2.0]])
    assert gw.zeros_like(x).shape == (1, 2) and gw.ones_like(x).data.sum() == 2
    assert gw.rand(3, 4).data.min() >= 0 and gw.randn(1000).data.std() == pytest.approx(1, abs=0.1)


def test_random_factories_follow_manual_seed():
    gw.manual_seed(5)
    a = gw.randn(3).data
    gw.manual_seed(5)
    np.testing.assert_array_equal(a, gw.randn(3).data)


def test_cat_stack_where_values():
    a, b = gw.tensor([[1.0, 2.0]]), gw.tensor([[3.0, 4.0]])
    assert gw.cat([a, b]).shape == (2, 2) and gw.cat([a, b], dim=1).shape == (1, 4)
    assert gw.stack([a, b], axis=1).shape == (1, 2, 2)
    np.testing.assert_array_equal(gw.where(a > 1.5, a, b).data, [[3.0, 2.0]])


def test_shape_errors_name_the_op_and_both_shapes():
    with pytest.raises(ShapeError, match=r"add: .*\(3, 4\), \(5,\)"):
        gw.zeros(3, 4) + gw.zeros(5)
    with pytest.raises(ShapeError, match=r"matmul: cannot multiply shapes \(3, 4\) and \(5, 6\)"):
        gw.zeros(3, 4) @ gw.zeros(5, 6)
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        gw.zeros(2, 3).reshape(4, 2)
    with pytest.raises(ShapeError, match="stack"):
        gw.stack([gw.zeros(2), gw.zeros(3)])


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        gw.tensor([1, 2], requires_grad=True)


def test_ragged_lists_are_rejected_clearly():
    with pytest.raises(TypeError, match="ragged|cannot make an array"):
        gw.tensor([[1.0, 2.0], [3.0]])


def test_repr_shows_values_and_grad_state():
    assert "requires_grad=True" in repr(gw.tensor([1.0], requires_grad=True))
    assert "grad_fn=Mul" in repr(gw.tensor([1.0], requires_grad=True) * 2)
