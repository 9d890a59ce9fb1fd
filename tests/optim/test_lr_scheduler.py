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


# ------------------------------------------------------------------ MultiStepLR, LinearLR, LambdaLR
def test_multi_step_lr_multiplies_by_gamma_at_each_milestone():
    values = lrs(sched.MultiStepLR(make_opt(), milestones=[2, 5], gamma=0.5), 6)
    assert values == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_multi_step_lr_default_gamma_is_a_tenth():
    assert lrs(sched.MultiStepLR(make_opt(), [1]), 2) == [1, 0.1, 0.1]


@pytest.mark.parametrize("milestones", [[5, 5], [8, 3], [-1, 3], [2.5, 4]])
def test_multi_step_lr_rejects_milestones_that_are_not_strictly_increasing_epochs(milestones):
    with pytest.raises(ValueError, match="milestones must be a strictly increasing list"):
        sched.MultiStepLR(make_opt(), milestones)


def test_linear_lr_moves_from_start_factor_to_end_factor_over_total_iters_then_stays():
    values = lrs(sched.LinearLR(make_opt(), start_factor=0.1, end_factor=0.9, total_iters=4), 6)
    np.testing.assert_allclose(values, [0.1, 0.3, 0.5, 0.7, 0.9, 0.9, 0.9], rtol=1e-15)


def test_linear_lr_defaults_go_from_a_third_to_the_full_rate_over_five_epochs():
    values = lrs(sched.LinearLR(make_opt(3.0)), 6)
    np.testing.assert_allclose(values, [1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 3.0], rtol=1e-15)


@pytest.mark.parametrize("options, message", [
    (dict(start_factor=0), r"start_factor must be in \(0, 1\]"),
    (dict(start_factor=1.5), r"start_factor must be in \(0, 1\]"),
    (dict(end_factor=-0.1), r"end_factor must be in \[0, 1\]"),
    (dict(total_iters=-1), "total_iters must be an integer ≥ 0"),
])
def test_linear_lr_rejects_factors_outside_pytorchs_ranges(options, message):
    with pytest.raises(ValueError, match=message):
        sched.LinearLR(make_opt(), **options)


def two_group_opt():
    return optim.SGD([{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))], "lr": 0.5}], lr=1.0)


def test_lambda_lr_scales_each_group_by_its_own_function():
    opt = two_group_opt()
    s = sched.LambdaLR(opt, [lambda t: 0.5 ** t, lambda t: t + 1])
    s.step()
    s.step()
    assert s.get_last_lr() == [0.25, 1.5]


def test_lambda_lr_with_one_function_applies_it_to_every_group():
    s = sched.LambdaLR(two_group_opt(), lambda t: 1 / (t + 1))
    s.step()
    assert s.get_last_lr() == [0.5, 0.25]


def test_lambda_lr_rejects_a_list_of_the_wrong_length():
    with pytest.raises(ValueError, match="lr_lambda must be one function or a list of one function per "):
        sched.LambdaLR(two_group_opt(), [lambda t: 1.0])


