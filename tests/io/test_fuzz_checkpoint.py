"""Fuzzing ``io.load``: seeded corruptions of a small checkpoint (an MLP with its Adam state) saved by ``io.save``.

The rule every outcome must follow: resuming from the file (``io.load(path, model, optimizer)``) restores
exactly what was saved, or it raises one of gradwork's own errors (a ``GradworkError``, here a
``CheckpointError``) — never another exception, never other weights, never a model half loaded.
Run with ``-s`` to see the one-line summary.

What is not mutated, and why: the bytes of the arrays and the values inside gradwork's metadata (the
epoch, a learning rate, a user's note). safetensors stores no checksum, so a changed number there is a
different but valid checkpoint that no reader can tell from the original. Everything that gives those
bytes their meaning is fuzzed: the header length, the tensor table (names, dtypes, shapes, offsets),
the field names and types of gradwork's metadata, the optimizer's structure, truncations and appends.
"""
import json

import numpy as np
import pytest

import gradwork as gw
from gradwork import io, models, optim
from tests.helpers import FuzzOutcomes

SEED = 15
SIZES = [6, 5, 3]
SLOWEST_ALLOWED_S = 3.0


# ----------------------------------------------------------------- the harness
def same(a, b):
    """Exactly equal: same structure, types, shapes, dtypes and values."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def outcomes_for(group):
    return FuzzOutcomes(group, same, SLOWEST_ALLOWED_S)


# ----------------------------------------------------------------- the checkpoint and what a load restores
def trained():
    gw.manual_seed(0)
    model = models.MLP(SIZES)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = gw.randn(8, SIZES[0])
    for _ in range(3):
        opt.zero_grad()
        gw.nn.functional.cross_entropy(model(x), np.arange(8) % SIZES[-1]).backward()
        opt.step()
    return model, opt


def restored(model, opt, epoch, metadata):
    """Everything a resume depends on, as plain values: weights, optimizer state and options, epoch, metadata."""
    params = [p for g in opt.param_groups for p in g["params"]]
    state = [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state.get(p, {}).items()}
             for p in params]
    options = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    weights = {k: v.copy() for k, v in model.state_dict().items()}
    return weights, state, options, epoch, metadata


def resume(path):
    gw.manual_seed(1)  # other initial weights, and another lr, so only a real load makes them equal
    model = models.MLP(SIZES)
    opt = optim.Adam(model.parameters(), lr=0.5)
    checkpoint = io.load(path, model=model, optimizer=opt)
    return restored(model, opt, checkpoint.epoch, checkpoint.metadata)


# ----------------------------------------------------------------- mutations
def split(raw):
    """(the safetensors header as a dict, the array bytes)."""
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors keeps the arrays 8-byte aligned
    return len(text).to_bytes(8, "little") + text + data


def metadata_value_span(raw):
    """(start, end) of gradwork's metadata JSON string inside the file — the part whose values are not fuzzed."""
    start = raw.index(b'"gradwork":"') + len(b'"gradwork":"')
    end = start
    while raw[end] != ord('"'):
        end += 2 if raw[end] == ord("\\") else 1
    return start, end


