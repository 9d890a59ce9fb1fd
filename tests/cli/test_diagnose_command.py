"""`gradwork diagnose` never calls a run that has not learned "healthy", and `diagnose` and
`evaluate --split val` say so plainly when a run has no validation split."""
import pytest

from gradwork.cli.main import main
from gradwork.tools.diagnose import accuracy_checks, loss_curve_checks


def test_a_loss_that_exploded_and_came_back_to_chance_is_not_healthy():
    notes = loss_curve_checks([2.4e18, 2.31, 2.30], initial_loss=2.30, num_classes=10)
    assert any("the loss exploded to 2.4e+18 at epoch 1" in n for n in notes)
    assert accuracy_checks(0.10, 10) and "chance level (1/10 = 10.0%)" in accuracy_checks(0.10, 10)[0]
    assert accuracy_checks(0.60, 10) == []


def test_diagnose_of_a_diverged_run_says_it_is_not_healthy(tmp_path, capsys):
    out = tmp_path / "run"  # a learning rate of 3: the first epoch's loss is in the thousands, then chance level
    assert main(["train", "--model", "mlp", "--optimizer", "sgd", "--lr", "3", "--epochs", "2", "--verbose", "0",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "loss curve: NOT healthy" in printed and "loss curve: healthy" not in printed
    assert "the loss exploded to" in printed and "chance level" in printed


def test_diagnose_of_a_healthy_run_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--hidden", "32", "--epochs", "3", "--verbose", "0",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["diagnose", str(out)]) == 0
    assert "loss curve: healthy" in capsys.readouterr().out


@pytest.fixture(scope="module")
def run_without_validation(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "val0"
    assert main(["train", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--val-fraction", "0",
                 "--verbose", "0", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", [["diagnose"], ["evaluate", "--split", "val"]])
def test_a_run_trained_without_validation_split_says_so(run_without_validation, capsys, command):
    capsys.readouterr()
    assert main([command[0], str(run_without_validation), *command[1:]]) == 2
    err = capsys.readouterr().err
    assert "no validation split: it was trained with --val-fraction 0" in err and "Traceback" not in err


def test_evaluate_of_the_other_splits_still_works_without_validation(run_without_validation, capsys):
    assert main(["evaluate", str(run_without_validation), "--split", "train"]) == 0
    assert "(train, 1437 examples)" in capsys.readouterr().out
