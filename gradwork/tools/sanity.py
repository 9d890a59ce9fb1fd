"""Sanity checks before a long run, as one call (the course's checklist):

1. the initial loss of a C-class classifier is ≈ ln(C) — the model starts out knowing nothing;
2. the model can over-fit a tiny subset (20 examples) to 100% training accuracy — if not, something
   is broken (model, loss, optimiser, data/label mismatch);
3. back-propagated gradients agree with finite differences on a small batch.
"""
import copy
import math
from dataclasses import dataclass

from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.ops.losses import cross_entropy
from gradwork.optim.adam import Adam
from gradwork.tools.gradcheck import check_model_gradients, verdict


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


class SanityReport:
    def __init__(self, checks):
        self.checks = checks

    @property
    def ok(self):
        return all(c.passed for c in self.checks)

    def __iter__(self):
        return iter(self.checks)

    def __str__(self):
        return "\n".join(f"[{'ok' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks)

    __repr__ = __str__


def _initial_loss(model, x, y, num_classes):
    with model.evaluating():
        loss = cross_entropy(model(Tensor(x)), y).item()
    expected = math.log(num_classes)
    passed = abs(loss - expected) <= 0.25 * expected
    return Check("initial loss ≈ ln(C)", passed, f"{loss:.4f} vs ln({num_classes}) = {expected:.4f}")


def _overfit_tiny_subset(model, x, y, steps, lr):
    model = copy.deepcopy(model)
    optimizer = Adam(model.parameters(), lr=lr)
    model.train()
    accuracy = 0.0
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        output = model(Tensor(x))
        loss = cross_entropy(output, y)
        loss.backward()
        optimizer.step()
        accuracy = float((output.data.argmax(axis=1) == y).mean())
        if accuracy == 1.0:
            return Check(f"over-fit {len(y)} examples", True, f"100% training accuracy after {step} steps "
                         f"(loss {loss.item():.4f})")
    return Check(f"over-fit {len(y)} examples", False, f"only {accuracy:.0%} after {steps} steps: look for a bug "
                 f"(labels shuffled apart from inputs? a layer that blocks gradients?)")


def _gradient_check(model, x, y):
    report = check_model_gradients(model, lambda out, t: cross_entropy(out, t), x, y)
    worst = report.max_error
    return Check("gradient check", report.ok, f"largest relative error {worst:.2e} ({verdict(worst)}) over "
                 f"{len(report.rows)} parameters")


def sanity_checks(model, x, y, num_classes=None, subset=20, steps=300, lr=1e-2, gradcheck_batch=4):
    """Run the three checks on ``model`` with inputs ``x`` and integer labels ``y`` (arrays); returns a
    :class:`SanityReport` (``print`` it; ``.ok`` says whether all passed). The model is not changed."""
    x = xp.asarray(getattr(x, "data", x))
    y = xp.asarray(getattr(y, "data", y))
    num_classes = num_classes or int(y.max()) + 1
    checks = [_initial_loss(model, x, y, num_classes),
              _overfit_tiny_subset(model, x[:subset], y[:subset], steps, lr),
              _gradient_check(model, x[:gradcheck_batch], y[:gradcheck_batch])]
    return SanityReport(checks)
