"""Learning-rate schedules: their formulas epoch by epoch."""
import math

import numpy as np
import pytest

from gradwork import optim
from gradwork.nn import Parameter
from gradwork.optim import lr_scheduler as sched


def make_opt(lr=1.0):
    return optim.SGD([Parameter(np.zeros(1))], lr=lr)


def lrs(scheduler, epochs):
    values = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return values


def test_step_lr():
    assert lrs(sched.StepLR(make_opt(), step_size=2, gamma=0.5), 5) == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_exponential_lr():
    np.testing.assert_allclose(lrs(sched.ExponentialLR(make_opt(), 0.9), 3), [1, 0.9, 0.81, 0.729])


def test_inverse_time_decay():
    np.testing.assert_allclose(lrs(sched.InverseTimeDecay(make_opt(), decay=1.0), 3), [1, 1 / 2, 1 / 3, 1 / 4])


def test_cosine_annealing():
    values = lrs(sched.CosineAnnealingLR(make_opt(), T_max=4, eta_min=0.1), 4)
    assert values[0] == 1 and values[4] == pytest.approx(0.1)
    assert values[2] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 2)) / 2)


def test_linear_warmup_then_cosine():
    opt = make_opt()
    cosine = sched.CosineAnnealingLR(opt, T_max=2)
    values = lrs(sched.LinearWarmup(opt, warmup_epochs=4, after=cosine), 6)
    np.testing.assert_allclose(values, [0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.0], atol=1e-12)


def test_reduce_on_plateau_waits_for_patience():
    opt = make_opt()
    plateau = sched.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    for loss in [1.0, 0.9, 0.9, 0.9]:
        plateau.step(loss)
    assert opt.param_groups[0]["lr"] == 1.0
    plateau.step(0.9)
    assert opt.param_groups[0]["lr"] == 0.5


def test_scheduler_changes_the_rate_the_optimizer_uses():
    w = Parameter(np.array([1.0]))
    opt = optim.SGD([w], lr=1.0)
    s = sched.StepLR(opt, step_size=1, gamma=0.1)
    s.step()
    w.grad = np.array([1.0])
    opt.step()
    assert w.data[0] == pytest.approx(0.9)


def test_scheduler_state_round_trip():
    opt = make_opt()
    s = sched.ExponentialLR(opt, 0.5)
    s.step()
    s.step()
    other = sched.ExponentialLR(make_opt(), 0.5)
    other.load_state_dict(s.state_dict())
    assert other.get_last_lr() == [0.25]
