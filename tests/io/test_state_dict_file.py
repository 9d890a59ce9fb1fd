"""load_state_dict_file: PyTorch .pt (restricted unpickler), PyTorch safetensors and ONNX, read without torch.

The fixtures were made once with PyTorch by tests/io/fixtures/make_fixtures.py; torch is not needed here.
"""
import os
import pickle
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn
from gradwork.errors import CheckpointError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    return os.path.join(FIXTURES, name)


def expected(name):
    return np.load(fixture(name))


def gradwork_sequential():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 2))


# ----------------------------------------------------------------- formats
@pytest.mark.parametrize("name", ["sequential.pt", "sequential.safetensors"])
def test_a_torch_saved_sequential_loads_and_gives_torchs_outputs(name):
    state = gw.io.load_state_dict_file(fixture(name))
    assert {"0.weight", "0.bias", "1.running_mean", "4.weight"} <= set(state)  # safetensors sorts its keys
    assert state["1.num_batches_tracked"].dtype == np.int64 and state["1.num_batches_tracked"] == 7
    assert state["0.weight"].dtype == np.float32 and state["0.weight"].shape == (3, 1, 3, 3)
    model = gradwork_sequential()
    model.load_state_dict(state)
    ref = expected("sequential_expected.npz")
    with model.evaluating():
        y = model(gw.Tensor(ref["x"])).data
    np.testing.assert_allclose(y, ref["y"], rtol=1e-5, atol=1e-6)
    assert int(model[1].num_batches_tracked.data) == 7


def test_a_torch_saved_lstm_gives_torchs_outputs():
    model = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    model.load_state_dict(gw.io.load_state_dict_file(fixture("lstm.pt")))
    ref = expected("lstm_expected.npz")
    with gw.no_grad():
        y, (h, c) = model(gw.Tensor(ref["x"]))
    np.testing.assert_allclose(y.data, ref["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.data, ref["h"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.data, ref["c"], rtol=1e-5, atol=1e-6)


def test_onnx_initializers_load_by_name():
    pytest.importorskip("onnx")
    state = gw.io.load_state_dict_file(fixture("mlp.onnx"))
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model.load_state_dict(state)
    ref = expected("mlp_expected.npz")
    np.testing.assert_allclose(model(gw.Tensor(ref["x"])).data, ref["y"], rtol=1e-5, atol=1e-6)


def test_onnx_missing_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("no onnx")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(CheckpointError, match=r'pip install "gradwork\[onnx\]"'):
        gw.io.load_state_dict_file(fixture("mlp.onnx"))


def test_views_shared_storages_and_dtypes_load_exactly():
    state = gw.io.load_state_dict_file(fixture("views.pt"))
    ref = expected("views_expected.npz")
    assert list(state) == list(ref.files)
    for key in ref.files:
        assert state[key].dtype == ref[key].dtype, key
        assert state[key].shape == ref[key].shape, key
        np.testing.assert_array_equal(state[key], ref[key], err_msg=key)
    state["base"][0] = 99  # each tensor is its own copy, not a view of a shared buffer
    assert state["tail"][0] == 5 and state["step"][0] == 2


def test_another_architecture_gets_load_state_dicts_message():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))
    with pytest.raises(CheckpointError, match=r"shape mismatch: 0.weight.*missing keys.*unexpected keys: 1.weight"):
        model.load_state_dict(gw.io.load_state_dict_file(fixture("sequential.pt")))


def test_gw_load_points_foreign_files_to_load_state_dict_file():
    for name in ["sequential.pt", "sequential.safetensors", "mlp.onnx"]:
        with pytest.raises(CheckpointError, match=r"gw.io.load_state_dict_file"):
            gw.load(fixture(name))


def test_a_gradwork_checkpoint_reads_as_its_weights(tmp_path):
    model = gradwork_sequential()
    gw.save(model, tmp_path / "m.safetensors", optimizer=gw.optim.Adam(model.parameters()))
    state = gw.io.load_state_dict_file(tmp_path / "m.safetensors")
    assert set(state) == set(model.state_dict())


# ----------------------------------------------------------------- hostile and damaged files
def torch_like_zip(path, pickled, storages=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
    return path


class Runs:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "subprocess.call", "builtins.exec"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path, attack):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    payload = {
        "os.system": Runs(os.system, command),
        "builtins.eval": Runs(eval, f"__import__('os').system({command!r})"),
        "subprocess.call": Runs(subprocess.call, ["touch", str(marker)]),
        "builtins.exec": Runs(exec, f"open({str(marker)!r}, 'w').close()"),
    }[attack]
    # the hostile object hides inside an otherwise plausible state dict
    path = torch_like_zip(tmp_path / "evil.pt", pickle.dumps({"0.weight": payload}, protocol=4))
    module, name = attack.split(".")
    with pytest.raises(CheckpointError, match=rf"({'posix|os' if module == 'os' else module})\.{name}.*refused, nothing was run"):
        gw.io.load_state_dict_file(path)
    assert not marker.exists()


