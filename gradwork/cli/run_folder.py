"""A run folder: everything one training run leaves behind, each file written atomically.

    runs/<name>/
        config.json          how the run was set up (enough to rebuild the model and resume)
        model.safetensors    weights, optimizer state, epoch and random-generator state
        history.json         per-epoch losses and metrics
        curves.png           learning curves, train vs validation
"""
import json
import os

from gradwork import _files, backend, io
from gradwork.errors import ConfigError
from gradwork.train.callbacks import Callback
from gradwork.train.history import History

CONFIG, MODEL, HISTORY, CURVES = "config.json", "model.safetensors", "history.json", "curves.png"


class RunFolder:
    def __init__(self, path):
        self.path = os.fspath(path)

    def file(self, name):
        return os.path.join(self.path, name)

    def exists(self):
        return os.path.isdir(self.path)

    def create(self):
        """Make the folder (and its parents); fail with a clear message if it cannot be written."""
        if self.exists() and os.listdir(self.path):
            raise ConfigError(f"the run folder {self.path} already exists and is not empty; choose another "
                              f"--out, or continue it with --resume {self.path}")
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = self.file(".write-test")
            with open(probe, "w"):
                pass
            os.remove(probe)
        except OSError as error:
            raise ConfigError(f"cannot write the run folder {self.path}: {error.strerror or error}; "
                              "choose a writable location with --out") from None

    def read_config(self):
        path = self.file(CONFIG)
        if not os.path.isfile(path):
            raise ConfigError(f"{self.path} is not a run folder: it has no {CONFIG} "
                              "(give the folder that `gradwork train` wrote, e.g. runs/mlp-digits-…)")
        try:
            with open(path) as f:
                return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path} is not valid JSON ({error}); the run folder is damaged") from None

    def write_config(self, config):
        _files.write_json(self.file(CONFIG), config)

    def read_history(self):
        path = self.file(HISTORY)
        return History.load(path) if os.path.isfile(path) else History()

    def save_epoch(self, model, optimizer, epoch, history):
        """Weights and optimizer state after ``epoch`` epochs, with the generator state so a resumed run
        draws exactly the numbers the uninterrupted run would have drawn."""
        io.save(model, self.file(MODEL), optimizer=optimizer, epoch=epoch, rng_state=backend.get_rng_state())
        history.save(self.file(HISTORY))

    def load_checkpoint(self, model, optimizer):
        path = self.file(MODEL)
        checkpoint = io.load(path, model=model, optimizer=optimizer)
        if "rng_state" in checkpoint.metadata:
            backend.set_rng_state(checkpoint.metadata["rng_state"])
        return checkpoint

    def has_checkpoint(self):
        return os.path.isfile(self.file(MODEL))


class SaveEveryEpoch(Callback):
    """Keep the run folder resumable: after every epoch, save weights, optimizer state and history."""

    def __init__(self, run):
        self.run = run

    def on_epoch_end(self, state, logs):
        self.run.save_epoch(state.model, state.optimizer, state.epoch + 1, state.history)
