"""`gradwork train --tensorboard [DIR]`: event files under the run folder (or DIR), continued on --resume."""
import json
import sys

import pytest

from gradwork.cli.main import main

pytest.importorskip("tensorboardX", reason="tensorboardX is not installed: pip install \"gradwork[tensorboard]\"")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the test reads the event files with tensorboard's reader: "
                                               "pip install tensorboard")

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "0"]


def read(log_dir):
    accumulator = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.SCALARS: 0})
    return accumulator.Reload()


def values(events, tag):
    return [e.value for e in events.Scalars(tag)]


def history(run):
    return json.loads((run / "history.json").read_text())["history"]


def test_the_logs_go_under_the_run_folder_and_equal_its_history(tmp_path):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(run), "--tensorboard"]) == 0
    events = read(run / "tensorboard")
    assert values(events, "loss/val") == pytest.approx(history(run)["val_loss"], rel=1e-6)
    assert values(events, "accuracy/train") == pytest.approx(history(run)["accuracy"], rel=1e-6)
    assert "learning_curves" in events.Tags()["images"]
    assert (run / "tensorboard" / "hparams").is_dir()
    assert "tensorboard" not in json.loads((run / "config.json").read_text())


def test_a_resumed_run_continues_in_the_same_folder(tmp_path):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run), "--tensorboard"]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "2", "--verbose", "0"]) == 0  # no need to repeat it
    events = read(run / "tensorboard")
    assert values(events, "loss/train") == pytest.approx(history(run)["loss"], rel=1e-6)
    steps = [e.step for e in events.Scalars("batch/loss")]
    assert steps == list(range(len(steps))) and len(steps) % 2 == 0  # both epochs, one global step count


def test_a_directory_can_be_given(tmp_path):
    run, logs = tmp_path / "run", tmp_path / "logs" / "first"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run), "--tensorboard", str(logs)]) == 0
    assert values(read(logs), "loss/train") == pytest.approx(history(run)["loss"], rel=1e-6)
    assert not (run / "tensorboard").exists()


def test_without_the_option_no_logs_are_written(tmp_path):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    assert not (run / "tensorboard").exists()


def test_a_missing_tensorboardx_is_one_line_and_leaves_no_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run), "--tensorboard"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "gradwork[tensorboard]"' in err and "Traceback" not in err
    assert not run.exists()
