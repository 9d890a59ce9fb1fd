import pytest

import gradwork as gw


@pytest.fixture(autouse=True, params=gw.kernels.PATHS)
def kernel_path(request):
    """Every op test runs twice: on the fast kernels and on the reference (course) versions."""
    with gw.kernels.use(request.param):
        yield request.param
