"""Command-line number checks shared by the benchmark scripts: a count of rounds, steps or epochs
must be a whole number ≥ 1 and a duration a finite number > 0, refused by argparse with one line that names
the option, instead of a traceback from ``statistics.median([])`` after the run."""
import argparse


def positive_int(text):
    """``--rounds 7``: a whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {value}")
    return value


def positive_float(text):
    """``--seconds 0.6``: a number > 0 (not NaN or ∞)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value