def tensor_table_edit(raw, rng):
    """An edit of the tensor table that keeps the file valid safetensors but changes what an entry means."""
    header, data = split(raw)
    names = [k for k in header if k != "__metadata__"]
    name = names[int(rng.integers(len(names)))]
    entry = header[name]
    edits = ["dtype", "shape", "offsets", "rename", "optimizer key"]
    kind = edits[int(rng.integers(len(edits)))]
    if kind == "dtype":
        new = ["I32", "U32", "I32", "U32", "F16", "F64", "I64", "U8"][int(rng.integers(8))]  # same size first
        description = f"{name}: dtype {entry['dtype']} → {new}"
        entry["dtype"] = new
    elif kind == "shape":
        new = entry["shape"][::-1] if len(entry["shape"]) > 1 else [1, *entry["shape"]]
        description = f"{name}: shape {entry['shape']} → {new}"
        entry["shape"] = new
    elif kind == "offsets":
        delta = int(rng.choice([-4, 4, 8]))
        description = f"{name}: end offset {delta:+d}"
        entry["data_offsets"][1] += delta
    elif kind == "rename":
        new = name[:-1] + chr(ord(name[-1]) ^ 1)
        description = f"{name} renamed {new}"
        header = {(new if k == name else k): v for k, v in header.items()}
    else:
        optimizer_keys = [k for k in names if k.startswith("__optimizer__/")]
        key = optimizer_keys[int(rng.integers(len(optimizer_keys)))]
        _, index, state_name = key.split("/")
        new = [f"__optimizer__/{int(index) + 40}/{state_name}", f"__optimizer__/x{index}/{state_name}",
               f"__optimizer__/{index}{state_name}", f"__optimizer__/{index}/{state_name}_",
               f"__optimizer__/-1/{state_name}"][int(rng.integers(5))]
        description = f"{key} renamed {new}"
        header = {(new if k == key else k): v for k, v in header.items()}
    return description, join(header, data)


def metadata_edit(raw, rng):
    """An edit of gradwork's metadata JSON: its structure, field names and types (not its values)."""
    header, data = split(raw)
    meta = json.loads(header["__metadata__"]["gradwork"])
    opt = meta["optimizer"]

    def rename(d, key, new):
        d[new] = d.pop(key)

    replacements = {"not JSON": '{"format": "gradwork-checkpoint-v1", "epoch', "a list": json.dumps([meta])}
    edits = {  # each changes ``meta`` in place
        "format renamed": lambda: meta.update(format="gradwork-checkpoint-v2"),
        "epoch is a string": lambda: meta.update(epoch="3"),
        "epoch is a float": lambda: meta.update(epoch=3.5),
        "epoch is a bool": lambda: meta.update(epoch=True),
        "epoch field renamed": lambda: rename(meta, "epoch", "epocj"),
        "metadata is a list": lambda: meta.update(metadata=[1, 2]),
        "metadata field missing": lambda: meta.pop("metadata"),
        "unknown field": lambda: meta.update(extra=1),
        "optimizer is a string": lambda: meta.update(optimizer="Adam"),
        "optimizer without scalars": lambda: opt.pop("scalars"),
        "optimizer type renamed": lambda: opt.update(type="Adan"),
        "param_groups is a dict": lambda: opt.update(param_groups={"0": opt["param_groups"][0]}),
        "param group without params": lambda: opt["param_groups"][0].pop("params"),
        "param index out of range": lambda: opt["param_groups"][0]["params"].__setitem__(0, 99),
        "param index a string": lambda: opt["param_groups"][0]["params"].__setitem__(0, "0"),
        "a param listed twice": lambda: opt["param_groups"][0]["params"].__setitem__(1, 0),
        "one param fewer": lambda: opt["param_groups"][0]["params"].pop(),
        "a second param group": lambda: opt["param_groups"].append(dict(opt["param_groups"][0])),
        "option renamed": lambda: rename(opt["param_groups"][0], "lr", "lx"),
        "option missing": lambda: opt["param_groups"][0].pop("eps"),
        "scalars is a list": lambda: opt.update(scalars=[opt["scalars"]]),
        "scalar index not a number": lambda: rename(opt["scalars"], "0", "zero"),
        "scalar index out of range": lambda: rename(opt["scalars"], "0", "40"),
        "scalar name renamed": lambda: rename(opt["scalars"]["1"], "step", "stel"),
        "scalars of a param are a number": lambda: opt["scalars"].update({"2": 3}),
    }
    kinds = sorted(edits) + sorted(replacements)
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind in replacements:
        header["__metadata__"]["gradwork"] = replacements[kind]
    else:
        edits[kind]()
        header["__metadata__"]["gradwork"] = json.dumps(meta)
    return f"metadata: {kind}", join(header, data)


