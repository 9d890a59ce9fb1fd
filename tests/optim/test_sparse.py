"""Optimisers on sparse gradients: SparseAdam (lazy Adam) and SGD move only the rows a batch used."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import optim
from gradwork.autograd.sparse import SparseGrad

V, D = 8, 3
BATCHES = [np.array([1, 1, 4]), np.array([4, 6]), np.array([1, 6, 6, 7]), np.array([0])]


def start(seed=0):
    return np.random.default_rng(seed).standard_normal((V, D))


def train(weight, opt, sparse, batches=BATCHES):
    """Minimise Σ over each batch of ½‖W[id] − target‖²: a different gradient for every row."""
    target = np.linspace(-1, 1, D)
    for ids in batches:
        opt.zero_grad()
        rows = F.embedding(ids, weight, sparse=sparse)
        (((rows - gw.tensor(target)) ** 2).sum() * 0.5).backward()
        opt.step()


def test_sparse_adam_moves_only_the_rows_a_batch_used_and_keeps_their_moments():
    w = gw.nn.Parameter(start())
    opt = optim.SparseAdam([w], lr=0.1)
    train(w, opt, True, BATCHES[:1])
    state = opt.state[w]
    untouched = [0, 2, 3, 5, 6, 7]
    np.testing.assert_array_equal(w.data[untouched], start()[untouched])
    assert not state["exp_avg"][untouched].any() and not state["exp_avg_sq"][untouched].any()
    moved = w.data[[1, 4]] - start()[[1, 4]]
    np.testing.assert_allclose(np.abs(moved), 0.1, rtol=1e-5)  # step one: lr·sign(g) (up to eps), as Adam's


def test_sparse_adam_follows_its_formula_with_one_step_count_for_the_table():
    w = gw.nn.Parameter(start())
    opt = optim.SparseAdam([w], lr=0.05, betas=(0.8, 0.9), eps=1e-6)
    expected, m, v = start(), np.zeros((V, D)), np.zeros((V, D))
    target = np.linspace(-1, 1, D)
    for t, ids in enumerate(BATCHES, start=1):
        rows = np.unique(ids)
        g = np.zeros((V, D))
        np.add.at(g, ids, expected[ids] - target)
        m[rows] = 0.8 * m[rows] + 0.2 * g[rows]
        v[rows] = 0.9 * v[rows] + 0.1 * g[rows] ** 2
        expected[rows] -= 0.05 * np.sqrt(1 - 0.9 ** t) / (1 - 0.8 ** t) * m[rows] / (np.sqrt(v[rows]) + 1e-6)
        train(w, opt, True, [ids])
        np.testing.assert_allclose(w.data, expected, rtol=1e-12, atol=1e-14)
    assert opt.state[w]["step"] == len(BATCHES)


def test_sparse_adam_refuses_dense_gradients_and_bad_options():
    w = gw.nn.Parameter(start())
    opt = optim.SparseAdam([w])
    w.sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients.*Adam"):
        opt.step()
    for options in (dict(lr=0), dict(eps=0), dict(betas=(1.0, 0.9))):
        with pytest.raises(ValueError):
            optim.SparseAdam([w], **options)


def test_sparse_adam_resumes_from_its_state_dict():
    w1, w2 = gw.nn.Parameter(start()), gw.nn.Parameter(start())
    opt1 = optim.SparseAdam([w1], lr=0.1)
    train(w1, opt1, True, BATCHES[:2])
    w2.data[:] = w1.data
    opt2 = optim.SparseAdam([w2], lr=0.1)
    opt2.load_state_dict(opt1.state_dict())
    train(w1, opt1, True, BATCHES[2:])
    train(w2, opt2, True, BATCHES[2:])
    np.testing.assert_array_equal(w1.data, w2.data)


def test_plain_sgd_on_a_sparse_gradient_equals_dense_sgd_and_leaves_other_rows_alone():
    sparse_w, dense_w = gw.nn.Parameter(start()), gw.nn.Parameter(start())
    train(sparse_w, optim.SGD([sparse_w], lr=0.1), True)
    train(dense_w, optim.SGD([dense_w], lr=0.1), False)
    np.testing.assert_allclose(sparse_w.data, dense_w.data, rtol=1e-14)
    untouched = [2, 3, 5]
    np.testing.assert_array_equal(sparse_w.data[untouched], start()[untouched])


@pytest.mark.parametrize("options", [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                     dict(momentum=0.5, dampening=0.3)])
def test_sgd_with_momentum_on_a_sparse_gradient_is_the_dense_update(options):
    sparse_w, dense_w = gw.nn.Parameter(start()), gw.nn.Parameter(start())
    train(sparse_w, optim.SGD([sparse_w], lr=0.1, **options), True)
    train(dense_w, optim.SGD([dense_w], lr=0.1, **options), False)
    np.testing.assert_allclose(sparse_w.data, dense_w.data, rtol=1e-13)


def test_sgd_refuses_weight_decay_with_a_sparse_gradient():
    w = gw.nn.Parameter(start())
    opt = optim.SGD([w], lr=0.1, weight_decay=0.01)
    F.embedding(np.array([1]), w, sparse=True).sum().backward()
    assert isinstance(w.grad, SparseGrad)
    with pytest.raises(RuntimeError, match="weight_decay.*sparse"):
        opt.step()


def test_a_step_counts_as_an_in_place_change_of_the_table():
    w = gw.nn.Parameter(start())
    opt = optim.SparseAdam([w])
    version = w._version[0]
    F.embedding(np.array([1]), w, sparse=True).sum().backward()
    opt.step()
    assert w._version[0] == version + 1
