"""A run folder: everything one training run leaves behind, each file written atomically.

    runs/<name>/
        config.json          how the run was set up (enough to rebuild the model and resume)
        model.safetensors    weights, optimizer state, epoch, random-generator state — and the history
        history.json         per-epoch losses and metrics (a readable copy of the checkpoint's history)
        curves.png           learning curves, train vs validation

The checkpoint and the history are one unit: the history up to the saved epoch travels inside
model.safetensors, written with one rename, so a run killed between writing the two files cannot
resume with an epoch missing from its history. history.json is written next, for people and
plotting tools; when it disagrees with the checkpoint (a kill between the two writes, or a damaged
file) the checkpoint wins, the file is rewritten from it, and the command says so.
"""
import errno
import json
import os
import shutil
import sys

from gradwork import _files, backend, io
from gradwork.cli.run_config import check_config
from gradwork.errors import CheckpointError, ConfigError
from gradwork.train.callbacks import Callback
from gradwork.train.history import History

CONFIG, MODEL, HISTORY, CURVES = "config.json", "model.safetensors", "history.json", "curves.png"
FILES = (CONFIG, MODEL, HISTORY, CURVES)


class RunFolder:
    def __init__(self, path):
        self.path = os.fspath(path)
        self._made = False  # True once create() made the folder itself (so discard() may remove it)

    def file(self, name):
        return os.path.join(self.path, name)

    def exists(self):
        return os.path.isdir(self.path)

    def has_config(self):
        return os.path.isfile(self.file(CONFIG))

    def has_checkpoint(self):
        return os.path.isfile(self.file(MODEL))

    def is_unstarted(self):
        """A run that was set up but never finished an epoch (killed during its first one)."""
        return self.has_config() and not self.has_checkpoint()

    # ------------------------------------------------------------------ a new run

    def create(self, config):
        """Make the folder and write ``config`` into it; on any failure leave nothing behind and say why."""
        if self.exists() and self._visible_entries():
            if self.is_unstarted():
                raise ConfigError(f"the run folder {self.path} holds a run that never finished an epoch; start it "
                                  f"from the beginning with gradwork train --resume {self.path}, or choose another --out")
            hint = f", or continue it with gradwork train --resume {self.path}" if self.has_config() else ""
            raise ConfigError(f"the run folder {self.path} already exists and is not empty; choose another --out{hint}")
        self._made = not self.exists()
        try:
            os.makedirs(self.path, exist_ok=True)
            self.write_config(config)
        except OSError as error:
            self.discard()
            raise ConfigError(f"cannot write the run folder {self.path}: {error.strerror or error}; "
                              + ("free some space, or " if _is_disk_full(error) else "")
                              + "choose a writable location with --out") from None

    def discard(self):
        """Remove what :meth:`create` made: a run that never finished an epoch is not worth keeping."""
        if self._made:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            for name in FILES:
                if os.path.exists(self.file(name)):
                    os.remove(self.file(name))

    def _visible_entries(self):
        """Entries other than leftover temporary files of killed writes (which the next write removes)."""
        stale = {os.path.basename(p) for name in FILES for p in _files.stale_temporaries(self.file(name))}
        return [e for e in os.listdir(self.path) if e not in stale]

    # ------------------------------------------------------------------ config

    def read_config(self):
        """The run's settings, each field checked (``ConfigError`` naming the file and the field)."""
        path = self.file(CONFIG)
        if not os.path.isfile(path):
            what = ("is not a run folder: it has no " + CONFIG if self.exists() else
                    "is a file, not a run folder" if os.path.exists(self.path) else "does not exist")
            raise ConfigError(f"{self.path} {what} (give the folder that `gradwork train` wrote, e.g. "
                              "runs/mlp-digits-…)")
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
            raise ConfigError(f"{path} is not valid JSON ({error}); the run folder is damaged") from None
        return check_config(config, path)

    def write_config(self, config):
        _files.write_json(self.file(CONFIG), config)

    # ------------------------------------------------------------------ checkpoint and history

    def save_epoch(self, model, optimizer, epoch, history):
        """Weights, optimizer state and history after ``epoch`` epochs, with the generator state so a
        resumed run draws exactly the numbers the uninterrupted run would have drawn."""
        path = self.file(MODEL)
        try:
            io.save(model, path, optimizer=optimizer, epoch=epoch, rng_state=backend.get_rng_state(),
                    history=history.to_dict())
            history.save(self.file(HISTORY))
        except OSError as error:
            raise CheckpointError(f"cannot save epoch {epoch} in {self.path}: {error.strerror or error}"
                                  + ("; free some space" if _is_disk_full(error) else "")) from None

    def load_checkpoint(self, model, optimizer):
        """Load the last saved epoch into ``model`` (and ``optimizer`` unless None); the checkpoint."""
        path = self.file(MODEL)
        checkpoint = io.load(path, model=model, optimizer=optimizer)
        epoch = checkpoint.epoch
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise CheckpointError(f"{path}: its epoch must be a non-negative integer, got {epoch!r}; the file is "
                                  "damaged or was not written by gradwork train")
        if "rng_state" in checkpoint.metadata:
            try:
                backend.set_rng_state(checkpoint.metadata["rng_state"])
            except (TypeError, ValueError, KeyError):  # NumPy's own checks of a damaged state
                raise CheckpointError(f"{path}: its random-generator state (rng_state) is damaged") from None
        return checkpoint

    def require_checkpoint(self, command):
        """Refuse a run that never finished an epoch (nothing to evaluate or export); ``command`` is the
        one that trains it further, e.g. "gradwork train"."""
        if not self.has_checkpoint():
            raise ConfigError(f"{self.path} has no {MODEL}: the run never finished an epoch (continue it with "
                              f"{command} --resume {self.path})")

    def resume(self, model, optimizer, epochs, speak=True):
        """Load the last saved epoch to continue the run up to ``epochs``: (history, epochs done). A run
        asked for fewer epochs than it has done is refused; notes go to stderr when ``speak``."""
        checkpoint = self.load_checkpoint(model, optimizer)
        history, note = self.history(checkpoint)
        if note and speak:
            print(note, file=sys.stderr)
        done = checkpoint.epoch
        if epochs < done:
            raise ConfigError(f"--epochs {epochs} is fewer than the {done} epochs {self.path} has already done; "
                              f"give --epochs N with N > {done} to train further")
        if done == epochs and speak:
            print(f"{self.path} already has {done} epochs; pass --epochs N with N > {done} to train further",
                  file=sys.stderr)
        return history, done

    def history(self, checkpoint):
        """The history that goes with ``checkpoint``, and a note (or None) when history.json disagreed
        with it and was rewritten from the checkpoint."""
        path = self.file(HISTORY)
        saved = checkpoint.metadata.get("history")
        on_disk, problem = None, None
        if os.path.isfile(path):
            try:
                on_disk = History.load(path)
            except CheckpointError as error:
                problem = str(error)
        if saved is None:  # written before the history travelled in the checkpoint
            return self._older_history(checkpoint.epoch, on_disk, problem)
        history = History.from_dict(saved, source=f"{self.file(MODEL)} (its history)")
        if len(history) != checkpoint.epoch:
            raise CheckpointError(f"{self.file(MODEL)}: saved after epoch {checkpoint.epoch} but its history has "
                                  f"{len(history)} epochs; the file is damaged")
        if on_disk is not None and on_disk.to_dict() == history.to_dict():
            return history, None
        found = problem or (f"it records {len(on_disk)} epochs" if on_disk is not None else "it is missing")
        history.save(path)
        return history, (f"note: {path} did not match the checkpoint ({found}; the run was stopped between "
                         f"writing them, or the file was changed); rewrote it from {MODEL}, saved after epoch "
                         f"{checkpoint.epoch}")

    def _older_history(self, epoch, on_disk, problem):
        if problem:
            raise CheckpointError(problem)
        on_disk = on_disk or History()
        if len(on_disk) == epoch:
            return on_disk, None
        if len(on_disk) > epoch:
            on_disk.truncated(epoch).save(self.file(HISTORY))
            return on_disk.truncated(epoch), (f"note: {self.file(HISTORY)} had {len(on_disk)} epochs but "
                                              f"{MODEL} was saved after epoch {epoch}; continuing from epoch {epoch}")
        raise CheckpointError(f"{self.file(HISTORY)} records {len(on_disk)} epochs but {MODEL} was saved after epoch "
                              f"{epoch} (the run was stopped between writing them, before checkpoints carried "
                              "their history): the missing epochs cannot be recovered; start a new run")


class SaveEveryEpoch(Callback):
    """Keep the run folder resumable: after every epoch, save weights, optimizer state and history."""

    def __init__(self, run):
        self.run = run

    def on_epoch_end(self, state, logs):
        self.run.save_epoch(state.model, state.optimizer, state.epoch + 1, state.history)


def _is_disk_full(error):
    return error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", None))
