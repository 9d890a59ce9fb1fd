"""bench/numpy_floor.py's hand-written MLP step computes what gradwork computes, so the ceiling it
measures is the ceiling of the same work."""
import importlib.util
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")


@pytest.fixture(scope="module")
def numpy_floor(monkeypatch_module):
    monkeypatch_module.setenv("GRADWORK_BENCH_NO_TORCH", "1")  # bench/run.py then leaves PyTorch alone
    monkeypatch_module.syspath_prepend(BENCH)
    already = set(sys.modules)
    spec = importlib.util.spec_from_file_location("numpy_floor", os.path.join(BENCH, "numpy_floor.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for name in ("run", "arguments"):  # bench's top-level modules, loaded here with PyTorch off
        if name not in already:
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_hand_written_step_has_gradworks_gradients(numpy_floor):
    numpy_floor.check_same_work(batch=16)


def test_hand_written_forward_has_gradworks_outputs(numpy_floor):
    import gradwork as gw
    model = numpy_floor.run.gradwork_mlp().eval()
    x = numpy_floor.run.mlp_data(8)[0]
    with gw.no_grad():
        expected = model(gw.tensor(x)).numpy()
    logits, _ = numpy_floor.forward(numpy_floor.weights_of(model), x)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_hand_written_step_updates_by_sgd(numpy_floor):
    layers = numpy_floor.weights_of(numpy_floor.run.gradwork_mlp())
    before = [(w.copy(), b.copy()) for w, b in layers]
    x, y = numpy_floor.run.mlp_data(16)
    grads = numpy_floor.train_step(layers, x, y, lr=0.5)
    for (w, b), (w0, b0), (g_w, g_b) in zip(layers, before, grads):
        np.testing.assert_allclose(w, w0 - 0.5 * g_w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(b, b0 - 0.5 * g_b, rtol=1e-6, atol=1e-7)


def test_a_wrong_gradient_is_caught(numpy_floor, monkeypatch):
    real = numpy_floor.train_step

    def off_by_a_factor(*args, **kwargs):
        return [(2 * g_w, g_b) for g_w, g_b in real(*args, **kwargs)]

    monkeypatch.setattr(numpy_floor, "train_step", off_by_a_factor)
    with pytest.raises(AssertionError):
        numpy_floor.check_same_work(batch=16)
