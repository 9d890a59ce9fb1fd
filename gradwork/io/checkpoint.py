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
import math
import os
from dataclasses import dataclass, field

from safetensors import safe_open
from safetensors.numpy import save as safetensors_bytes

from gradwork import _files
from gradwork.backend import is_device_array, to_host, xp
from gradwork.errors import CheckpointError
from gradwork.io.state_dict_file import file_format

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
    # np.array(…, order="C"), not ascontiguousarray: that one turns a 0-d buffer (num_batches_tracked) into shape (1,).
    # safetensors writes host memory: a model on a GPU is copied to the host first (to_host), and loads
    # back onto whatever device the model it is loaded into lives on.
    tensors = {name: xp.array(to_host(value), order="C") for name, value in model.state_dict().items()}
    header = {"format": FORMAT, "epoch": epoch, "metadata": metadata}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, values in state["state"].items():
            for key, value in values.items():
                if isinstance(value, xp.ndarray) or is_device_array(value):
                    tensors[f"{OPTIMIZER_PREFIX}{index}/{key}"] = xp.array(to_host(value), order="C")
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

    Raises :class:`CheckpointError` for a missing, truncated or corrupt file, for a header whose fields
    are not what :func:`save` writes, and for weights or optimizer state of another architecture or
    kind (an array whose dtype changed from float to int is refused, not cast), naming what differs.
    Nothing is loaded into ``model`` or ``optimizer`` unless everything fits.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path}: the file does not exist")
    kind = file_format(path)
    if kind in ("torch", "torch-legacy", "onnx"):
        what = "an ONNX model" if kind == "onnx" else "a PyTorch file (torch.save)"
        raise CheckpointError(f"{path} is {what}, not a gradwork checkpoint: read its weights with "
                              f"gw.io.load_state_dict_file({path!r}), then model.load_state_dict(...) them")
    try:
        with safe_open(path, framework="np") as f:
            text = (f.metadata() or {}).get("gradwork")
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as error:  # safetensors reports truncation and corruption with several error types
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt: {error}); "
                              "re-save it, or resume from another file") from None
    header = _read_header(text, path)
    weights = {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)}
    checkpoint = Checkpoint(weights, header["metadata"], header["epoch"])
    if "optimizer" in header:
        checkpoint.optimizer_state = _optimizer_state(header["optimizer"], arrays, path)
    if model is not None:
        _check_kinds(path, weights, model.state_dict(), "model")
    if optimizer is not None:
        if checkpoint.optimizer_state is None:
            raise CheckpointError(f"{path} holds no optimizer state (it was saved without optimizer=)")
        saved_type = header["optimizer"]["type"]
        if saved_type != type(optimizer).__name__:
            raise CheckpointError(f"{path} holds the state of a {saved_type} optimizer, not of a "
                                  f"{type(optimizer).__name__}")
        _check_optimizer_fits(path, checkpoint.optimizer_state, optimizer)
    if model is not None:
        model.load_state_dict(weights)
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint.optimizer_state)
    return checkpoint


# ----------------------------------------------------------------- checks on what a file says
# A file can be damaged anywhere, so every field is checked before it is used: a wrong one becomes a
# CheckpointError naming the file, never a KeyError deep inside an optimizer.

def _corrupt(path, what):
    return CheckpointError(f"{path}: corrupt gradwork header ({what}); re-save it, or resume from another file")


def _read_header(text, path):
    """The gradwork header, checked to have exactly the fields :func:`save` writes, of the right types."""
    try:
        header = json.loads(text) if text is not None else None
    except ValueError:
        raise _corrupt(path, "not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a gradwork checkpoint "
                              "(its header has no gradwork metadata, e.g. written by PyTorch); read its weights with "
                              f"gw.io.load_state_dict_file({path!r}), then model.load_state_dict(...) them")
    fields = set(header) - {"format"}
    if fields not in ({"epoch", "metadata"}, {"epoch", "metadata", "optimizer"}):
        raise _corrupt(path, f"fields {sorted(header)}, expected format, epoch, metadata and optionally optimizer")
    epoch = header["epoch"]
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
        raise _corrupt(path, f"epoch {epoch!r} is not a whole number")
    if not isinstance(header["metadata"], dict):
        raise _corrupt(path, "metadata is not a dict")
    saved = header.get("optimizer")
    if saved is not None:
        if not isinstance(saved, dict) or set(saved) != {"type", "param_groups", "scalars"}:
            raise _corrupt(path, "the optimizer entry should have exactly type, param_groups and scalars")
        groups, scalars = saved["param_groups"], saved["scalars"]
        if (not isinstance(saved["type"], str) or not isinstance(groups, list)
                or not all(isinstance(g, dict) and isinstance(g.get("params"), list)
                           and all(_is_index(i) for i in g["params"]) for g in groups)):
            raise _corrupt(path, "optimizer type or param_groups malformed")
        if not isinstance(scalars, dict) or not all(isinstance(v, dict) for v in scalars.values()):
            raise _corrupt(path, "optimizer scalars malformed")
    return header


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_kinds(path, saved, own, what):
    """Saved arrays must be of the same kind (float, int, …) as the ones they replace: casting would
    silently turn a damaged dtype field (F32 read as I32) into nonsense values."""
    wrong = [f"{k}: {saved[k].dtype} in the file, {own[k].dtype} in the {what}" for k in own
             if k in saved and xp.dtype(saved[k].dtype).kind != xp.dtype(own[k].dtype).kind]
    if wrong:
        raise CheckpointError(f"{path}: arrays of another kind — " + "; ".join(wrong)
                              + "; the file is corrupt or from another program")


