"""Embedding gradients: the segment-sum backward, sparse gradients (``sparse=True``) and everything that
reads a ``.grad`` that is sparse — accumulation, zero_grad, clipping, gradient checking, optimisers."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn, optim
from gradwork.autograd.sparse import SparseGrad
from gradwork.tools.gradcheck import gradcheck

V, D = 9, 4


def table(rng, dtype=np.float64):
    return gw.tensor(rng.standard_normal((V, D)).astype(dtype), requires_grad=True)


def scatter_add_reference(ids, gy, shape):
    """The obvious dense gradient: np.add.at, one row at a time."""
    grad = np.zeros(shape, gy.dtype)
    np.add.at(grad, ids.reshape(-1), gy.reshape(-1, shape[1]))
    return grad


def backward_with_weights(weight, ids, rng, sparse, padding_idx=None):
    """Run L = Σ r ⊙ embedding(ids, W) backward with fixed random r; returns r."""
    out = F.embedding(ids, weight, padding_idx, sparse=sparse)
    r = rng.standard_normal(out.shape).astype(out.dtype)
    (out * gw.tensor(r)).sum().backward()
    return r


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_embedding_gradient_is_the_scatter_add_of_the_output_gradient_with_repeats_summed(rng, shape):
    ids = rng.integers(0, V, shape)
    ids.reshape(-1)[:2] = 3                        # a repeated id for certain
    w = table(rng)
    r = backward_with_weights(w, ids, rng, sparse=False)
    assert isinstance(w.grad, np.ndarray)
    np.testing.assert_allclose(w.grad, scatter_add_reference(ids, r, (V, D)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_sparse_and_dense_embedding_gradients_are_equal_in_float64(rng, padding_idx):
    ids = rng.integers(0, V, (6, 5))
    ids[0, :3] = 3
    dense_w, sparse_w = table(rng), None
    sparse_w = gw.tensor(dense_w.data.copy(), requires_grad=True)
    r = backward_with_weights(dense_w, ids, np.random.default_rng(7), sparse=False, padding_idx=padding_idx)
    backward_with_weights(sparse_w, ids, np.random.default_rng(7), sparse=True, padding_idx=padding_idx)
    g = sparse_w.grad
    assert isinstance(g, SparseGrad) and g.shape == (V, D) and g.dtype == np.float64
    expected_rows = np.setdiff1d(np.unique(ids), [] if padding_idx is None else [padding_idx])
    np.testing.assert_array_equal(g.indices, expected_rows)       # each used row once, in order
    np.testing.assert_allclose(g.to_dense(), dense_w.grad, rtol=1e-13, atol=1e-13)
    expected = scatter_add_reference(ids, r, (V, D))
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(dense_w.grad, expected, rtol=1e-12, atol=1e-12)


def test_the_gradient_is_one_hot_transposed_times_the_output_gradient(rng):
    ids = rng.integers(0, V, 11)
    w = table(rng)
    r = backward_with_weights(w, ids, rng, sparse=True)
    np.testing.assert_allclose(w.grad.to_dense(), np.eye(V)[ids].T @ r, rtol=1e-12, atol=1e-12)


def test_sparse_embedding_passes_gradient_check(rng):
    ids = rng.integers(0, V, (3, 4))
    w = table(rng)
    report = gradcheck(lambda weight: F.embedding(ids, weight, sparse=True), [w])
    assert report.ok, report


def test_float32_sparse_gradient_stays_float32(rng):
    layer = nn.Embedding(V, D, sparse=True)
    layer(np.array([1, 1, 5])).sum().backward()
    g = layer.weight.grad
    assert g.dtype == np.float32 and g.indices.dtype == np.int64
    np.testing.assert_array_equal(g.indices, [1, 5])
    np.testing.assert_array_equal(g.values, [[2] * D, [1] * D])


def test_two_backward_passes_add_sparse_gradients_and_stay_sparse(rng):
    w = table(rng)
    dense = gw.tensor(w.data.copy(), requires_grad=True)
    for ids in (np.array([0, 2, 2]), np.array([2, 5])):
        for weight, sparse in ((w, True), (dense, False)):
            backward_with_weights(weight, ids, np.random.default_rng(int(ids.sum())), sparse)
    assert isinstance(w.grad, SparseGrad)
    np.testing.assert_array_equal(w.grad.indices, [0, 2, 5])
    np.testing.assert_allclose(w.grad.to_dense(), dense.grad, rtol=1e-13)


def test_a_sparse_gradient_added_to_a_dense_one_gives_the_dense_sum(rng):
    w = table(rng)
    (w * 2.0).sum().backward()                                     # dense: 2 everywhere
    F.embedding(np.array([1, 1]), w, sparse=True).sum().backward()  # sparse: row 1 gets 2
    expected = np.full((V, D), 2.0)
    expected[1] += 2
    assert isinstance(w.grad, np.ndarray)
    np.testing.assert_array_equal(w.grad, expected)
    w.grad = None
    F.embedding(np.array([1, 1]), w, sparse=True).sum().backward()
    (w * 2.0).sum().backward()                                     # the other order
    np.testing.assert_array_equal(w.grad, expected)


def test_a_table_computed_by_other_ops_gets_a_dense_gradient(rng):
    w = table(rng)
    F.embedding(np.array([3]), w * 3.0, sparse=True).sum().backward()
    assert isinstance(w.grad, np.ndarray)
    expected = np.zeros((V, D))
    expected[3] = 3
    np.testing.assert_array_equal(w.grad, expected)


def test_zero_grad_clears_a_sparse_gradient():
    layer = nn.Embedding(V, D, sparse=True)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer(np.array([2])).sum().backward()
    opt.zero_grad()
    assert layer.weight.grad is None
    layer(np.array([2])).sum().backward()
    layer.zero_grad()
    assert layer.weight.grad is None


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_dense_optimisers_refuse_a_sparse_gradient_and_name_the_ones_that_take_it(name):
    layer = nn.Embedding(V, D, sparse=True)
    before = layer.weight.data.copy()
    opt = getattr(optim, name)(layer.parameters(), lr=0.1)
    layer(np.array([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match=rf"{name} does not support sparse gradients.*SparseAdam.*SGD"):
        opt.step()
    np.testing.assert_array_equal(layer.weight.data, before)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, np.inf])
def test_clip_grad_norm_of_a_sparse_gradient_equals_clipping_the_dense_one(rng, norm_type):
    ids = rng.integers(0, V, 8)
    w, dense = table(rng), None
    dense = gw.tensor(w.data.copy(), requires_grad=True)
    other, other_dense = (gw.tensor(np.ones(3), requires_grad=True) for _ in range(2))
    for weight, o, sparse in ((w, other, True), (dense, other_dense, False)):
        backward_with_weights(weight, ids, np.random.default_rng(3), sparse)
        (o * 5.0).sum().backward()
    total = optim.clip_grad_norm_([w, other], 0.5, norm_type)
    assert total == pytest.approx(optim.clip_grad_norm_([dense, other_dense], 0.5, norm_type), rel=1e-12)
    assert isinstance(w.grad, SparseGrad)
    np.testing.assert_allclose(w.grad.to_dense(), dense.grad, rtol=1e-12)
    np.testing.assert_allclose(other.grad, other_dense.grad, rtol=1e-12)


def test_clip_grad_value_clips_the_stored_rows_and_stays_sparse(rng):
    w = table(rng)
    F.embedding(np.array([4, 4, 4, 0]), w, sparse=True).sum().backward()
    optim.clip_grad_value_(w, 2.5)
    assert isinstance(w.grad, SparseGrad)
    np.testing.assert_array_equal(w.grad.values, [[1] * D, [2.5] * D])


def test_sparse_grad_reads_as_its_dense_array_and_names_to_dense_for_the_rest():
    g = SparseGrad.from_rows(np.array([2, 0, 2]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), (4, 2))
    np.testing.assert_array_equal(np.asarray(g), [[3, 4], [0, 0], [6, 8], [0, 0]])
    assert np.linalg.norm(g) == pytest.approx(np.linalg.norm(g.to_dense()))
    np.testing.assert_array_equal((g * 0.5).values, [[1.5, 2.0], [3.0, 4.0]])
    with pytest.raises(AttributeError, match="sparse.*to_dense"):
        g.reshape(-1)


def test_no_ids_give_an_empty_sparse_gradient():
    layer = nn.Embedding(V, D, sparse=True)
    out = layer(np.zeros((0,), np.int64))
    assert out.shape == (0, D)
    out.sum().backward()
    assert layer.weight.grad.indices.shape == (0,) and layer.weight.grad.values.shape == (0, D)
    assert not layer.weight.grad.to_dense().any()


def test_embedding_module_passes_sparse_and_shows_it():
    layer = nn.Embedding(V, D, padding_idx=0, sparse=True)
    assert repr(layer).startswith("Embedding(9, 4, padding_idx=0, sparse=True)")
    layer(np.array([0, 1])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.indices, [1])   # padding row: no gradient
