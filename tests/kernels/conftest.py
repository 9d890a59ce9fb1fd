import pytest

from gradwork.kernels import jit


@pytest.fixture(params=["compiled loops", "NumPy"])
def kernel_version(request):
    """Runs a test twice: with the compiled loops of ``kernels/jit.py`` (Numba) and with the NumPy versions
    of the same fast kernels. Without Numba the compiled run is skipped, saying so."""
    compiled = request.param == "compiled loops"
    if compiled and jit._numba() is None:
        pytest.skip('Numba is not installed (pip install "gradwork[jit]") or NUMBA_DISABLE_JIT is set: '
                    "the compiled loops are not tested")
    previous = jit.enable(compiled)
    yield request.param
    jit.enable(previous)