class Halving:
    """A callable object with state: LambdaLR's state_dict keeps its attributes, as PyTorch's does."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, t):
        return self.factor ** t


def test_lambda_lr_state_dict_carries_a_callable_objects_attributes():
    f = Halving()
    s = sched.LambdaLR(make_opt(), f)
    f.factor = 0.25
    s.step()
    restored = sched.LambdaLR(make_opt(), Halving())
    restored.load_state_dict(s.state_dict())
    assert restored.get_last_lr() == [0.25]


@pytest.mark.parametrize("build", [lambda o: sched.MultiStepLR(o, [3, 6], gamma=0.5),
                                   lambda o: sched.LinearLR(o, start_factor=0.2, total_iters=7),
                                   lambda o: sched.LambdaLR(o, lambda t: 1 / (1 + t))])
def test_epoch_schedules_resumed_from_state_dict_continue_identically(build):
    s = build(make_opt())
    whole = lrs(s, 10)
    first = build(make_opt())
    lrs(first, 4)
    resumed = build(make_opt())
    resumed.load_state_dict(first.state_dict())
    assert lrs(resumed, 6) == whole[4:]


def test_linear_warmup_is_linear_lr_from_one_over_warmup_epochs_then_after():
    warm = lrs(sched.LinearWarmup(make_opt(), warmup_epochs=5), 8)
    linear = lrs(sched.LinearLR(make_opt(), start_factor=1 / 5, end_factor=1.0, total_iters=4), 8)
    assert warm == linear


# ------------------------------------------------------------------ OneCycleLR
def sgd(lr=0.1, momentum=0.9):
    return optim.SGD([Parameter(np.zeros(1))], lr=lr, momentum=momentum)


def trajectory(opt, scheduler, steps, key="momentum"):
    """(lr, momentum) after construction and after each of ``steps`` steps."""
    def now():
        group = opt.param_groups[0]
        return group["lr"], group["betas"][0] if key == "betas" else group.get(key)
    values = [now()]
    for _ in range(steps):
        scheduler.step()
        values.append(now())
    return values


def test_one_cycle_starts_at_max_lr_over_div_factor_with_max_momentum():
    opt = sgd()
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    assert s.get_last_lr()[0] == pytest.approx(1.0 / 25, rel=1e-12)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95, rel=1e-12)


def test_one_cycle_peaks_at_max_lr_with_base_momentum_after_pct_start():
    opt = sgd()
    values = trajectory(opt, sched.OneCycleLR(opt, max_lr=2.0, total_steps=100, pct_start=0.3), 99)
    peak = max(range(100), key=lambda t: values[t][0])
    assert peak == 29 and values[29] == (2.0, 0.85)      # step pct_start·total_steps − 1
    assert all(a[0] < b[0] and a[1] > b[1] for a, b in zip(values[:29], values[1:30]))   # lr up, momentum down
    assert all(a[0] > b[0] and a[1] < b[1] for a, b in zip(values[29:99], values[30:100]))  # and back


def test_one_cycle_ends_at_initial_lr_over_final_div_factor_with_max_momentum():
    opt = sgd()
    values = trajectory(opt, sched.OneCycleLR(opt, max_lr=1.0, total_steps=50, div_factor=10.0,
                                              final_div_factor=1e3), 49)
    assert values[-1][0] == pytest.approx(1.0 / 10 / 1e3, rel=1e-9) and values[-1][1] == pytest.approx(0.95)


def test_one_cycle_linear_strategy_moves_in_equal_steps_within_each_phase():
    opt = sgd()
    values = [lr for lr, _ in trajectory(opt, sched.OneCycleLR(opt, max_lr=1.0, total_steps=21, pct_start=0.5,
                                                               anneal_strategy="linear", div_factor=10.0), 20)]
    np.testing.assert_allclose(np.diff(values[:10]), (1.0 - 0.1) / 9.5, rtol=1e-12)
    np.testing.assert_allclose(np.diff(values[10:]), (1e-5 - 1.0) / 10.5, rtol=1e-9)


def test_one_cycle_three_phase_returns_to_initial_lr_at_twice_pct_start_then_anneals_to_min_lr():
    opt = sgd()
    values = trajectory(opt, sched.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.25,
                                              three_phase=True), 99)
    assert values[24] == (1.0, 0.85)
    assert values[48] == pytest.approx((1.0 / 25, 0.95))
    assert values[99] == pytest.approx((1.0 / 25 / 1e4, 0.95))
    assert all(m == pytest.approx(0.95) for _, m in values[48:])


def test_one_cycle_cycles_beta1_of_adam_and_keeps_beta2():
    opt = optim.Adam([Parameter(np.zeros(1))], lr=1e-3, betas=(0.9, 0.99))
    values = trajectory(opt, sched.OneCycleLR(opt, max_lr=0.01, total_steps=10, pct_start=0.5), 4, key="betas")
    assert values[0][1] == pytest.approx(0.95) and values[4] == (0.01, 0.85)
    assert opt.param_groups[0]["betas"][1] == 0.99


def test_one_cycle_takes_max_lr_and_momenta_per_parameter_group():
    opt = optim.SGD([{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))]}], lr=0.1,
                    momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=[1.0, 0.1], total_steps=10, pct_start=0.5, base_momentum=[0.8, 0.5])
    for _ in range(4):
        s.step()
    assert s.get_last_lr() == [1.0, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.8, 0.5]


def test_one_cycle_total_steps_is_epochs_times_steps_per_epoch():
    assert sched.OneCycleLR(sgd(), max_lr=1.0, epochs=3, steps_per_epoch=7).total_steps == 21


def test_one_cycle_may_be_stepped_total_steps_times_and_no_more():
    s = sched.OneCycleLR(sgd(), max_lr=1.0, total_steps=5)
    for _ in range(5):
        s.step()
    with pytest.raises(ValueError, match=r"step\(\) called 6 times, but total_steps is 5"):
        s.step()
    assert s.last_epoch == 5  # the refused step left the schedule as it was


def test_one_cycle_whose_first_phase_is_one_step_peaks_at_step_zero():
    # pct_start·total_steps = 1 leaves phase 1 empty (PyTorch divides 0 by 0 here).
    s = sched.OneCycleLR(sgd(), max_lr=1.0, total_steps=10, pct_start=0.1)
    assert s.get_last_lr() == [1.0]


@pytest.mark.parametrize("options, message", [
    (dict(total_steps=10, pct_start=1.5), r"pct_start must be a number in \[0, 1\]"),
    (dict(total_steps=10, pct_start=-0.1), r"pct_start must be a number in \[0, 1\]"),
    (dict(total_steps=10, pct_start=0.6, three_phase=True), r"pct_start must be a number in \[0, 0.5\]"),
    (dict(), "give total_steps, or both epochs and steps_per_epoch"),
    (dict(epochs=3), "give total_steps, or both epochs and steps_per_epoch"),
    (dict(steps_per_epoch=3), "give total_steps, or both epochs and steps_per_epoch"),
    (dict(total_steps=0), "total_steps must be a positive integer"),
    (dict(total_steps=2.5), "total_steps must be a positive integer"),
    (dict(epochs=0, steps_per_epoch=4), "epochs must be a positive integer"),
    (dict(total_steps=10, anneal_strategy="exp"), "anneal_strategy must be 'cos' or 'linear'"),
    (dict(total_steps=10, max_lr=[1.0, 2.0]), "max_lr must be one number or a list of one per parameter group"),
    (dict(total_steps=10, base_momentum=[0.8, 0.8]), "base_momentum must be one number or a list"),
    (dict(total_steps=10, div_factor=0), "div_factor must be positive"),
])
def test_one_cycle_rejects_bad_arguments_naming_them(options, message):
    options = {"max_lr": 1.0, **options}
    with pytest.raises(ValueError, match=message):
        sched.OneCycleLR(sgd(), **options)


def test_one_cycle_momentum_needs_an_optimizer_with_momentum_or_betas():
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with momentum or betas"):
        sched.OneCycleLR(optim.Adagrad([Parameter(np.zeros(1))]), max_lr=1.0, total_steps=10)
    sched.OneCycleLR(optim.Adagrad([Parameter(np.zeros(1))]), max_lr=1.0, total_steps=10, cycle_momentum=False)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("scheduler_first", [True, False])
def test_one_cycle_resumed_from_state_dicts_continues_identically(optimizer, scheduler_first):
    def build():
        w = Parameter(np.array([1.0, -2.0, 0.5]))
        opt = getattr(optim, optimizer)([w], lr=0.1)
        return w, opt

    def train(w, opt, s, steps):
        for _ in range(steps):
            w.grad = np.sin(3 * w.data)
            opt.step()
            s.step()
        return w.data.copy(), dict(opt.param_groups[0], params=None)

    options = dict(max_lr=0.5, total_steps=40, anneal_strategy="linear", three_phase=True)
    w, opt = build()
    s = sched.OneCycleLR(opt, **options)
    whole = train(w, opt, s, 40)

    w, opt = build()
    s = sched.OneCycleLR(opt, **options)
    train(w, opt, s, 17)
    saved = w.data.copy(), opt.state_dict(), s.state_dict()

    w, opt = build()
    w.data[:] = saved[0]
    if scheduler_first:
        s = sched.OneCycleLR(opt, **options)
        opt.load_state_dict(saved[1])
    else:
        opt.load_state_dict(saved[1])
        s = sched.OneCycleLR(opt, **options)
    s.load_state_dict(saved[2])
    resumed = train(w, opt, s, 23)
    np.testing.assert_array_equal(resumed[0], whole[0])
    assert resumed[1] == whole[1]


def test_new_schedules_are_exported_as_optim_lr_scheduler_names():
    for name in ("OneCycleLR", "LinearLR", "MultiStepLR", "LambdaLR"):
        assert getattr(optim.lr_scheduler, name).__module__ == "gradwork.optim.lr_scheduler"
