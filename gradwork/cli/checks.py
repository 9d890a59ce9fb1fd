"""What a number on the command line (or in a run's config.json) must be, said one way everywhere.

A ``Rule`` is a kind of value (integer or real number), a test and the phrase that names it:
``POSITIVE_INT`` is "a positive integer", ``POSITIVE`` is "a finite positive number". The same rule
checks a command-line string (as an argparse ``type=``, so a bad value stops the command before it
touches anything) and a value read back from JSON (so a damaged config.json is named field by field).

Every real number must be finite: ``float("inf")`` and ``float("nan")`` parse, but no learning rate,
decay or norm is infinite, and NaN compares false with everything, so it slips through ``x > 0``-style
tests written the other way round (``not x <= 0``).
"""
import argparse
import math

from gradwork.errors import ConfigError


class Rule:
    """A kind of value (``int`` or ``float``), a test it must pass, and the phrase that names both."""

    def __init__(self, kind, test, phrase):
        self.kind, self.test, self.phrase = kind, test, phrase

    def accepts(self, value):
        """True for a value of the right kind (a bool is not a number here) that passes the test."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        return math.isfinite(value) and self.test(value)

    def __call__(self, text):
        """argparse ``type=``: the value of ``text``, or an ``ArgumentTypeError`` that argparse prints as
        ``argument --lr: must be a finite positive number, got 'inf'``."""
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {self.phrase}, got {text!r}")
        return value

    def check(self, value, where):
        """``value`` if it passes, else a ``ConfigError`` naming ``where`` it came from."""
        if not self.accepts(value):
            raise ConfigError(f"{where} must be {self.phrase}, got {value!r}")
        return value


POSITIVE_INT = Rule(int, lambda v: v > 0, "a positive integer")
NON_NEGATIVE_INT = Rule(int, lambda v: v >= 0, "a non-negative integer")
POSITIVE = Rule(float, lambda v: v > 0, "a finite positive number")
NON_NEGATIVE = Rule(float, lambda v: v >= 0, "a finite non-negative number")
FRACTION = Rule(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
PROBABILITY = Rule(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")


def int_list(text):
    """argparse ``type=`` for sizes such as ``128,64``: a list of positive integers."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers such as 128,64, got {text!r}")
    return sizes

