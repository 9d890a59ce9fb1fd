"""``optim.LBFGS``: the quasi-Newton steps, the history kept between calls, and the arguments it refuses.
(tests/against_pytorch/test_lbfgs.py holds it equal to PyTorch's step by step.)"""
import numpy as np
import pytest

from gradwork import nn
from gradwork.errors import ConfigError
from gradwork.optim.lbfgs import LBFGS

RNG = np.random.default_rng(3)
A = RNG.standard_normal((6, 6))
HESSIAN = A @ A.T + 6 * np.eye(6)   # symmetric positive definite
B = RNG.standard_normal(6)


def quadratic_closure(optimizer, x):
    """½ xᵀHx − bᵀx, minimum at H⁻¹b."""
    def closure():
        optimizer.zero_grad()
        loss = 0.5 * (x @ (nn.Parameter(HESSIAN, requires_grad=False) @ x)) - (x * B).sum()
        loss.backward()
        return loss
    return closure


def test_lbfgs_finds_the_minimum_of_a_quadratic():
    x = nn.Parameter(np.zeros(6))
    optimizer = LBFGS([x], max_iter=50)
    optimizer.step(quadratic_closure(optimizer, x))
    np.testing.assert_allclose(x.data, np.linalg.solve(HESSIAN, B), atol=1e-6)


def test_the_first_step_is_gradient_descent_scaled_by_the_l1_norm():
    x = nn.Parameter(np.zeros(6))
    optimizer = LBFGS([x], lr=0.5, max_iter=1)
    optimizer.step(quadratic_closure(optimizer, x))
    gradient = -B  # the gradient Hx − b at x = 0
    np.testing.assert_allclose(x.data, -0.5 * min(1.0, 1.0 / np.abs(gradient).sum()) * gradient)


def test_one_iteration_per_call_keeps_the_history_between_calls():
    """Ten calls of one iteration take the same path as one call of ten: the pairs (s, y) carry over."""
    x, z = nn.Parameter(np.zeros(6)), nn.Parameter(np.zeros(6))
    one_at_a_time, all_at_once = LBFGS([x], max_iter=1, history_size=4), LBFGS([z], max_iter=10, history_size=4)
    for _ in range(10):
        one_at_a_time.step(quadratic_closure(one_at_a_time, x))
    all_at_once.step(quadratic_closure(all_at_once, z))
    np.testing.assert_allclose(x.data, z.data, rtol=1e-12)
    assert len(one_at_a_time.state[x]["old_dirs"]) == 4  # trimmed to history_size


def test_lbfgs_takes_a_float32_parameter_and_keeps_its_dtype():
    x = nn.Parameter(np.zeros(6, dtype=np.float32))
    optimizer = LBFGS([x], max_iter=30)

    def closure():
        optimizer.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.data, 1.0, atol=1e-5)


def test_lbfgs_refuses_what_it_does_not_do():
    x = nn.Parameter(np.zeros(3))
    with pytest.raises(ConfigError, match="strong_wolfe"):
        LBFGS([x], line_search_fn="strong_wolfe")
    with pytest.raises(ConfigError, match="parameter groups"):
        LBFGS([{"params": [x]}, {"params": [nn.Parameter(np.zeros(2))]}])
    with pytest.raises(ConfigError, match="max_iter"):
        LBFGS([x], max_iter=0)
    with pytest.raises(TypeError, match="closure"):
        LBFGS([x]).step()
