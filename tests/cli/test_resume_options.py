"""`--resume` continues a run with its own settings: an option given that disagrees with them is refused
(naming the option and the run's value), never silently ignored; only --epochs and --lr can change."""
import json

import pytest

from gradwork.cli.main import main

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "0"]


@pytest.fixture
def run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    return out


def config_of(run):
    return json.loads((run / "config.json").read_text())


@pytest.mark.parametrize("options, message", [
    (["--model", "lenet5"], "--model lenet5 (the run has mlp)"),
    (["--batch-size", "64"], "--batch-size 64 (the run has 32)"),
    (["--dataset", "mnist"], "--dataset mnist (the run has digits)"),
    (["--optimizer", "sgd"], "--optimizer sgd (the run has adam)"),
    (["--hidden", "16,8"], "--hidden 16,8 (the run has 8)"),
    (["--seed", "3", "--weight-decay", "0.1"], "--weight-decay 0.1 (the run has 0.0); --seed 3 (the run has 0) disagree"),
    (["--clip-grad-norm", "1"], "--clip-grad-norm 1.0 (the run has none)"),
])
def test_options_that_disagree_with_the_run_are_refused(run, capsys, options, message):
    before = config_of(run)
    assert main(["train", "--resume", str(run), *options, "--epochs", "3", "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert f"--resume continues {run} with the settings in its config.json, and {message}" in err
    assert "only --epochs and --lr can change when resuming" in err and "Traceback" not in err
    assert config_of(run) == before


def test_options_that_agree_with_the_run_are_accepted(run):
    assert main(["train", "--resume", str(run), "--model", "mlp", "--hidden", "8", "--batch-size", "32",
                 "--epochs", "3", "--verbose", "0"]) == 0
    assert config_of(run)["epochs"] == 3


def test_options_the_run_s_model_does_not_take_are_refused(run, capsys):
    assert main(["train", "--resume", str(run), "--variant", "classic", "--verbose", "0"]) == 2
    assert "--variant is not an option of mlp" in capsys.readouterr().err


def test_out_does_not_go_with_resume(run, tmp_path, capsys):
    assert main(["train", "--resume", str(run), "--out", str(tmp_path / "elsewhere"), "--verbose", "0"]) == 2
    assert "--out and --resume do not go together" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()


def test_fewer_epochs_than_the_run_has_done_is_refused(run, capsys):
    assert main(["train", "--resume", str(run), "--epochs", "1", "--verbose", "0"]) == 2
    assert f"--epochs 1 is fewer than the 2 epochs {run} has already done" in capsys.readouterr().err
    assert config_of(run)["epochs"] == 2


def test_a_new_learning_rate_applies_from_the_next_epoch_and_is_recorded(run):
    assert main(["train", "--resume", str(run), "--lr", "0.01", "--epochs", "4", "--verbose", "0"]) == 0
    history = json.loads((run / "history.json").read_text())["history"]
    assert history["lr"] == [0.001, 0.001, 0.01, 0.01]
    assert config_of(run)["lr"] == 0.01
    assert main(["train", "--resume", str(run), "--epochs", "5", "--verbose", "0"]) == 0  # and it stays
    assert json.loads((run / "history.json").read_text())["history"]["lr"][-1] == 0.01


def test_a_new_learning_rate_follows_the_schedule(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--schedule", "step", "--epochs", "3", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--lr", "0.1", "--epochs", "6", "--verbose", "0"]) == 0
    lrs = json.loads((out / "history.json").read_text())["history"]["lr"]
    step_size = 6 // 3  # the step schedule spans the run's new length
    assert lrs == pytest.approx([1e-3, 1e-4, 1e-5] + [0.1 * 0.1 ** (epoch // step_size) for epoch in (3, 4, 5)])
