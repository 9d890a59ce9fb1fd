"""kernels.layout's per-channel reductions against NumPy's plain reductions."""
import numpy as np
import pytest

from gradwork.kernels.layout import column_dots, column_sums, row_sums

R = np.random.default_rng(21)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (4096, 16), (300, 64)])
def test_column_and_row_reductions_are_numpys(shape, dtype):
    a, b = R.standard_normal(shape).astype(dtype), R.standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(column_sums(a), a.sum(axis=0), **tol)
    np.testing.assert_allclose(row_sums(a), a.sum(axis=1), **tol)
    np.testing.assert_allclose(column_dots(a, b), (a * b).sum(axis=0), **tol)
    assert column_dots(a, b).dtype == dtype


def test_column_dots_of_a_view_and_a_transposed_array():
    a = R.standard_normal((6, 10))[:, ::2]  # strided columns
    b = np.asfortranarray(R.standard_normal((6, 5)))
    np.testing.assert_allclose(column_dots(a, b), (a * b).sum(axis=0), rtol=1e-12)
