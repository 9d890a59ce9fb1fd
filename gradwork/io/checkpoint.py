"""Checkpoints: a model's weights (and optionally its optimizer's state) in one safetensors file.

Layout of the file:
    tensors   the model's state dict under its own names (``layers.0.weight`` — PyTorch's names),
              and optimizer arrays under ``__optimizer__/<param index>/<name>``.
    header    ``__metadata__["gradwork"]``: JSON with the epoch, the optimizer's options and scalar
              state, and any metadata given to ``save``.

safetensors stores raw arrays and a JSON header only — no pickle, so loading a file never runs code.
The file is written to a temporary name and renamed, so a crash never leaves half a checkpoint.
"""
import json
import os
from dataclasses import dataclass, field

from safetensors import safe_open
from safetensors.numpy import save as safetensors_bytes

from gradwork import _files
from gradwork.backend import xp
from gradwork.errors import CheckpointError

OPTIMIZER_PREFIX = "__optimizer__/"
FORMAT = "gradwork-checkpoint-v1"


@dataclass
class Checkpoint:
    """What :func:`load` read: the weights, the epoch, the optimizer state and free-form metadata."""

    state_dict: dict
    metadata: dict = field(default_factory=dict)
    epoch: int = None
    optimizer_state: dict = None


def save(model, path, optimizer=None, epoch=None, **metadata):
    """Write ``model``'s weights — and ``optimizer``'s state and ``epoch`` if given — to ``path``.

    ``metadata`` must be JSON-serialisable (numbers, strings, lists, dicts); it comes back from
    :func:`load` as ``checkpoint.metadata``.
    """
    tensors = {name: xp.ascontiguousarray(value) for name, value in model.state_dict().items()}
    header = {"format": FORMAT, "epoch": epoch, "metadata": metadata}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, values in state["state"].items():
            for key, value in values.items():
                if isinstance(value, xp.ndarray):
                    tensors[f"{OPTIMIZER_PREFIX}{index}/{key}"] = xp.ascontiguousarray(value)
                else:
                    scalars.setdefault(str(index), {})[key] = value
        header["optimizer"] = {"type": type(optimizer).__name__, "param_groups": state["param_groups"],
                               "scalars": scalars}
    try:
        text = json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: metadata must be JSON-serialisable (numbers, strings, lists, dicts): {error}") from None
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the folder {directory} does not exist; create it first")
    _files.write_bytes(path, safetensors_bytes(tensors, metadata={"gradwork": text}))


def load(path, model=None, optimizer=None):
    """Read a checkpoint written by :func:`save`; load it into ``model`` / ``optimizer`` when given.

    Raises :class:`CheckpointError` for a missing, truncated or corrupt file, and (from
    ``load_state_dict``) for weights of another architecture, naming every mismatched key.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist")
    try:
        with safe_open(path, framework="np") as f:
            header = json.loads((f.metadata() or {}).get("gradwork", "{}"))
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as error:  # safetensors reports truncation and corruption with several error types
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt: {error}); "
                              "re-save it, or resume from another file") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a gradwork checkpoint "
                              "(its header has no gradwork metadata); load its arrays with safetensors directly")
    weights = {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)}
    checkpoint = Checkpoint(weights, header.get("metadata", {}), header.get("epoch"))
    if "optimizer" in header:
        checkpoint.optimizer_state = _optimizer_state(header["optimizer"], arrays)
    if model is not None:
        model.load_state_dict(weights)
    if optimizer is not None:
        if checkpoint.optimizer_state is None:
            raise CheckpointError(f"{path} holds no optimizer state (it was saved without optimizer=)")
        saved_type = header["optimizer"]["type"]
        if saved_type != type(optimizer).__name__:
            raise CheckpointError(f"{path} holds the state of a {saved_type} optimizer, not of a "
                                  f"{type(optimizer).__name__}")
        optimizer.load_state_dict(checkpoint.optimizer_state)
    return checkpoint


def _optimizer_state(saved, arrays):
    state = {}
    for index, values in saved["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    for key, value in arrays.items():
        if key.startswith(OPTIMIZER_PREFIX):
            index, name = key[len(OPTIMIZER_PREFIX):].split("/", 1)
            state.setdefault(int(index), {})[name] = value
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in saved["param_groups"]]
    return {"state": state, "param_groups": groups}
