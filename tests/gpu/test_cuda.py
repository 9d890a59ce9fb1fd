"""The device checks of tests/backend, run on a real GPU through CuPy (``pytest -m gpu``).

Skipped, with the reason, where CuPy or a GPU is missing (CI, most machines). ``bench/gpu_check.sh``
runs them on a machine with a GPU. Results are compared with the CPU in float64: cuBLAS sums in
another order than NumPy's BLAS, so to rounding (1e-7) rather than bit for bit.
"""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import backend, io, optim

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not backend.cuda_available(),
                                 reason="needs CuPy and an NVIDIA GPU: pip install \"gradwork[cuda]\" on a GPU machine")]

RTOL, ATOL = 1e-7, 1e-9


def on_gpu(array, what):
    import cupy
    assert type(array) is cupy.ndarray, f"{what} fell back to the host: it is a {type(array).__name__}"


@pytest.fixture(params=gw.kernels.PATHS)
def kernel_path(request):
    with gw.kernels.use(request.param):
        yield request.param


def _cases():
    from tests.backend.test_fake_device_ops import CASES
    return CASES


@pytest.mark.parametrize("name", sorted(_cases()))
def test_op_on_the_gpu_equals_cpu_and_stays_there(name, kernel_path):
    from tests.backend.test_fake_device_ops import _run
    function, arrays = _cases()[name]
    cpu_out, cpu_inputs = _run(function, arrays, None)
    out, inputs = _run(function, arrays, "cuda")
    on_gpu(out.data, f"{name}: the output")
    np.testing.assert_allclose(out.numpy(), cpu_out.data, rtol=RTOL, atol=ATOL)
    for k, (x, cpu_x) in enumerate(zip(inputs, cpu_inputs)):
        if cpu_x.grad is not None:
            on_gpu(x.grad, f"{name}: the gradient of input {k}")
            np.testing.assert_allclose(backend.to_host(x.grad), cpu_x.grad, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "adamw", "rmsprop", "adagrad"])
def test_training_on_the_gpu_matches_the_cpu_and_stays_there(name):
    from tests.backend.test_fake_device_training import OPTIMIZERS, train
    cpu_model, _, cpu_losses = train(None, OPTIMIZERS[name])
    model, opt, losses = train("cuda", OPTIMIZERS[name])
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-6)
    for (key, p), cpu_p in zip(model.state_dict().items(), cpu_model.state_dict().values()):
        on_gpu(p, key)
        np.testing.assert_allclose(backend.to_host(p), cpu_p, rtol=1e-6, atol=1e-9)
    for p in model.parameters():
        on_gpu(p.grad, "a gradient")
        for key, value in opt.state[p].items():
            if hasattr(value, "shape"):
                on_gpu(value, f"optimiser state {key}")


def test_dropout_on_the_gpu_draws_there_and_repeats_after_manual_seed():
    x = gw.ones(100, 100, device="cuda", requires_grad=True)
    gw.manual_seed(1)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    on_gpu(y.data, "the dropout mask's output")
    on_gpu(x.grad, "dropout's gradient")
    gw.manual_seed(1)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), y.numpy())
    assert 0.45 < (y.numpy() > 0).mean() < 0.55


def test_checkpoint_from_the_gpu_loads_on_the_cpu(tmp_path):
    from tests.backend.test_fake_device_training import small_cnn
    model = small_cnn().to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(gw.randn(2, 1, 6, 6, device="cuda")), [0, 2]).backward()
    opt.step()
    io.save(model, tmp_path / "m.safetensors", optimizer=opt)
    cpu_model = small_cnn()
    io.load(tmp_path / "m.safetensors", cpu_model)
    for p, q in zip(model.state_dict().values(), cpu_model.state_dict().values()):
        np.testing.assert_array_equal(backend.to_host(p), q)
    back = small_cnn().to("cuda")
    io.load(tmp_path / "m.safetensors", back)
    for p in back.state_dict().values():
        on_gpu(p, "a loaded weight")


def test_mixing_devices_names_both():
    with pytest.raises(gw.errors.DeviceError, match="cpu and cuda:0"):
        gw.ones(2) + gw.ones(2, device="cuda")
