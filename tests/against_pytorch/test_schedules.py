"""Learning-rate schedules against ``torch.optim.lr_scheduler``: the same rates (and, for OneCycleLR,
the same momentum or β1) step after step, and the same parameters once the optimiser has used them.

PyTorch is not a dependency; these tests run only where it is installed and are skipped elsewhere.
"""
import numpy as np
import pytest

from gradwork import nn, optim
from gradwork.optim import lr_scheduler

torch = pytest.importorskip("torch")

START = np.linspace(-1.0, 1.0, 6).reshape(2, 3)


def optimizers(name, two_groups=False):
    """The same optimiser in both frameworks, over one 2×3 parameter (or two, in two groups)."""
    options = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01, betas=(0.9, 0.999))}[name]
    ours = [nn.Parameter(START.copy()), nn.Parameter(-START.copy())]
    theirs = [torch.tensor(START.copy(), requires_grad=True), torch.tensor(-START.copy(), requires_grad=True)]
    if two_groups:
        ours = [{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}]
        theirs = [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}]
    else:
        ours, theirs = ours[:1], theirs[:1]
    return getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)


def momentum_of(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def assert_same_groups(opt, topt, step):
    for i, (group, tgroup) in enumerate(zip(opt.param_groups, topt.param_groups)):
        where = f"step {step}, group {i}"
        np.testing.assert_allclose(group["lr"], tgroup["lr"], rtol=1e-12, atol=0, err_msg=where)
        if momentum_of(tgroup) is not None:
            np.testing.assert_allclose(momentum_of(group), momentum_of(tgroup), rtol=1e-12, atol=0, err_msg=where)
        for p, tp in zip(group["params"], tgroup["params"]):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=where)


def run_side_by_side(opt, topt, schedule, tschedule, steps):
    """Train both for ``steps`` batches on the same gradients, comparing after every scheduler step."""
    assert_same_groups(opt, topt, 0)
    for step in range(1, steps + 1):
        for group, tgroup in zip(opt.param_groups, topt.param_groups):
            for p, tp in zip(group["params"], tgroup["params"]):
                g = np.sin(3.0 * p.data + step)
                p.grad, tp.grad = g, torch.from_numpy(np.sin(3.0 * tp.detach().numpy() + step))
        opt.step()
        topt.step()
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)
        assert_same_groups(opt, topt, step)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_rates_and_momentum_match(name, anneal_strategy, three_phase):
    opt, topt = optimizers(name)
    options = dict(max_lr=0.5, total_steps=120, pct_start=0.25, anneal_strategy=anneal_strategy,
                   three_phase=three_phase)
    schedule = lr_scheduler.OneCycleLR(opt, **options)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(topt, **options)
    run_side_by_side(opt, topt, schedule, tschedule, 120)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_one_cycle_per_group_settings_and_epochs_times_steps_match(name):
    opt, topt = optimizers(name, two_groups=True)
    options = dict(max_lr=[0.3, 0.05], epochs=5, steps_per_epoch=17, base_momentum=[0.8, 0.7],
                   max_momentum=[0.9, 0.95], div_factor=10.0, final_div_factor=100.0)
    schedule = lr_scheduler.OneCycleLR(opt, **options)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(topt, **options)
    run_side_by_side(opt, topt, schedule, tschedule, 85)


def test_one_cycle_without_momentum_cycling_leaves_momentum_alone():
    opt, topt = optimizers("SGD")
    schedule = lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=40, cycle_momentum=False)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.2, total_steps=40, cycle_momentum=False)
    run_side_by_side(opt, topt, schedule, tschedule, 40)
    assert opt.param_groups[0]["momentum"] == topt.param_groups[0]["momentum"] == 0.9


def test_one_cycle_refuses_the_step_after_total_steps_like_pytorch():
    opt, topt = optimizers("SGD")
    schedule = lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=10)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.2, total_steps=10)
    run_side_by_side(opt, topt, schedule, tschedule, 10)
    topt.step()
    with pytest.raises(ValueError):
        tschedule.step()
    with pytest.raises(ValueError, match="total_steps"):
        schedule.step()


EPOCH_SCHEDULES = {
    "MultiStepLR": (lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 7, 8, 20], gamma=0.3),
                    lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7, 8, 20], gamma=0.3)),
    "MultiStepLR-default-gamma": (lambda o: lr_scheduler.MultiStepLR(o, [5, 10]),
                                  lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [5, 10])),
    "LinearLR-defaults": (lambda o: lr_scheduler.LinearLR(o), lambda o: torch.optim.lr_scheduler.LinearLR(o)),
    "LinearLR-decay": (lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=17),
                       lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                                                   total_iters=17)),
    "LinearLR-warm-up": (lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=9),
                         lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=9)),
    "LambdaLR": (lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t) + 0.1 * (t % 4)),
                 lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t) + 0.1 * (t % 4))),
}


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.parametrize("schedule", list(EPOCH_SCHEDULES))
def test_epoch_schedules_match(name, schedule):
    ours, theirs = EPOCH_SCHEDULES[schedule]
    opt, topt = optimizers(name, two_groups=True)
    run_side_by_side(opt, topt, ours(opt), theirs(topt), 30)


def test_lambda_lr_with_one_function_per_group_matches():
    functions = [lambda t: 0.9 ** t, lambda t: 1.0 + t / 10]
    opt, topt = optimizers("Adam", two_groups=True)
    run_side_by_side(opt, topt, lr_scheduler.LambdaLR(opt, functions),
                     torch.optim.lr_scheduler.LambdaLR(topt, functions), 30)


def test_linear_warmup_then_cosine_is_pytorch_sequential_linear_lr_then_cosine():
    opt, topt = optimizers("SGD")
    schedule = lr_scheduler.LinearWarmup(opt, 4, after=lr_scheduler.CosineAnnealingLR(opt, T_max=10))
    warm_up = torch.optim.lr_scheduler.LinearLR(topt, start_factor=1 / 4, end_factor=1.0, total_iters=3)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10)
    tschedule = torch.optim.lr_scheduler.SequentialLR(topt, [warm_up, cosine], milestones=[4])
    run_side_by_side(opt, topt, schedule, tschedule, 14)
