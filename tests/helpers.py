"""Helpers shared by the tests (fixtures live in conftest.py)."""
import time
from collections import Counter

import numpy as np

import gradwork
from gradwork.errors import GradworkError
from gradwork.tools import gradcheck


def leaf(array):
    """A float64 leaf that requires grad (what gradient checks need)."""
    return gradwork.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def assert_grads(fn, *arrays, tolerance=1e-6):
    """Backprop agrees with central differences for ``fn`` at float64 leaves made from ``arrays``."""
    report = gradcheck(fn, [leaf(a) for a in arrays])
    assert report.max_error < tolerance, str(report)


class FuzzOutcomes:
    """The rule of the fuzz tests: every mutated file either loads exactly as the original (``same``)
    or raises gradwork's own error, each within ``slowest_allowed`` seconds. Runs each mutated load,
    counts what happened, and remembers every break of the rule."""

    def __init__(self, group, same, slowest_allowed):
        self.group, self.same, self.slowest_allowed = group, same, slowest_allowed
        self.counts = Counter()
        self.broken = []
        self.slowest = (0.0, "")

    def check(self, mutation, load, expected):
        start = time.perf_counter()
        try:
            result = load()
        except GradworkError:
            outcome = "clean errors"
        except Exception as error:  # noqa: BLE001 — what this harness exists to find
            outcome = "foreign exceptions"
            self.broken.append(f"{mutation}: {type(error).__module__}.{type(error).__name__}: {error}")
        else:
            outcome = "identical loads" if self.same(result, expected) else "silently wrong loads"
            if outcome == "silently wrong loads":
                self.broken.append(f"{mutation}: loaded data that differs from the original")
        self.slowest = max(self.slowest, (time.perf_counter() - start, mutation))
        self.counts[outcome] += 1

    def summary(self):
        c = self.counts
        return (f"{self.group}: {sum(c.values())} mutations: {c['clean errors']} clean errors, "
                f"{c['identical loads']} identical loads, {c['foreign exceptions']} foreign exceptions, "
                f"{c['silently wrong loads']} silently wrong loads; slowest {self.slowest[0]:.2f} s")

    def assert_rule_held(self):
        print(self.summary())
        assert not self.broken, f"{len(self.broken)} broke the rule:\n" + "\n".join(self.broken[:20])
        assert self.slowest[0] < self.slowest_allowed, f"too slow: {self.slowest}"


def recording_axpy(monkeypatch):
    """The element counts of the calls that reach BLAS's axpy (``kernels.blas.add_scaled``), as a list
    that grows; empty where NumPy's BLAS has no axpy (the functions are looked for first)."""
    from gradwork.kernels import blas
    blas.add_scaled(np.zeros(1), 1.0, np.zeros(1))  # kernels.blas looks for its axpy functions on first use
    calls = []
    for dtype, function in list(blas._axpy.items()):
        monkeypatch.setitem(blas._axpy, dtype, lambda *args, f=function: calls.append(args[0]) or f(*args))
    return calls
