"""Checkpoints: exact round trips, optimizer state, atomic writes, corrupt files."""
import json
import os

import numpy as np
import pytest

import gradwork as gw
from gradwork import io, models, optim
from gradwork.errors import CheckpointError


def trained_model_and_optimizer():
    model = models.MLP([6, 5, 3], dropout=0.1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = gw.randn(8, 6)
    for _ in range(3):
        opt.zero_grad()
        gw.nn.functional.cross_entropy(model(x), np.arange(8) % 3).backward()
        opt.step()
    return model, opt


def test_round_trip_is_exact(tmp_path):
    model, opt = trained_model_and_optimizer()
    path = tmp_path / "m.safetensors"
    io.save(model, path, optimizer=opt, epoch=3, note="hello", sizes=[6, 5, 3])
    fresh = models.MLP([6, 5, 3], dropout=0.1)
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.01)
    checkpoint = io.load(path, model=fresh, optimizer=fresh_opt)
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype
    assert checkpoint.epoch == 3 and checkpoint.metadata == {"note": "hello", "sizes": [6, 5, 3]}
    for p, q in zip(model.parameters(), fresh.parameters()):
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt.state[p][key], fresh_opt.state[q][key])
        assert fresh_opt.state[q]["step"] == 3
    assert fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_weights_keep_pytorch_names_in_the_file(tmp_path):
    from safetensors.numpy import load_file

    model = models.MLP([4, 3, 2])
    io.save(model, tmp_path / "m.safetensors")
    assert sorted(load_file(tmp_path / "m.safetensors")) == ["layers.0.bias", "layers.0.weight",
                                                              "layers.2.bias", "layers.2.weight"]


def test_truncated_file_is_rejected_clearly(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = tmp_path / "m.safetensors"
    io.save(model, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint \\(truncated or corrupt"):
        io.load(path)


def test_garbage_and_missing_files_are_rejected_clearly(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x00" * 3)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        io.load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        io.load(tmp_path / "nothing.safetensors")


def test_safetensors_file_from_elsewhere_is_named_as_such(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a gradwork checkpoint"):
        io.load(tmp_path / "other.safetensors")


def test_loading_into_another_architecture_names_the_keys(tmp_path):
    io.save(models.MLP([4, 3, 2]), tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match=r"layers.0.weight: checkpoint \(3, 4\) vs model \(7, 4\)"):
        io.load(tmp_path / "m.safetensors", model=models.MLP([4, 7, 2]))


def test_loading_optimizer_state_into_another_optimizer_type_is_rejected(tmp_path):
    model, opt = trained_model_and_optimizer()
    io.save(model, tmp_path / "m.safetensors", optimizer=opt)
    with pytest.raises(CheckpointError, match="Adam optimizer, not of a SGD"):
        io.load(tmp_path / "m.safetensors", optimizer=optim.SGD(model.parameters(), lr=0.1))


def test_failed_write_leaves_no_file_behind(tmp_path):
    model = models.MLP([4, 3, 2])
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="JSON-serialisable"):
        io.save(model, path, bad=object())
    assert os.listdir(tmp_path) == []


def test_overwriting_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(models.MLP([4, 3, 2]), path, version=1)
    io.save(models.MLP([4, 3, 2]), path, version=2)
    assert io.load(path).metadata["version"] == 2
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_no_pickle_in_the_file(tmp_path):
    model, opt = trained_model_and_optimizer()
    io.save(model, tmp_path / "m.safetensors", optimizer=opt)
    raw = (tmp_path / "m.safetensors").read_bytes()
    header_length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_length])
    assert all(v["dtype"] in ("F32", "F64", "I64") for k, v in header.items() if k != "__metadata__")


def test_written_files_get_the_usual_permissions_not_private_ones(tmp_path):
    import os
    import stat

    from gradwork import _files

    _files.write_bytes(tmp_path / "f.bin", b"data")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "f.bin").st_mode) == 0o666 & ~mask


def test_a_stale_temporary_of_a_dead_writer_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".m.safetensors.{finished.stdout.strip()}.abc123.tmp"
    alive = tmp_path / f".m.safetensors.{os.getppid()}.def456.tmp"  # a running process: maybe still writing
    unrelated = tmp_path / ".other.safetensors.1.x.tmp"
    for path in (dead, alive, unrelated):
        path.write_bytes(b"half a file")
    io.save(models.MLP([4, 3, 2]), tmp_path / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, unrelated.name, "m.safetensors"])
    assert io.load(tmp_path / "m.safetensors").epoch is None


def test_model_checkpoint_saves_an_epoch_whose_monitored_value_is_not_finite(tmp_path):
    from gradwork.train.callbacks import FitState, ModelCheckpoint

    model, opt = trained_model_and_optimizer()
    callback = ModelCheckpoint(tmp_path / "m.safetensors", monitor="val_loss", save_best_only=False)
    state = FitState(model, opt, None, 3, 1)
    state.epoch = 0
    callback.on_epoch_end(state, {"val_loss": float("nan")})
    checkpoint = io.load(tmp_path / "m.safetensors")
    assert checkpoint.epoch == 1 and checkpoint.metadata == {"val_loss": None}


def test_a_batchnorm_model_round_trips_with_its_0d_counter(tmp_path):
    model = gw.nn.Sequential(gw.nn.Conv2d(1, 2, 3), gw.nn.BatchNorm2d(2))
    gw.save(model, tmp_path / "bn.safetensors")
    again = gw.nn.Sequential(gw.nn.Conv2d(1, 2, 3), gw.nn.BatchNorm2d(2))
    gw.load(tmp_path / "bn.safetensors", model=again)
    assert again.state_dict()["1.num_batches_tracked"].shape == ()
