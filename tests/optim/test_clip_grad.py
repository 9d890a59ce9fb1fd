"""Gradient clipping: the exploding-gradient guard."""
import numpy as np
import pytest

from gradwork import optim
from gradwork.nn import Parameter


def params_with_grads(*grads):
    ps = []
    for g in grads:
        p = Parameter(np.zeros_like(np.asarray(g, dtype=np.float64)))
        p.grad = np.asarray(g, dtype=np.float64)
        ps.append(p)
    return ps


def test_clip_grad_norm_caps_the_global_norm_and_keeps_direction():
    ps = params_with_grads([3.0, 0.0], [[4.0]])
    total = optim.clip_grad_norm_(ps, max_norm=1.0)
    assert total == pytest.approx(5.0)
    clipped = np.concatenate([p.grad.ravel() for p in ps])
    assert np.linalg.norm(clipped) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(clipped / np.linalg.norm(clipped), [0.6, 0, 0.8])


def test_clip_grad_norm_leaves_small_gradients_alone():
    ps = params_with_grads([0.3, 0.4])
    optim.clip_grad_norm_(ps, max_norm=1.0)
    np.testing.assert_array_equal(ps[0].grad, [0.3, 0.4])


def test_clip_grad_value():
    ps = params_with_grads([-5.0, 0.5, 7.0])
    optim.clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad, [-1.0, 0.5, 1.0])


def test_infinity_norm():
    ps = params_with_grads([-5.0, 2.0])
    assert optim.clip_grad_norm_(ps, 1.0, norm_type=float("inf")) == 5.0