def _check_optimizer_fits(path, state, optimizer):
    """The saved groups, options and per-parameter state must fit ``optimizer`` before any of it is loaded."""
    saved_groups, own_groups = state["param_groups"], optimizer.param_groups
    if [len(g["params"]) for g in saved_groups] != [len(g["params"]) for g in own_groups]:
        raise CheckpointError(f"{path}: the optimizer state has groups of sizes "
                              f"{[len(g['params']) for g in saved_groups]}, this optimizer "
                              f"{[len(g['params']) for g in own_groups]}")
    for saved, own in zip(saved_groups, own_groups):
        if set(saved) != set(own):
            raise CheckpointError(f"{path}: the saved optimizer options {sorted(saved)} are not those of this "
                                  f"{type(optimizer).__name__} ({sorted(own)}); the file is corrupt")
        wrong = [k for k in own if k != "params" and not _same_kind(saved[k], own[k])]
        if wrong:
            raise CheckpointError(f"{path}: the optimizer option {wrong[0]} is {saved[wrong[0]]!r}, not a value like "
                                  f"this {type(optimizer).__name__}'s {own[wrong[0]]!r}; the file is corrupt")
    params = {i: p for saved, own in zip(saved_groups, own_groups) for i, p in zip(saved["params"], own["params"])}
    names = set()
    for index, values in state["state"].items():
        if index not in params:
            raise CheckpointError(f"{path}: optimizer state for parameter {index}, which does not exist; "
                                  "the file is corrupt")
        param = params[index]
        names.add(frozenset(values))
        for name, value in values.items():
            if not isinstance(value, xp.ndarray) and not _is_number(value):  # a step count, read back as text
                raise CheckpointError(f"{path}: optimizer state {name} of parameter {index} is {value!r}, not a "
                                      "finite number; the file is corrupt")
            if isinstance(value, xp.ndarray) and (value.shape != param.shape
                                                  or value.dtype.kind != param.dtype.kind):
                raise CheckpointError(f"{path}: optimizer state {name} of parameter {index} is {value.dtype} "
                                      f"{value.shape}, the parameter {param.dtype} {param.shape}; the file is corrupt")
    if len(names) > 1:  # every parameter an optimizer has stepped keeps the same entries
        raise CheckpointError(f"{path}: the parameters' optimizer states have different entries "
                              f"({' vs '.join(str(sorted(n)) for n in names)}); the file is corrupt")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same_kind(saved, own):
    """An option read back must be the kind of value the optimizer holds: a number, a flag, a pair of numbers."""
    if isinstance(own, bool) or isinstance(own, str):
        return type(saved) is type(own)
    if own is None:  # an option not set yet: a number set later is fine
        return saved is None or _is_number(saved)
    if isinstance(own, (int, float)):
        return _is_number(saved)
    if isinstance(own, tuple):
        return (isinstance(saved, tuple) and len(saved) == len(own)
                and all(_same_kind(s, o) for s, o in zip(saved, own)))
    return True


def _optimizer_state(saved, arrays, path):
    state = {}
    try:
        for index, values in saved["scalars"].items():
            state.setdefault(int(index), {}).update(values)
        for key, value in arrays.items():
            if key.startswith(OPTIMIZER_PREFIX):
                index, name = key[len(OPTIMIZER_PREFIX):].split("/", 1)
                state.setdefault(int(index), {})[name] = value
    except ValueError:  # an index that is not a number, or a key without its /name
        raise _corrupt(path, "optimizer state keys are not <parameter index>/<name>") from None
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in saved["param_groups"]]
    return {"state": state, "param_groups": groups}
