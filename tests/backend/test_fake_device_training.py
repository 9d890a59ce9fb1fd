"""Models, optimisers, data loading and checkpoints on the fake device (see fake_device.py): a training
run on the device gives the CPU's numbers, and every parameter, gradient and optimiser state stays there."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import backend, data, io, nn, optim
from gradwork.errors import DeviceError, MissingExtraError
from tests.backend.fake_device import FakeDeviceArray, assert_on_fake, host


@pytest.fixture(autouse=True)
def convolutions_on_the_devices_path(monkeypatch):
    """A device array never reaches NumPy's BLAS through ctypes (kernels/blas.py), so on the device a
    stride-1 convolution uses the window matrix rather than the CPU's shifted products: the same
    numbers to rounding, but these tests compare to 1e-10, through optimisers (Adagrad) that magnify
    rounding. The CPU runs here take the device's path too (and the optimisers' NumPy update, not BLAS's axpy,
    and BatchNorm's NumPy kernel, not its compiled loops, whose float64 running totals round differently)."""
    from gradwork.kernels import blas, jit
    monkeypatch.setattr(blas, "_gemm", {})
    monkeypatch.setattr(blas, "_axpy", {})
    monkeypatch.setattr(jit, "_enabled", False)


def small_cnn():
    gw.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.AvgPool2d(1), nn.Flatten(), nn.Linear(6, 16), nn.GELU(),
                         nn.LayerNorm(16), nn.Linear(16, 3))


def batches():
    rng = np.random.default_rng(5)
    return [(rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 3, 8)) for _ in range(3)]


OPTIMIZERS = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda p: optim.Adagrad(p, lr=1e-2),
}


def train(device, make_optimizer):
    model = small_cnn().double()
    if device is not None:
        model.to(device)
    opt = make_optimizer(model.parameters())
    losses = []
    for x, y in batches():
        x = gw.tensor(x, device=device)
        loss = F.cross_entropy(model(x), y)  # labels on the host: moved beside the logits
        opt.zero_grad()
        loss.backward()
        gw.optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return model, opt, losses


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_on_the_fake_device_matches_the_cpu_and_stays_on_it(fake_device, name):
    cpu_model, _, cpu_losses = train(None, OPTIMIZERS[name])
    model, opt, losses = train(fake_device, OPTIMIZERS[name])
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-10)
    for (key, p), cpu_p in zip(model.state_dict().items(), cpu_model.state_dict().values()):
        assert_on_fake(p, key)
        np.testing.assert_allclose(host(p), cpu_p, rtol=1e-9, atol=1e-12)
    for p in model.parameters():
        assert_on_fake(p.grad, "a gradient")
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert_on_fake(value, f"optimiser state {key}")


def test_module_to_moves_in_place_keeping_the_parameter_objects(fake_device):
    model = small_cnn()
    params = list(model.parameters())
    assert model.to(fake_device) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(type(t.data) is FakeDeviceArray for t in list(model.parameters()) + list(model.buffers()))
    assert model.to("cpu") is model and all(type(p.data) is np.ndarray for p in model.parameters())


def test_optimizer_state_follows_with_optimizer_to_and_load_state_dict(fake_device):
    model = small_cnn()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(gw.randn(2, 1, 6, 6)), [0, 1]).backward()
    opt.step()
    model.to(fake_device)
    assert opt.to(fake_device) is opt
    assert all(type(s["exp_avg"]) is FakeDeviceArray for s in opt.state.values())
    fresh = optim.Adam(model.parameters(), lr=1e-3)
    fresh.load_state_dict({"state": {i: {k: host(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                                     for i, s in opt.state_dict()["state"].items()},
                           "param_groups": opt.state_dict()["param_groups"]})
    assert all(type(s["exp_avg_sq"]) is FakeDeviceArray for s in fresh.state.values())


def test_a_gradient_on_another_device_than_its_parameter_is_refused_at_step(fake_device):
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    F.mse_loss(layer(gw.ones(4, 3)), np.zeros((4, 2), np.float32)).backward()
    layer.to(fake_device)  # moved between backward and step: the gradients moved too, so this is fine
    opt.step()
    layer.weight.grad = np.ones((2, 3), np.float32)
    with pytest.raises(DeviceError, match="gradient is on cpu"):
        opt.step()


def test_to_is_differentiable_back_to_the_cpu(fake_device):
    w = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w.to(fake_device) ** 2).sum()
    loss.backward()
    assert type(w.grad) is np.ndarray
    np.testing.assert_allclose(w.grad, [2.0, 4.0, 6.0])
    assert w.to(fake_device).cpu().device == "cpu"


def test_dataloader_hands_batches_to_the_device(fake_device):
    dataset = data.ArrayDataset(np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10))
    loader = data.DataLoader(dataset, batch_size=4, shuffle=True, device=fake_device)
    seen = []
    for x, y in loader:
        assert_on_fake(x, "inputs")
        assert_on_fake(y, "labels")
        seen.extend(host(y).tolist())
    assert sorted(seen) == list(range(10))


