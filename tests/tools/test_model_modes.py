"""Tools that run a model for a look inside leave it in the mode it was in."""
import numpy as np

from gradwork import nn
from gradwork.models._features import flat_size
from gradwork.tools import sanity_checks, summary


def test_sanity_checks_leave_an_eval_mode_model_in_eval_mode():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3)).eval()
    x = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    sanity_checks(model, x, y, steps=5)
    assert not model.training and not model[2].training


def test_measuring_the_flat_size_leaves_the_features_in_their_mode():
    features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    assert flat_size(features, (1, 6, 6), "test") == 2 * 4 * 4
    assert not features.training


def test_summary_leaves_a_training_model_training():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5))
    summary(model, (4,))
    assert model.training
