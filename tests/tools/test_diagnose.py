"""Bias/variance diagnosis, loss-curve checks and the sanity-check call."""
import math

import pytest

from gradwork import nn
from gradwork.cli.main import main
from gradwork.data import datasets
from gradwork.tools.diagnose import diagnose, loss_curve_checks
from gradwork.tools.sanity import sanity_checks


@pytest.mark.parametrize("train_error, dev_error, verdict", [
    (0.01, 0.11, "high variance"), (0.15, 0.16, "high bias"), (0.15, 0.30, "high bias and high variance"),
    (0.005, 0.01, "fine")])
def test_the_courses_four_examples(train_error, dev_error, verdict):
    result = diagnose(train_error, dev_error)
    assert result.verdict == verdict
    text = str(result)
    if "bias" in verdict:
        assert "bigger network" in text and "train longer" in text
    if "variance" in verdict:
        assert "more training data" in text and "regularisation" in text
    if verdict == "fine":
        assert result.remedies == []


def test_human_error_moves_the_bias_baseline():
    assert diagnose(0.08, 0.09, human_error=0.075).verdict == "fine"
    assert diagnose(0.08, 0.09, human_error=0.0).verdict == "high bias"


def test_errors_must_be_fractions():
    with pytest.raises(ValueError, match="0.11 for 11%"):
        diagnose(11, 12)


def test_loss_curve_checks_name_each_problem():
    assert loss_curve_checks([2.3, 1.0, 0.5], initial_loss=2.31, num_classes=10) == []
    assert "too high" in loss_curve_checks([2.3, float("nan")])[0]
    assert "too low" in loss_curve_checks([1.5, 1.49, 1.5])[0]
    assert "chance level" in loss_curve_checks([2.31, 2.30], num_classes=10)[0]
    assert "far from ln(10)" in loss_curve_checks([9.0, 1.0], initial_loss=9.0, num_classes=10)[0]


def test_sanity_checks_pass_for_a_healthy_model_and_catch_shuffled_labels():
    train, _ = datasets.load_digits()
    x, y = train.get_batch(slice(0, 64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    report = sanity_checks(model, x, y)
    assert report.ok, str(report)
    assert "ln(10)" in str(report)
    blocked = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Step(), nn.Linear(32, 10))  # no gradient through
    blocked[1].weight.data *= 0.01
    report = sanity_checks(blocked, x, y, steps=60)
    assert not report.ok
    assert [c.passed for c in report][1] is False


def test_a_large_initial_loss_fails_the_first_check():
    train, _ = datasets.load_digits()
    x, y = train.get_batch(slice(0, 64))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    model[1].weight.data *= 50
    assert not list(sanity_checks(model, x, y, steps=1))[0].passed


def test_diagnose_command_reads_a_run_folder(tmp_path, capsys):
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "run"), "--verbose", "0"]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(tmp_path / "run"), "--human-error", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "training error" in out and "validation error" in out and f"{math.log(10):.4f}" in out
    assert any(v in out for v in ("high bias", "high variance", "fine"))
