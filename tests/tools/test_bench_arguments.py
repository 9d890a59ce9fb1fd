"""bench/arguments.py: the benchmark scripts refuse counts below 1 and durations ≤ 0 with one line."""
import argparse
import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "arguments.py")
spec = importlib.util.spec_from_file_location("bench_arguments", PATH)
arguments = importlib.util.module_from_spec(spec)
spec.loader.exec_module(arguments)


ACCEPTED = [("positive_int", "1", 1), ("positive_int", "7", 7), ("positive_int", " 12 ", 12),
            ("positive_float", "0.6", 0.6), ("positive_float", "2", 2.0), ("positive_float", "1e-3", 1e-3)]
REFUSED = [("positive_int", text, "whole number ≥ 1") for text in ("0", "-3", "2.5", "x", "")] + \
          [("positive_float", text, "number > 0") for text in ("0", "-1", "nan", "inf", "fast")]


@pytest.mark.parametrize("check, text, value", ACCEPTED)
def test_accepts(check, text, value):
    assert getattr(arguments, check)(text) == value


@pytest.mark.parametrize("check, text, message", REFUSED)
def test_refuses(check, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        getattr(arguments, check)(text)


def test_a_parser_reports_the_option(capsys):
    parser = argparse.ArgumentParser(prog="run.py")
    parser.add_argument("--rounds", type=arguments.positive_int, default=7)
    with pytest.raises(SystemExit):
        parser.parse_args(["--rounds", "0"])
    assert "argument --rounds: expected a whole number ≥ 1, got 0" in capsys.readouterr().err
