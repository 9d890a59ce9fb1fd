"""Weights in: a state dict from a file written by PyTorch (or exported to ONNX), as NumPy arrays.

``load_state_dict_file(path)`` reads three formats, told apart by their first bytes:

    safetensors   ``safetensors.torch.save_file(model.state_dict(), "model.safetensors")`` — raw
                  arrays and a JSON header, read with safetensors' NumPy API.
    .pt / .pth    ``torch.save(model.state_dict(), "model.pt")`` — a zip holding a pickle; read by
                  :mod:`gradwork.io.torch_pickle`, which refuses every name a state dict does not
                  need, so a hostile file cannot run code. torch is not imported.
    .onnx         the initializers of an ONNX graph, by name (needs ``pip install "gradwork[onnx]"``).

Keys, dtypes and shapes come back as saved. gradwork's layers use PyTorch's parameter names, so::

    model.load_state_dict(gw.io.load_state_dict_file("model.pt"))

loads a PyTorch model's weights into the same architecture built from gradwork layers, and a state
dict of another architecture gets ``load_state_dict``'s message naming every missing, unexpected and
mis-shaped key. BatchNorm's ``num_batches_tracked`` is a buffer in gradwork too, so it loads by name.

:func:`load_pretrained` is what the models' ``weights=PATH`` argument uses: it renames keys
(torchvision's names to gradwork's), and loads the final classifier only when it fits.
"""
import os
import struct
import warnings

import numpy as np

from gradwork.errors import CheckpointError
from gradwork.io.torch_pickle import read_torch_zip

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_2 = b"\x80\x02"


def file_format(path):
    """"torch", "torch-legacy", "safetensors", "onnx" or None, from the file's first bytes (and its
    extension for ONNX, a protobuf with no magic number)."""
    with open(path, "rb") as f:
        head = f.read(9)
        size = os.fstat(f.fileno()).st_size
    if head.startswith(ZIP_MAGIC):
        return "torch"
    if head.startswith(PICKLE_PROTOCOL_2):
        return "torch-legacy"
    if len(head) == 9 and 0 < struct.unpack("<Q", head[:8])[0] <= size - 8 and head[8:9] == b"{":
        return "safetensors"
    if str(path).lower().endswith(".onnx"):
        return "onnx"
    return None


def load_state_dict_file(path):
    """The state dict stored at ``path`` — a PyTorch ``.pt``/``.pth`` zip, a safetensors file, or an
    ONNX model's initializers — as an ordered ``{name: numpy array}``, with the names, dtypes and
    shapes the file holds. Raises :class:`CheckpointError` for a missing, damaged or hostile file.

    Make such a file with PyTorch, e.g. from torchvision, on a machine that has them::

        import torch, torchvision
        model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
        torch.save(model.state_dict(), "resnet18.pt")
        # or: safetensors.torch.save_file(model.state_dict(), "resnet18.safetensors")
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no weights file at {path}: the file does not exist")
    kind = file_format(path)
    if kind == "torch":
        return read_torch_zip(path)
    if kind == "torch-legacy":
        raise CheckpointError(f"{path} is a PyTorch file in the legacy format (before PyTorch 1.6), which is not "
                              "read; re-save it with a recent PyTorch: torch.save(torch.load(path), 'new.pt')")
    if kind == "safetensors":
        return _read_safetensors(path)
    if kind == "onnx":
        return _read_onnx(path)
    raise CheckpointError(f"{path} is not a weights file gradwork reads: expected a PyTorch .pt/.pth "
                          "(torch.save), a .safetensors or an .onnx file")


def _read_safetensors(path):
    from safetensors import safe_open

    from gradwork.io.checkpoint import OPTIMIZER_PREFIX
    try:
        with safe_open(path, framework="np") as f:
            # A gradwork checkpoint is a safetensors file too: its optimizer arrays are not weights.
            return {key: f.get_tensor(key) for key in f.keys() if not key.startswith(OPTIMIZER_PREFIX)}
    except Exception as error:  # safetensors reports truncation, corruption and bfloat16 with several types
        hint = " (bfloat16 has no NumPy type: save with model.float() first)" if "bf16" in str(error).lower() else ""
        raise CheckpointError(f"{path} is not a readable safetensors file ({error}){hint}") from None


def _read_onnx(path):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise CheckpointError(f"reading {path} needs the onnx package: pip install \"gradwork[onnx]\"") from None
    try:
        model = onnx.load(path)
        return {init.name: np.array(numpy_helper.to_array(init)) for init in model.graph.initializer}
    except Exception as error:  # protobuf's DecodeError, missing external data, unknown dtypes, …
        raise CheckpointError(f"{path} is not a readable ONNX model ({type(error).__name__}: {error})") from None


def load_pretrained(model, weights, rename=None, head="", fix=None):
    """Load ``weights`` (a path in any format :func:`load_state_dict_file` reads, or a state dict) into
    ``model`` by name; returns ``model``.

    ``rename(key)`` maps the file's names to the model's (torchvision's ``fc.weight`` to gradwork's
    ``head.2.weight``); ``fix(state, model)`` may change the renamed state dict (e.g. fold a bias).
    Keys under the prefix ``head`` — the final classifier — are loaded only if all of them are in the
    file with the model's shapes; otherwise (ImageNet's 1000 classes, another width) the head keeps
    its fresh initialisation for transfer learning, and a ``UserWarning`` says so. Every other key
    must fit: a missing, unexpected or mis-shaped one raises ``load_state_dict``'s
    :class:`CheckpointError`. ``num_batches_tracked`` missing from old files keeps the model's value.
    """
    state = load_state_dict_file(weights) if isinstance(weights, (str, os.PathLike)) else dict(weights)
    if rename is not None:
        renamed = {}
        for key, value in state.items():
            new = rename(key)
            if new in renamed:
                raise CheckpointError(f"two keys of the weights both map to {new!r}: the file mixes naming schemes")
            renamed[new] = value
        state = renamed
    if fix is not None:
        state = fix(state, model)
    own = model.state_dict()
    for key, value in own.items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = value
    if head:
        head_keys = [k for k in own if k.startswith(head)]
        fits = all(k in state and tuple(np.shape(state[k])) == own[k].shape for k in head_keys)
        if not fits:
            skipped = sorted(k for k in state if k.startswith(head))
            warnings.warn(f"the weights' classifier ({', '.join(skipped) or 'absent'}) does not fit this model's "
                          f"{head.rstrip('.')} ({', '.join(f'{k} {own[k].shape}' for k in head_keys)}): it keeps "
                          "its fresh initialisation — train it (transfer learning)", UserWarning, stacklevel=3)
            state = {k: v for k, v in state.items() if not k.startswith(head)}
            state.update({k: own[k] for k in head_keys})
    model.load_state_dict(state)
    return model
