"""The gradient checker itself: it must catch a wrong backward."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import Function, models
from gradwork.tools import check_model_gradients, gradcheck, verdict


class WrongSquare(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return gy * x  # should be 2x


def test_verdicts_follow_the_course_thresholds():
    assert verdict(1e-9) == "correct"
    assert verdict(1e-6) == "probably fine"
    assert verdict(1e-4) == "suspicious"
    assert verdict(1e-2) == "wrong"


def test_gradcheck_passes_a_correct_op_and_catches_a_wrong_one():
    x = gw.tensor(np.random.default_rng(0).standard_normal(5), requires_grad=True)
    assert gradcheck(lambda t: t * t, [x]).ok
    report = gradcheck(lambda t: WrongSquare()(t), [x])
    assert not report.ok and report.rows[0].verdict == "wrong"


def test_gradcheck_perturbs_an_input_that_is_not_contiguous():
    x = gw.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    x.data = x.data.T.copy().T  # same values, stored column by column
    assert not x.data.flags.c_contiguous
    report = gradcheck(lambda t: (t * t).sum(axis=0), [x])
    assert report.ok, str(report)


def test_gradcheck_insists_on_float64():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * t, [gw.tensor([1.0, 2.0], requires_grad=True)])


def test_model_gradients_are_correct_per_parameter():
    model = models.MLP([6, 5, 3], activation="tanh", dropout=0.5)
    x = np.random.default_rng(0).standard_normal((4, 6))
    report = check_model_gradients(model, F.cross_entropy, x, np.array([0, 1, 2, 1]))
    assert [r.name for r in report] == ["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias"]
    assert all(r.verdict == "correct" for r in report), str(report)
    assert model.layers[0].weight.dtype == np.float32  # the user's model is untouched
    assert "layers.0.weight" in str(report) and "correct" in str(report)
