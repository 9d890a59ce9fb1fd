"""The same computation in gradwork and in PyTorch: leaves made from one array, one output gradient."""
import numpy as np
import pytest

import gradwork as gw

torch = pytest.importorskip("torch")


def both(array):
    """The same float64 values as a gradwork leaf and a torch leaf."""
    return gw.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def backward_both(ours, theirs, seed):
    """Send the same random output gradient back through both graphs."""
    assert ours.shape == tuple(theirs.shape)
    g = np.random.default_rng(seed).standard_normal(ours.shape)
    ours.backward(gw.tensor(g))
    theirs.backward(torch.tensor(g))
