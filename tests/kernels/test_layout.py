"""kernels.layout's per-channel reductions against NumPy's plain reductions."""
import numpy as np
import pytest

from gradwork.kernels.layout import column_dots, column_sums, row_maxima, row_sums

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


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("shape", [(1, 1), (31, 10), (32, 10), (128, 1), (128, 32), (128, 33), (1000, 10), (3, 500)])
def test_row_maxima_are_numpys_bit_for_bit(shape, dtype):
    """Both ways of taking them (a transposed copy for many short rows, ``max(axis=1)`` otherwise) give
    NumPy's maxima exactly, NaN and ±∞ included, also for a strided view."""
    a = (R.standard_normal(shape) * 100).astype(dtype)
    if dtype != np.int64:
        flat = a.reshape(-1)
        flat[R.integers(0, a.size, size=max(1, a.size // 20))] = np.nan
        flat[R.integers(0, a.size, size=max(1, a.size // 20))] = np.inf
        flat[R.integers(0, a.size, size=max(1, a.size // 20))] = -np.inf
    np.testing.assert_array_equal(row_maxima(a), a.max(axis=1))
    view = np.concatenate([a, a], axis=1)[:, ::2]
    np.testing.assert_array_equal(row_maxima(view), view.max(axis=1))
    assert row_maxima(a).dtype == dtype


def test_row_maxima_of_empty_rows_fail_as_numpys():
    for rows in (3, 64):
        with pytest.raises(ValueError, match="zero-size"):
            row_maxima(np.zeros((rows, 0), np.float32))
    assert row_maxima(np.zeros((0, 5), np.float32)).shape == (0,)
