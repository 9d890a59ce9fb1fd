import pytest

import gradwork as gw
from gradwork.kernels import blas


@pytest.fixture(autouse=True, params=gw.kernels.PATHS)
def kernel_path(request, monkeypatch):
    """Every optimiser test runs twice: with the update's fast kernel (BLAS's axpy, ``kernels.blas.add_scaled``)
    and with the course's ``target += alpha * x``. On the fast path the size from which the kernel takes
    over is lowered to one value, so that the small parameters of these tests go through BLAS too."""
    if request.param == "fast":
        monkeypatch.setattr(blas, "ADD_SCALED_MIN_SIZE", 1)
    with gw.kernels.use(request.param):
        yield request.param
