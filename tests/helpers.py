"""Helpers shared by the tests (fixtures live in conftest.py)."""
import numpy as np

import gradwork
from gradwork.tools import gradcheck


def leaf(array):
    """A float64 leaf that requires grad (what gradient checks need)."""
    return gradwork.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def assert_grads(fn, *arrays, tolerance=1e-6):
    """Backprop agrees with central differences for ``fn`` at float64 leaves made from ``arrays``."""
    report = gradcheck(fn, [leaf(a) for a in arrays])
    assert report.max_error < tolerance, str(report)
