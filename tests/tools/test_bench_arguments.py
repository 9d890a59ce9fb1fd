"""bench/arguments.py: the benchmark scripts refuse counts below 1 and durations ≤ 0 with one line."""
import argparse
import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "arguments.py")
spec = importlib.util.spec_from_file_location("bench_arguments", PATH)
arguments = importlib.util.module_from_spec(spec)
spec.loader.exec_module(arguments)


@pytest.mark.parametrize("text, value", [("1", 1), ("7", 7), (" 12 ", 12)])
def test_positive_int_accepts(text, value):
    assert arguments.positive_int(text) == value


@pytest.mark.parametrize("text", ["0", "-3", "2.5", "x", ""])
def test_positive_int_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="whole number ≥ 1"):
        arguments.positive_int(text)


@pytest.mark.parametrize("text, value", [("0.6", 0.6), ("2", 2.0), ("1e-3", 1e-3)])
def test_positive_float_accepts(text, value):
    assert arguments.positive_float(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "fast"])
def test_positive_float_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="number > 0"):
        arguments.positive_float(text)


def test_a_parser_reports_the_option(capsys):
    parser = argparse.ArgumentParser(prog="run.py")
    parser.add_argument("--rounds", type=arguments.positive_int, default=7)
    with pytest.raises(SystemExit):
        parser.parse_args(["--rounds", "0"])
    assert "argument --rounds: expected a whole number ≥ 1, got 0" in capsys.readouterr().err
