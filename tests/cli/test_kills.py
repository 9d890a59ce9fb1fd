"""A run killed at any moment loses no finished epoch and leaves no dead end.

The kills are real where it matters: a child process sends itself SIGKILL (which no handler can catch)
at a chosen point — between writing the checkpoint and the history, in the middle of a write, during
the first epoch — and the parent checks what `--resume` makes of the folder it left behind.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from gradwork.cli.main import main
from gradwork.train.history import History

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "0"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def history_of(folder):
    return json.loads((folder / "history.json").read_text())


def run_child(setup, *argv):
    """Run ``gradwork`` in a child process after ``setup`` (Python code that patches something)."""
    code = textwrap.dedent(setup) + "\nimport sys\nfrom gradwork.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=120)


def straight(tmp_path, epochs):
    assert main(["train", *TINY, "--epochs", str(epochs), "--out", str(tmp_path / "straight")]) == 0
    return history_of(tmp_path / "straight")


KILL_AFTER_THIRD_CHECKPOINT = """
import os, signal
from gradwork.train.history import History
saves = []
original = History.save
def save(self, path):
    saves.append(path)
    if len(saves) == 3:  # model.safetensors of epoch 3 is on disk, history.json not yet
        os.kill(os.getpid(), signal.SIGKILL)
    original(self, path)
History.save = save
"""


def test_sigkill_between_checkpoint_and_history_loses_no_epoch(tmp_path, capsys):
    out = tmp_path / "run"
    child = run_child(KILL_AFTER_THIRD_CHECKPOINT, "train", *TINY, "--epochs", "6", "--out", str(out))
    assert child.returncode == -signal.SIGKILL
    assert history_of(out)["epoch"] == [0, 1]  # the history file lags one epoch behind the checkpoint
    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0
    err = capsys.readouterr().err
    assert "did not match the checkpoint (it records 2 epochs" in err and "saved after epoch 3" in err
    assert history_of(out) == straight(tmp_path, 6)  # epochs 0…5, each once, the numbers of an unbroken run


def test_interrupt_between_checkpoint_and_history_in_process(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    original, calls = History.save, []

    def save(self, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original(self, path)

    monkeypatch.setattr(History, "save", save)
    assert main(["train", *TINY, "--epochs", "4", "--out", str(out)]) == 130
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0
    assert history_of(out)["epoch"] == [0, 1, 2, 3]


def test_a_damaged_history_file_is_rebuilt_from_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    good = history_of(out)
    (out / "history.json").write_text("[]")
    assert main(["train", "--resume", str(out), "--epochs", "3", "--verbose", "0"]) == 0
    err = capsys.readouterr().err
    assert f"{out / 'history.json'}: the top level must be an object with epoch and history, got []" in err
    resumed = history_of(out)
    assert resumed["epoch"] == [0, 1, 2] and resumed["history"]["loss"][:2] == good["history"]["loss"]


KILL_IN_FIRST_EPOCH = """
import os, signal
from gradwork.cli import train
def fit(self, *args, **kwargs):
    os.kill(os.getpid(), signal.{name})  # arrives while the first epoch runs
    raise AssertionError("the signal should have stopped the process")
train.Experiment.fit = fit
"""


@pytest.mark.parametrize("name, status", [("SIGTERM", 128 + signal.SIGTERM), ("SIGINT", 130)])
def test_a_run_stopped_by_a_signal_during_its_first_epoch_leaves_no_folder(tmp_path, name, status):
    out = tmp_path / "run"
    child = run_child(KILL_IN_FIRST_EPOCH.replace("{name}", name), "train", *TINY, "--out", str(out))
    assert child.returncode == status, child.stderr
    assert "Traceback" not in child.stderr
    assert not out.exists()


def test_a_run_killed_during_its_first_epoch_starts_again_with_resume(tmp_path, capsys):
    out = tmp_path / "run"
    child = run_child(KILL_IN_FIRST_EPOCH.replace("{name}", "SIGKILL"), "train", *TINY, "--epochs", "3",
                      "--out", str(out))
    assert child.returncode == -signal.SIGKILL
    assert sorted(os.listdir(out)) == ["config.json"]  # nothing could clean up after SIGKILL
    assert main(["train", *TINY, "--epochs", "3", "--out", str(out)]) == 2
    assert f"never finished an epoch; start it from the beginning with gradwork train --resume {out}" in \
        capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0
    assert "never finished an epoch: starting it from the beginning" in capsys.readouterr().err
    assert history_of(out) == straight(tmp_path, 3)


KILL_DURING_SECOND_CHECKPOINT_WRITE = """
import os, signal
from gradwork import _files
writes = []
original = os.replace
def replace(source, target):
    if str(target).endswith("model.safetensors"):
        writes.append(target)
        if len(writes) == 2:  # the temporary file is complete, the rename has not happened
            os.kill(os.getpid(), signal.SIGKILL)
    original(source, target)
_files.os.replace = replace
"""


def test_a_temporary_file_left_by_a_kill_is_never_read_and_is_cleaned_up(tmp_path, capsys):
    out = tmp_path / "run"
    child = run_child(KILL_DURING_SECOND_CHECKPOINT_WRITE, "train", *TINY, "--epochs", "4", "--out", str(out))
    assert child.returncode == -signal.SIGKILL
    leftovers = [f for f in os.listdir(out) if f.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.safetensors.")
    assert main(["evaluate", str(out)]) == 0  # reads model.safetensors (epoch 1), not the newer temporary
    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0
    assert sorted(os.listdir(out)) == ["config.json", "curves.png", "history.json", "model.safetensors"]
    assert history_of(out) == straight(tmp_path, 4)
