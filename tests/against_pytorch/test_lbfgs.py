"""``optim.LBFGS`` against ``torch.optim.LBFGS`` (no line search): the same parameters after every
``step(closure)``, for several iterations per call and for one iteration per call (the history kept
between calls), on a function with curvature that changes (Rosenbrock's) and on a least-squares fit.

PyTorch is not a dependency; these tests run only where it is installed and are skipped elsewhere.
"""
import numpy as np
import pytest

import gradwork as gw
from gradwork import nn
from gradwork.optim.lbfgs import LBFGS

torch = pytest.importorskip("torch")


def rosenbrock(x, lib):
    """Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])², minimum 0 at x = 1."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def least_squares(params, lib, data):
    w, b = params
    a, y = data
    if lib is torch:
        a, y = torch.tensor(a), torch.tensor(y)
        return ((a @ w + b - y) ** 2).mean()
    return ((gw.tensor(a) @ w + b - gw.tensor(y)) ** 2).mean()


def run_both(start, loss_fn, options, calls):
    ours = [nn.Parameter(np.array(s, dtype=np.float64)) for s in start]
    theirs = [torch.tensor(np.array(s, dtype=np.float64), requires_grad=True) for s in start]
    opt_ours, opt_theirs = LBFGS(ours, **options), torch.optim.LBFGS(theirs, **options)

    def closure_ours():
        opt_ours.zero_grad()
        loss = loss_fn(ours, gw)
        loss.backward()
        return loss

    def closure_theirs():
        opt_theirs.zero_grad()
        loss = loss_fn(theirs, torch)
        loss.backward()
        return loss

    for _ in range(calls):
        first_ours, first_theirs = opt_ours.step(closure_ours), opt_theirs.step(closure_theirs)
        np.testing.assert_allclose(float(first_ours), float(first_theirs.detach()), rtol=1e-9)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-8, atol=1e-12)
    state = opt_ours.state[ours[0]]
    assert state["n_iter"] == opt_theirs.state[theirs[0]]["n_iter"]
    assert state["func_evals"] == opt_theirs.state[theirs[0]]["func_evals"]
    return ours


@pytest.mark.parametrize("options, calls", [
    (dict(lr=1, max_iter=20), 3),                       # several iterations per call
    (dict(lr=0.5, max_iter=1, history_size=5), 40),     # one per call, the history carried and trimmed
    (dict(lr=1, max_iter=7, max_eval=5, history_size=3), 4),
])
def test_lbfgs_follows_pytorch_on_rosenbrock(options, calls):
    start = [np.array([-1.2, 1.0, -0.5, 0.8])]
    run_both(start, lambda ps, lib: rosenbrock(ps[0], lib), options, calls)


def test_lbfgs_follows_pytorch_on_least_squares_with_two_parameters():
    rng = np.random.default_rng(0)
    a, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    start = [rng.standard_normal(4), np.array(0.3)]
    ours = run_both(start, lambda ps, lib: least_squares(ps, lib, (a, y)), dict(lr=1, max_iter=10), 3)
    solution, *_ = np.linalg.lstsq(np.c_[a, np.ones(30)], y, rcond=None)
    np.testing.assert_allclose(np.r_[ours[0].data, ours[1].data], solution, atol=1e-6)
