"""``History``: what ``fit`` measured, one value per epoch for each quantity (Keras's layout)."""
import json

from gradwork import _files


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

    def to_dict(self):
        return {"epoch": self.epoch, "history": self.history, "stop_reason": self.stop_reason,
                "diverged": self.diverged}

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("history"), d.get("epoch"), d.get("stop_reason"), d.get("diverged", False))

    def save(self, path):
        """Write as JSON, atomically."""
        _files.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_dict(json.load(f))

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History({len(self)} epochs: {keys})"
