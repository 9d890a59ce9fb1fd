import numpy as np
import pytest

import gradwork


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    gradwork.manual_seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def leaf(array):
    """A float64 leaf that requires grad (what gradient checks need)."""
    return gradwork.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)
