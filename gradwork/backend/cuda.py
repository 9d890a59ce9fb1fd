"""The CUDA device kind: CuPy arrays on NVIDIA GPUs.

Imported only when a CUDA device is first asked for (``Device("cuda")``, ``tensor.to("cuda")``,
``cuda_available()``), never by ``import gradwork``. CuPy is the optional extra ``gradwork[cuda]``
(``pip install "gradwork[cuda]"`` installs ``cupy-cuda12x``; a CUDA 13 machine takes ``cupy-cuda13x``).
CuPy follows NumPy's API, so the ops run unchanged on its arrays; this file only supplies what NumPy's
API does not say: moving arrays between host and GPU, a scatter-add, and a seeded generator per GPU.
"""
from gradwork.backend.device import DeviceKind
from gradwork.errors import DeviceError, MissingExtraError

INSTALL = 'pip install "gradwork[cuda]" (CuPy for CUDA 12; for CUDA 13: pip install cupy-cuda13x)'


class CudaKind(DeviceKind):
    name = "cuda"

    def __init__(self, cupy, cupyx):
        self.xp, self._cupyx = cupy, cupyx
        self.array_types = (cupy.ndarray,)

    def device_count(self):
        return self.xp.cuda.runtime.getDeviceCount()

    def index_of(self, array):
        return array.device.id

    def to_device(self, host_array, index):
        with self.xp.cuda.Device(index):
            return self.xp.asarray(host_array)

    def to_host(self, array):
        return array.get()

    def scatter_add(self, target, index, values):
        self._cupyx.scatter_add(target, index, values)  # atomicAdd: NumPy's np.add.at on the GPU

    def make_rng(self, seed, index):
        with self.xp.cuda.Device(index):
            return CupyGenerator(self.xp.random.RandomState(seed), self.xp)


class CupyGenerator:
    """NumPy ``Generator``'s method names over CuPy's ``RandomState`` (cuRAND), whose methods and dtype
    arguments are documented in every CuPy release: draws are made on the GPU, in the asked dtype."""

    def __init__(self, state, cupy):
        self._state, self._cupy = state, cupy

    def random(self, size=None, dtype=float):
        return self._state.random_sample(size, dtype=dtype)

    def standard_normal(self, size=None, dtype=float):
        return self._state.standard_normal(size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._state.uniform(low, high, size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._state.normal(loc, scale, size)

    def integers(self, low, high=None, size=None, dtype="int64"):
        return self._state.randint(low, high, size, dtype=dtype)

    def permutation(self, n):
        return self._state.permutation(n)


def load_kind():
    """The CUDA kind, or a clear error naming what is missing."""
    try:
        import cupy
        import cupyx
    except ImportError as error:
        raise MissingExtraError(f"device 'cuda' needs CuPy, which is not installed ({error}): {INSTALL}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError (no driver, no device) — its class lives in a compiled module
        raise DeviceError(f"device 'cuda': CuPy is installed but finds no usable GPU ({error}); "
                          "use device='cpu', or 'auto' to take a GPU only when there is one") from None
    if count == 0:
        raise DeviceError("device 'cuda': CuPy is installed but finds no GPU; use device='cpu' or 'auto'")
    return CudaKind(cupy, cupyx)
