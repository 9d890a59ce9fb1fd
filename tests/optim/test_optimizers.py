"""Optimizers: each minimises a quadratic; update rules; groups; resumable state."""
import numpy as np
import pytest

import gradwork as gw
from gradwork import optim
from gradwork.nn import Parameter

# An elongated bowl f(w) = ½ Σ aᵢ wᵢ², minimum at 0.
SCALES = np.array([1.0, 10.0])

OPTIMIZERS = [
    (optim.SGD, dict(lr=0.05)),
    (optim.SGD, dict(lr=0.02, momentum=0.9)),
    (optim.SGD, dict(lr=0.02, momentum=0.9, nesterov=True)),
    (optim.Adagrad, dict(lr=0.5)),
    (optim.RMSprop, dict(lr=0.05)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adam, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.1)),
]


def quadratic_step(param, opt):
    opt.zero_grad()
    loss = 0.5 * (gw.tensor(SCALES) * param * param).sum()
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_optimizer_minimises_a_quadratic(cls, options):
    w = Parameter(np.array([3.0, -2.0]))
    opt = cls([w], **options)
    first = quadratic_step(w, opt)
    for _ in range(300):
        last = quadratic_step(w, opt)
    assert last < first * 1e-3
    assert np.abs(w.data).max() < 0.1


def test_adam_first_step_is_lr_times_sign_of_gradient():
    w = Parameter(np.array([1.0, -2.0, 3.0]))
    w.grad = np.array([0.3, -20.0, 1e-3])
    optim.Adam([w], lr=0.01).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.01, -2.0 + 0.01, 3.0 - 0.01], rtol=1e-6)


def test_sgd_momentum_matches_the_course_form():
    """PyTorch's v = μv + g; θ −= lr·v equals the course's v = μv − lr·g; θ += v at constant lr."""
    w = Parameter(np.array([1.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    theta, v = 1.0, 0.0
    for g in [0.5, -0.2, 0.7]:
        w.grad = np.array([g])
        opt.step()
        v = 0.9 * v - 0.1 * g
        theta += v
        assert w.data[0] == pytest.approx(theta)


def test_weight_decay_in_sgd_is_an_l2_gradient():
    w = Parameter(np.array([2.0]))
    w.grad = np.array([0.0])
    optim.SGD([w], lr=0.1, weight_decay=0.5).step()
    assert w.data[0] == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)


def test_adamw_decays_weights_directly():
    w = Parameter(np.array([2.0]))
    w.grad = np.array([0.0])
    optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    assert w.data[0] == pytest.approx(2.0 * (1 - 0.05))


def test_updates_are_in_place():
    w = Parameter(np.array([1.0, 2.0]))
    array = w.data
    w.grad = np.array([1.0, 1.0])
    optim.Adam([w]).step()
    assert w.data is array


def test_parameters_without_gradient_are_skipped():
    a, b = Parameter(np.array([1.0])), Parameter(np.array([1.0]))
    a.grad = np.array([1.0])
    optim.SGD([a, b], lr=0.5).step()
    assert a.data[0] == 0.5 and b.data[0] == 1.0


def test_parameter_groups_have_their_own_learning_rate():
    a, b = Parameter(np.array([1.0])), Parameter(np.array([1.0]))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = b.grad = np.array([1.0])
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[0]["momentum"] == 0


def test_state_dict_resumes_the_same_trajectory():
    def run(steps, opt_state=None, start=None):
        w = Parameter(np.array([3.0, -2.0]) if start is None else start.copy())
        opt = optim.Adam([w], lr=0.1)
        if opt_state is not None:
            opt.load_state_dict(opt_state)
        for _ in range(steps):
            quadratic_step(w, opt)
        return w, opt

    straight, _ = run(10)
    half, opt = run(5)
    resumed, _ = run(5, opt.state_dict(), half.data)
    np.testing.assert_array_equal(straight.data, resumed.data)


def test_state_dict_of_another_layout_is_rejected():
    opt = optim.SGD([Parameter(np.zeros(1)), Parameter(np.zeros(1))], lr=0.1)
    other = optim.SGD([Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="groups of sizes"):
        other.load_state_dict(opt.state_dict())


def test_bad_arguments_are_rejected():
    w = Parameter(np.zeros(1))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be non-negative"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([w], betas=(0.9, 1.0))
