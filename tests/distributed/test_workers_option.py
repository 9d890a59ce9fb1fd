"""``gradwork train --workers N`` (and ``mpiexec -n N gradwork train``) on the bundled digits, tiny MLP."""
import json
import subprocess
import sys

import pytest

from gradwork.cli.main import main
from gradwork.distributed import launch
from tests.distributed.helpers import mpiexec, python_env

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "2"]


def history_of(folder):
    return json.loads((folder / "history.json").read_text())


def gradwork(*argv, launcher=()):
    """The gradwork command in a child process (so that its ranks' output can be read)."""
    return subprocess.run([*launcher, sys.executable, "-m", "gradwork", *argv], capture_output=True, text=True,
                          env=python_env(), timeout=120)


def test_workers_2_continues_a_run_as_one_run_folder(tmp_path, capsys):
    """A run of one process, resumed by two (the checkpoint belongs to no rank count): rank 0 alone
    prints and writes, and the history goes on from the checkpoint."""
    mpiexec()
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    done = gradwork("train", "--resume", str(out), "--epochs", "4", "--workers", "2", "--verbose", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "curves.png", "history.json", "model.safetensors"]
    assert "2 processes × batch 32" in done.stderr
    assert done.stderr.count("epoch 4/4") == 1 and done.stdout.count("test accuracy") == 1
    history = history_of(out)
    assert history["epoch"] == [0, 1, 2, 3] and history["history"]["loss"][3] < history["history"]["loss"][0]


def test_an_error_every_rank_meets_is_reported_once_by_rank_0(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("")
    done = gradwork("train", *TINY, "--out", str(tmp_path / "taken"), launcher=(mpiexec(), "-n", "2"))
    assert done.returncode == 2
    assert done.stderr.count("gradwork train: error on rank 0 of 2: the run folder") == 1
    assert "rank 1" not in done.stderr


@pytest.mark.parametrize("value", ["0", "-2"])
def test_workers_must_be_a_positive_integer(value, capsys):
    assert main(["train", "--workers", value]) == 2
    assert f"argument --workers: must be a positive integer, got '{value}'" in capsys.readouterr().err


def test_a_missing_mpiexec_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(launch.os.path, "isfile", lambda path: False)
    monkeypatch.setattr(launch.shutil, "which", lambda name: None)
    monkeypatch.setattr(launch, "check_mpi4py", lambda: None)
    assert main(["train", *TINY, "--workers", "2", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "mpiexec" in err and 'pip install "gradwork[mpi]"' in err
    assert not (tmp_path / "run").exists()


def test_a_missing_mpi4py_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(launch.importlib.util, "find_spec", lambda name: None)
    assert main(["train", *TINY, "--workers", "2", "--out", str(tmp_path / "run")]) == 2
    assert 'needs mpi4py, which is not installed: pip install "gradwork[mpi]"' in capsys.readouterr().err


def test_char_rnn_is_refused_before_mpiexec_starts(capsys):
    assert main(["train", "--model", "char-rnn", "--workers", "2"]) == 2
    assert "char-rnn does not train on several processes" in capsys.readouterr().err


@pytest.mark.parametrize("argv, kept", [
    (["train", "--workers", "2", "--epochs", "3"], ["train", "--epochs", "3"]),
    (["train", "--workers=2", "--weight-decay", "1"], ["train", "--weight-decay", "1"]),
    (["--debug", "train", "--work", "4", "--out", "x"], ["--debug", "train", "--out", "x"]),  # argparse's abbreviation
])
def test_the_ranks_get_the_command_without_workers(argv, kept):
    assert launch.without_option(argv, "--workers") == kept