def test_checkpoint_saved_on_the_device_loads_on_the_cpu_and_back(fake_device, tmp_path):
    model = small_cnn().to(fake_device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(gw.randn(2, 1, 6, 6, device=fake_device)), [0, 2]).backward()
    opt.step()
    io.save(model, tmp_path / "m.safetensors", optimizer=opt, epoch=1)
    cpu_model = small_cnn()
    io.load(tmp_path / "m.safetensors", cpu_model)
    for (key, p), q in zip(model.state_dict().items(), cpu_model.state_dict().values()):
        assert type(q) is np.ndarray
        np.testing.assert_array_equal(host(p), q, err_msg=key)
    again = small_cnn().to(fake_device)
    again_opt = optim.Adam(again.parameters(), lr=1e-3)
    io.load(tmp_path / "m.safetensors", again, again_opt)
    assert all(type(v) is FakeDeviceArray for v in again.state_dict().values())
    assert all(type(s["exp_avg"]) is FakeDeviceArray for s in again_opt.state.values())


def test_tensor_device_api(fake_device):
    t = gw.arange(6, device=fake_device).reshape(2, 3)
    assert t.device == backend.Device(fake_device) and str(t.device) == "fake:0"
    assert type(t.numpy()) is np.ndarray and t.numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert "device='fake:0'" in repr(t)
    assert (t + 1).device == t.device and (2 * t.float()).device == t.device
    assert t.to("cpu").device == "cpu" and t.to(fake_device) is t
    assert gw.zeros_like(t).device == t.device
    assert np.asarray(t).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_get_array_module_is_numpy_for_host_values_and_the_device_module_otherwise(fake_device):
    assert backend.get_array_module(np.ones(2), 3.0, None) is np
    fake = gw.ones(2, device=fake_device).data
    assert backend.get_array_module(np.ones(2), fake) is backend.Device(fake_device).xp


def test_devices_are_named_as_in_pytorch():
    assert str(backend.Device("cuda")) == "cuda:0" and backend.Device("cuda:1").index == 1
    assert backend.Device("cpu") == "cpu" and repr(backend.Device("cuda:2")) == "device(type='cuda', index=2)"
    with pytest.raises(gw.errors.ConfigError, match="unknown device 'tpu'"):
        backend.Device("tpu")


@pytest.mark.skipif(backend.cuda_available(), reason="this machine has a GPU")
def test_cuda_without_cupy_or_gpu_says_how_to_install_the_extra():
    with pytest.raises((MissingExtraError, DeviceError), match="gradwork\\[cuda\\]|no usable GPU|finds no GPU"):
        gw.ones(2).to("cuda")
    assert backend.Device("auto") == "cpu"


def test_fit_evaluate_and_predict_move_host_batches_to_the_model_device(fake_device):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((40, 1, 6, 6)), rng.integers(0, 3, 40)

    def run(device):
        model = small_cnn().double()
        if device is not None:
            model.to(device)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        history = gw.train.fit(model, (x, y), loss="cross_entropy", optimizer=opt, epochs=2, batch_size=8,
                               shuffle=False, verbose=0, val_data=(x[:16], y[:16]))
        return model, history, gw.train.evaluate(model, (x, y)), gw.train.predict(model, x)

    cpu_model, cpu_history, cpu_results, cpu_outputs = run(None)
    model, history, results, outputs = run(fake_device)
    np.testing.assert_allclose(history.history["loss"], cpu_history.history["loss"], rtol=1e-10)
    assert results == pytest.approx(cpu_results, rel=1e-10)
    assert type(outputs) is np.ndarray  # predictions come back to the host
    np.testing.assert_allclose(outputs, cpu_outputs, rtol=1e-9)
    for key, p in model.state_dict().items():
        assert_on_fake(p, key)


