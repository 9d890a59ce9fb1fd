"""The command's contract with its user: gradwork's own errors and the operating system's are one
line (exit 2); anything else is a bug and shows its traceback (exit 1); --debug shows the traceback
of user errors too. And `gradwork --help` does not wait for matplotlib, scikit-learn or optuna."""
import subprocess
import sys

import pytest

from gradwork.cli import evaluate, train
from gradwork.cli.main import main
from gradwork.errors import ConfigError

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "0"]


def failing_with(error):
    def run(args):
        raise error
    return run


@pytest.mark.parametrize("error", [KeyError("seed"), TypeError("unsupported operand"), ValueError("bad"),
                                   AttributeError("no attribute")])
def test_a_bug_shows_its_traceback_and_says_it_is_a_bug(monkeypatch, capsys, error):
    monkeypatch.setattr(evaluate, "run", failing_with(error))
    assert main(["evaluate", "somewhere"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and type(error).__name__ in err
    assert "gradwork evaluate: internal error: the traceback above is a bug in gradwork" in err


@pytest.mark.parametrize("error, line", [
    (ConfigError("the run folder is damaged"), "gradwork evaluate: error: the run folder is damaged"),
    (FileNotFoundError(2, "No such file or directory", "data/x.bin"),
     "gradwork evaluate: error: No such file or directory: data/x.bin"),
])
def test_a_user_error_is_one_line(monkeypatch, capsys, error, line):
    monkeypatch.setattr(evaluate, "run", failing_with(error))
    assert main(["evaluate", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == line


def test_running_out_of_memory_is_one_line_with_what_to_try(monkeypatch, capsys):
    monkeypatch.setattr(evaluate, "run", failing_with(MemoryError()))
    assert main(["evaluate", "somewhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gradwork evaluate: error: out of memory") and "--batch-size" in err
    assert "Traceback" not in err


def test_a_closed_pipe_stops_quietly():
    """`gradwork demo --list | head -1`: the reader leaves early; no traceback, no error line."""
    code = ("import sys; from gradwork.cli import demo; from gradwork.cli.main import main\n"
            "def run(args):\n    for i in range(100000): print('line', i)\n    return 0\n"
            "demo.run = run\nsys.exit(main(['demo', '--list']))")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:
        reader.stdout.readline()
        reader.stdout.close()  # the pipe closes while the command is still writing
        err = reader.stderr.read().decode()
        assert reader.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.parametrize("argv", [["--debug", "evaluate", "somewhere"], ["evaluate", "somewhere", "--debug"]])
def test_debug_shows_the_traceback_of_a_user_error(monkeypatch, capsys, argv):
    monkeypatch.setattr(evaluate, "run", failing_with(ConfigError("the run folder is damaged")))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("gradwork evaluate: error: the run folder is damaged")


def test_a_bad_argument_is_one_line_without_the_usage_block(capsys):
    assert main(["train", "--epochs", "x"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("gradwork train: error: argument --epochs: must be a positive integer, got 'x' "
                           "(see gradwork train --help)")


def test_help_imports_no_heavy_library():
    code = ("import sys, gradwork.cli.main; "
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'optuna', 'sqlalchemy', 'gradwork.tools.viz') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_training_asks_the_loop_to_stop_on_divergence_without_warning(tmp_path, monkeypatch, capsys):
    """Divergence is read from history.diverged / history.stop_reason, never from a warning's text."""
    seen = {}
    fit = train.train.fit

    def recording_fit(*args, **kwargs):
        seen.update(kwargs)
        return fit(*args, **kwargs)

    monkeypatch.setattr(train.train, "fit", recording_fit)
    assert main(["train", "--model", "mlp", "--verbose", "0", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "3",
                 "--out", str(tmp_path / "run")]) == 2
    assert seen["on_divergence"] == "stop"
    err = capsys.readouterr().err
    assert err.count("Try a lower learning rate") == 1 and "RuntimeWarning" not in err
    assert not (tmp_path / "run").exists()  # no epoch finished: no folder
