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
