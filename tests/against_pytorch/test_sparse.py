"""Sparse embedding gradients and the optimisers that take them, against PyTorch: the same gradient
rows as ``F.embedding(..., sparse=True)`` (coalesced), and the same parameters step after step as
``torch.optim.SparseAdam`` and ``torch.optim.SGD`` on sparse gradients.

PyTorch is not a dependency; these tests run only where it is installed and are skipped elsewhere.
"""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import optim

torch = pytest.importorskip("torch")

V, D, STEPS = 12, 5, 25


def batches(seed=0):
    """Batches of ids (4, 3) with repeats, the same for both frameworks, and a loss weight per output."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, V, (4, 3)), rng.standard_normal((4, 3, D))) for _ in range(STEPS)]


def loss_ours(weight, ids, r, padding_idx=None):
    out = F.embedding(ids, weight, padding_idx, sparse=True)
    return (out * out * gw.tensor(r)).sum()       # a gradient that depends on the weights


def loss_theirs(weight, ids, r, padding_idx=None):
    out = torch.nn.functional.embedding(torch.from_numpy(ids), weight, padding_idx, sparse=True)
    return (out * out * torch.from_numpy(r)).sum()


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_sparse_embedding_gradient_equals_pytorchs_coalesced_gradient(padding_idx):
    start = np.random.default_rng(1).standard_normal((V, D))
    ids, r = batches()[0]
    ids[0, 0] = ids[1, 1] = 2
    ours = gw.tensor(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    loss_ours(ours, ids, r, padding_idx).backward()
    loss_theirs(theirs, ids, r, padding_idx).backward()
    tg = theirs.grad.coalesce()
    np.testing.assert_array_equal(ours.grad.indices, tg.indices()[0].numpy())
    np.testing.assert_allclose(ours.grad.values, tg.values().numpy(), rtol=1e-13, atol=1e-15)


def run_both(make_ours, make_theirs, seed=0):
    start = np.random.default_rng(seed + 1).standard_normal((V, D))
    ours = gw.nn.Parameter(start.copy())
    theirs = torch.tensor(start.copy(), requires_grad=True)
    opt, topt = make_ours([ours]), make_theirs([theirs])
    for step, (ids, r) in enumerate(batches(seed)):
        opt.zero_grad()
        topt.zero_grad()
        loss_ours(ours, ids, r).backward()
        loss_theirs(theirs, ids, r).backward()
        opt.step()
        topt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=f"step {step + 1}")
    return opt, topt, ours, theirs


@pytest.mark.parametrize("options", [dict(), dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)])
def test_sparse_adam_matches_pytorch_step_by_step(options):
    opt, topt, ours, theirs = run_both(lambda p: optim.SparseAdam(p, **options),
                                       lambda p: torch.optim.SparseAdam(p, **options))
    state, tstate = opt.state[ours], topt.state[theirs]
    assert state["step"] == tstate["step"] == STEPS
    np.testing.assert_allclose(state["exp_avg"], tstate["exp_avg"].numpy(), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(state["exp_avg_sq"], tstate["exp_avg_sq"].numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("options", [dict(lr=0.05), dict(lr=0.02, momentum=0.9),
                                     dict(lr=0.02, momentum=0.9, nesterov=True),
                                     dict(lr=0.02, momentum=0.5, dampening=0.3)])
def test_sgd_on_sparse_gradients_matches_pytorch_step_by_step(options):
    run_both(lambda p: optim.SGD(p, **options), lambda p: torch.optim.SGD(p, **options))


def test_pytorch_refuses_what_gradwork_refuses():
    """Adam with a sparse gradient, SparseAdam with a dense one, SGD with weight decay and a sparse one."""
    for make_theirs, make_ours, sparse in ((torch.optim.Adam, optim.Adam, True),
                                           (torch.optim.SparseAdam, optim.SparseAdam, False),
                                           (lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.1),
                                            lambda p: optim.SGD(p, lr=0.1, weight_decay=0.1), True)):
        theirs = torch.zeros((V, D), dtype=torch.float64, requires_grad=True)
        ours = gw.nn.Parameter(np.zeros((V, D)))
        topt, opt = make_theirs([theirs]), make_ours([ours])
        torch.nn.functional.embedding(torch.tensor([1]), theirs, sparse=sparse).sum().backward()
        F.embedding(np.array([1]), ours, sparse=sparse).sum().backward()
        with pytest.raises(RuntimeError):
            topt.step()
        with pytest.raises(RuntimeError):
            opt.step()