def test_unknown_storage_kinds_and_torch_names_are_refused(tmp_path):
    text = b"\x80\x02ctorch\nBFloat16Storage\n."
    with pytest.raises(CheckpointError, match=r"torch.BFloat16Storage.*bfloat16"):
        gw.io.load_state_dict_file(torch_like_zip(tmp_path / "a.pt", text))
    text = b"\x80\x02ctorch\nload\n."
    with pytest.raises(CheckpointError, match=r"torch.load"):
        gw.io.load_state_dict_file(torch_like_zip(tmp_path / "b.pt", text))


def read_members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_truncated_files_raise_checkpoint_error(tmp_path):
    raw = Path(fixture("sequential.pt")).read_bytes()
    for cut in [10, 100, len(raw) // 2, len(raw) - 30, len(raw) - 1]:
        path = tmp_path / f"cut{cut}.pt"
        path.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError):
            gw.io.load_state_dict_file(path)


def test_damaged_pickles_and_storages_raise_checkpoint_error(tmp_path):
    members = read_members(fixture("sequential.pt"))
    pkl = next(n for n in members if n.endswith("data.pkl"))
    storage = next(n for n in members if n.endswith("data/0"))
    rng = np.random.default_rng(0)
    for trial in range(40):
        damaged = dict(members)
        data = bytearray(members[pkl])
        for position in rng.integers(0, len(data), 3):
            data[position] = rng.integers(0, 256)
        damaged[pkl] = bytes(data)
        path = write_members(tmp_path / f"d{trial}.pt", damaged)
        try:
            state = gw.io.load_state_dict_file(path)
        except CheckpointError:
            continue
        assert all(isinstance(v, np.ndarray) for v in state.values())  # a harmless change (a key's letter)
    cases = {"short storage": {storage: members[storage][:-4]}, "missing storage": {storage: None},
             "cut pickle": {pkl: members[pkl][: len(members[pkl]) // 2]}, "not a state dict": {pkl: pickle.dumps([1, 2])}}
    for what, change in cases.items():
        damaged = {k: v for k, v in {**members, **change}.items() if v is not None}
        with pytest.raises(CheckpointError):
            gw.io.load_state_dict_file(write_members(tmp_path / "case.pt", damaged))


def integer(n):
    return b"J" + n.to_bytes(4, "little", signed=True)


def one_tensor_pickle(size, stride, offset, numel, storage=b"FloatStorage"):
    """The pickle torch.save writes for {"w": tensor}, by hand: a tensor of ``size`` and ``stride``
    at ``offset`` in a storage "0" of ``numel`` elements."""
    tuple_of = lambda values: b"(" + b"".join(integer(v) for v in values) + b"t"  # noqa: E731
    return (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w"
            b"ctorch._utils\n_rebuild_tensor_v2\n("
            b"(X\x07\x00\x00\x00storagectorch\n" + storage + b"\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
            + integer(numel) + b"tQ" + integer(offset) + tuple_of(size) + tuple_of(stride)
            + b"\x89ccollections\nOrderedDict\n)RtRu.")


def test_hand_made_views_read_what_torch_would(tmp_path):
    data = np.arange(10, dtype=np.float32).tobytes()
    path = torch_like_zip(tmp_path / "v.pt", one_tensor_pickle((2, 3), (1, 3), 1, 10), {"0": data})
    np.testing.assert_array_equal(gw.io.load_state_dict_file(path)["w"], [[1, 4, 7], [2, 5, 8]])


@pytest.mark.parametrize("size, stride, offset, numel, length, message", [
    ((2, 3), (1, 3), 3, 10, 40, "past the end of storage"),
    ((4,), (1,), 0, 10, 36, "should hold 10 float32 values"),
    ((4,), (-1,), 0, 10, 40, "invalid offset, size or stride"),
    ((10 ** 6, 10 ** 3), (0, 0), 0, 1, 4, "far larger than its storage"),
])
def test_views_that_do_not_fit_their_storage_are_refused(tmp_path, size, stride, offset, numel, length, message):
    path = torch_like_zip(tmp_path / "v.pt", one_tensor_pickle(size, stride, offset, numel), {"0": bytes(length)})
    with pytest.raises(CheckpointError, match=message):
        gw.io.load_state_dict_file(path)


def test_other_files_get_a_clear_message(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a weights file"):
        gw.io.load_state_dict_file(tmp_path / "notes.txt")
    with pytest.raises(CheckpointError, match="does not exist"):
        gw.io.load_state_dict_file(tmp_path / "nothing.pt")
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff garbage")
    pytest.importorskip("onnx")
    with pytest.raises(CheckpointError, match="not a readable ONNX"):
        gw.io.load_state_dict_file(tmp_path / "bad.onnx")