def mutation(raw, rng, kind):
    """(description, new file bytes) — one seeded corruption of the checkpoint."""
    n = int.from_bytes(raw[:8], "little")
    if kind == "length prefix flip":
        data = bytearray(raw)
        i = int(rng.integers(0, 8))
        data[i] ^= int(rng.integers(1, 256))
        return f"header length byte {i} flipped", bytes(data)
    if kind == "tensor table flip":
        start, end = metadata_value_span(raw)
        positions = [i for i in range(8, 8 + n) if not start <= i < end]
        i = positions[int(rng.integers(len(positions)))]
        data = bytearray(raw)
        data[i] ^= int(rng.integers(1, 256))
        return f"header byte {i} ({chr(raw[i])!r}) flipped", bytes(data)
    if kind == "truncation":
        cut = int(rng.integers(0, len(raw)))
        return f"truncated to {cut} of {len(raw)} bytes", raw[:cut]
    if kind == "appended bytes":
        extra = rng.integers(0, 256, int(rng.integers(1, 100))).astype(np.uint8).tobytes()
        return f"{len(extra)} bytes appended", raw + extra
    if kind == "tensor table edit":
        return tensor_table_edit(raw, rng)
    return metadata_edit(raw, rng)


KINDS = ["length prefix flip", "tensor table flip", "tensor table flip", "tensor table flip", "truncation",
         "appended bytes", "tensor table edit", "metadata edit", "metadata edit"]


def test_fuzzed_checkpoints_resume_exactly_or_raise_checkpoint_error(tmp_path):
    path = tmp_path / "m.safetensors"
    model, opt = trained()
    io.save(model, path, optimizer=opt, epoch=3, note="hello", sizes=SIZES)
    expected = restored(model, opt, 3, {"note": "hello", "sizes": SIZES})
    assert same(resume(path), expected)  # the harness itself: an untouched file resumes exactly
    raw = path.read_bytes()
    rng = np.random.default_rng(SEED)
    outcomes = outcomes_for("checkpoint")
    for i in range(180):
        description, data = mutation(raw, rng, KINDS[i % len(KINDS)])
        path.write_bytes(data)
        outcomes.check(description, lambda: resume(path), expected)
    outcomes.assert_rule_held()


def test_a_failed_load_leaves_the_model_and_optimizer_untouched(tmp_path):
    path = tmp_path / "m.safetensors"
    model, opt = trained()
    io.save(model, path, optimizer=opt, epoch=3)
    header, data = split(path.read_bytes())
    meta = json.loads(header["__metadata__"]["gradwork"])
    meta["optimizer"]["param_groups"][0]["lr"] = 0.5
    meta["optimizer"]["param_groups"][0].pop("eps")  # the weights fit, the optimizer state does not
    header["__metadata__"]["gradwork"] = json.dumps(meta)
    path.write_bytes(join(header, data))
    gw.manual_seed(1)
    fresh = models.MLP(SIZES)
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.1)
    before = restored(fresh, fresh_opt, None, None)
    with pytest.raises(gw.errors.CheckpointError, match="optimizer options"):
        io.load(path, model=fresh, optimizer=fresh_opt)
    assert same(restored(fresh, fresh_opt, None, None), before)


def test_a_float_array_whose_dtype_field_reads_int32_is_refused_not_cast(tmp_path):
    path = tmp_path / "m.safetensors"
    model, opt = trained()
    io.save(model, path, optimizer=opt)
    header, data = split(path.read_bytes())
    header["layers.0.weight"]["dtype"] = "I32"  # same size as F32: safetensors itself cannot tell
    path.write_bytes(join(header, data))
    with pytest.raises(gw.errors.CheckpointError, match=r"layers.0.weight: int32 in the file, float32 in the model"):
        io.load(path, model=models.MLP(SIZES))