@pytest.mark.skipif(backend.cuda_available(), reason="this machine has a GPU")
def test_train_command_on_a_missing_gpu_is_one_line_and_leaves_no_folder(tmp_path, capsys):
    from gradwork.cli.main import main
    out = tmp_path / "run"
    assert main(["train", "--device", "cuda", "--model", "mlp", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gradwork train: error:") and "\n" not in err and "cuda" in err
    assert not out.exists()
    assert main(["train", "--device", "tpu", "--model", "mlp", "--epochs", "1", "--out", str(out)]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_data_parallel_training_refuses_a_model_on_a_device(fake_device):
    from gradwork.distributed.data_parallel import DataParallelRun
    model = small_cnn().to(fake_device)
    with pytest.raises(gw.errors.ConfigError, match="runs on CPUs only.*0.weight is on fake"):
        DataParallelRun(model, data.DataLoader((np.zeros((4, 1, 6, 6)), np.zeros(4, np.int64)), batch_size=2))


def test_lbfgs_history_moves_with_optimizer_to(fake_device):
    gw.manual_seed(0)
    w = nn.Parameter(np.array([1.0, -2.0, 0.5]))
    opt = optim.LBFGS([w], lr=1.0, max_iter=3, history_size=4)

    def closure():
        opt.zero_grad()
        loss = ((w - gw.tensor(np.array([0.3, 0.1, -0.2]))) ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    state = opt.state[w]
    assert state["old_dirs"], "the test needs a history to move"
    opt.to(fake_device)
    for key in ("old_dirs", "old_stps"):
        for item in state[key]:
            assert_on_fake(item, f"L-BFGS {key}")
    assert_on_fake(state["d"], "L-BFGS direction")


@pytest.mark.parametrize("layer", [lambda: nn.GraphConv(3, 4), lambda: nn.GraphAttention(3, 2, heads=2),
                                   lambda: nn.ChebConv(3, 4, K=3), lambda: nn.ChebConv(3, 4, K=2, normalization="rw")],
                         ids=["gcn", "gat", "cheb-sym", "cheb-rw"])
def test_graph_layers_build_their_graph_on_the_device_of_the_features(fake_device, layer):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    upper = np.triu(rng.random((5, 5)) > 0.5, 1)
    adjacency = (upper | upper.T).astype(float)
    results = []
    for device in (None, fake_device):
        gw.manual_seed(0)
        module = layer().double()
        if device is not None:
            module.to(device)
        features = gw.tensor(x, requires_grad=True, device=device)
        kwargs = {"lambda_max": 2.0} if getattr(module, "normalization", "sym") != "sym" else {}
        out = module(features, adjacency, **kwargs)  # the adjacency given on the host either way
        out.sum().backward()
        results.append((out.data, features.grad, module.weight.grad if hasattr(module, "weight")
                        else module.lins[1].weight.grad))
    for cpu, fake in zip(*results):
        assert_on_fake(fake)
        np.testing.assert_allclose(host(fake), cpu, rtol=1e-12, atol=1e-12)


def test_evaluation_mode_batch_norm_on_the_fake_device_matches_the_cpu(fake_device):
    """Evaluation's batch norm (running statistics, one fused op on the fast path) computes on the device,
    its gradients stay there, and the numbers are the CPU's."""
    model = small_cnn().double()
    for x, _ in batches():
        model(gw.tensor(x))  # running statistics that are not the initial 0 and 1
    model.eval()
    x = batches()[0][0]
    cpu_t = gw.tensor(x, requires_grad=True)
    cpu_out = model(cpu_t)
    cpu_out.sum().backward()
    cpu_grads = (cpu_t.grad.copy(), model[1].weight.grad.copy(), model[1].bias.grad.copy())
    model.zero_grad()
    model.to(fake_device)
    t = gw.tensor(x, device=fake_device, requires_grad=True)
    out = model(t)
    assert_on_fake(out.data, "the output")
    np.testing.assert_allclose(host(out.data), cpu_out.data, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    for grad, cpu_grad, what in zip((t.grad, model[1].weight.grad, model[1].bias.grad), cpu_grads,
                                    ("the input's gradient", "BatchNorm's weight gradient", "its bias gradient")):
        assert_on_fake(grad, what)
        np.testing.assert_allclose(host(grad), cpu_grad, rtol=1e-10, atol=1e-12, err_msg=what)
