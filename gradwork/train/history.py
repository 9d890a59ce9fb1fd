"""``History``: what ``fit`` measured, one value per epoch for each quantity (Keras's layout).

On disk it is JSON: ``{"epoch": [0, 1, …], "history": {"loss": [...], …}, "stop_reason": …,
"diverged": …}``. JSON has no NaN or infinity, so a non-finite value (a validation loss that
overflowed) is written as the string "NaN", "Infinity" or "-Infinity" and read back as the float.
Reading checks every field, so a damaged file is named with the field that is wrong.
"""
import json
import math

from gradwork import _files
from gradwork.errors import CheckpointError

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class History:
    """``history.history["val_loss"]`` is the list of validation losses, one per epoch;
    ``history.epoch`` the epoch numbers (0-based). ``stop_reason`` says why training stopped early."""

    def __init__(self, history=None, epoch=None, stop_reason=None, diverged=False):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = list(epoch or [])
        self.stop_reason = stop_reason
        self.diverged = diverged  # True when the NaN guard stopped training

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, [None] * (len(self.epoch) - 1)).append(float(value))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def truncated(self, epochs):
        """A copy that keeps only the first ``epochs`` epochs (to match a checkpoint saved after them)."""
        return History({k: v[:epochs] for k, v in self.history.items()}, self.epoch[:epochs])

    def to_dict(self):
        """A JSON-ready dict (non-finite values as "NaN" / "Infinity" / "-Infinity")."""
        return {"epoch": self.epoch, "history": {k: [_encode(v) for v in values] for k, values in self.history.items()},
                "stop_reason": self.stop_reason, "diverged": self.diverged}

    @classmethod
    def from_dict(cls, d, source="history"):
        """The inverse of :meth:`to_dict`; a ``CheckpointError`` naming ``source`` and the field if ``d``
        is not what ``to_dict`` writes."""
        def wrong(field, expected, got):
            return CheckpointError(f"{source}: {field} must be {expected}, got {_short(got)}; the file is damaged "
                                   "(restore it from a backup, or start a new run)")

        if not isinstance(d, dict):
            raise wrong("the top level", "an object with epoch and history", d)
        for key in ("epoch", "history"):
            if key not in d:
                raise CheckpointError(f"{source}: the field {key!r} is missing; the file is damaged "
                                      "(restore it from a backup, or start a new run)")
        epoch, history = d["epoch"], d["history"]
        if not isinstance(epoch, list) or not all(_is_count(e) for e in epoch):
            raise wrong("field 'epoch'", "a list of epoch numbers (0, 1, 2, …)", epoch)
        if not isinstance(history, dict):
            raise wrong("field 'history'", "an object of per-epoch lists such as {\"loss\": [...]}", history)
        for key, values in history.items():
            if not isinstance(values, list) or len(values) != len(epoch):
                raise wrong(f"field history[{key!r}]", f"a list of {len(epoch)} values (one per epoch)", values)
            if not all(_is_value(v) for v in values):
                raise wrong(f"field history[{key!r}]", "a list of numbers (or null, \"NaN\", \"Infinity\")", values)
        stop_reason, diverged = d.get("stop_reason"), d.get("diverged", False)
        if stop_reason is not None and not isinstance(stop_reason, str):
            raise wrong("field 'stop_reason'", "a sentence or null", stop_reason)
        if not isinstance(diverged, bool):
            raise wrong("field 'diverged'", "true or false", diverged)
        return cls({k: [_decode(v) for v in values] for k, values in history.items()}, epoch, stop_reason, diverged)

    def save(self, path):
        """Write as JSON, atomically."""
        _files.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`; a ``CheckpointError`` naming the file if it is damaged."""
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
            raise CheckpointError(f"{path} is not valid JSON ({error}); the file is damaged (restore it from a "
                                  "backup, or start a new run)") from None
        return cls.from_dict(d, source=str(path))

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History({len(self)} epochs: {keys})"


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_value(value):
    if isinstance(value, str):
        return value in NON_FINITE
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _encode(value):
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _decode(value):
    return NON_FINITE[value] if isinstance(value, str) else value


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
