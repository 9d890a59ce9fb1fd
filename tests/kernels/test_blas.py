"""kernels.blas: ``out (+)= a @ b`` through NumPy's own BLAS, for every layout BLAS reads in place."""
import numpy as np
import pytest

from gradwork.kernels import blas
from tests.helpers import recording_axpy

R = np.random.default_rng(5)

pytestmark = pytest.mark.skipif(
    not blas.available(np.zeros((1, 1), np.float32)),
    reason="NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols (e.g. MKL or Accelerate): "
           "kernels.blas is off and the shifted convolution falls back to its window matrix")


def operand(shape, layout, dtype):
    """A (rows, cols) matrix stored as asked: rows contiguous, a transposed view, a row slice of a bigger
    array, or a strided view BLAS cannot read (which gemm copies)."""
    rows, cols = shape
    if layout == "rows":
        return R.standard_normal(shape).astype(dtype)
    if layout == "transposed":
        return R.standard_normal((cols, rows)).astype(dtype).T
    if layout == "slice":
        return R.standard_normal((rows + 5, cols + 3)).astype(dtype)[2:2 + rows, 1:1 + cols]
    return R.standard_normal((rows, 2 * cols)).astype(dtype)[:, ::2]  # every other column


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout_a", ["rows", "transposed", "slice", "strided"])
@pytest.mark.parametrize("layout_b", ["rows", "transposed", "slice"])
@pytest.mark.parametrize("m, k, n", [(7, 5, 3), (1, 4, 6), (6, 1, 1), (33, 17, 9)])
def test_gemm_equals_matmul(m, k, n, layout_a, layout_b, dtype):
    a, b = operand((m, k), layout_a, dtype), operand((k, n), layout_b, dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    out = np.full((m, n), np.nan, dtype)  # without accumulate, whatever was there is not read
    np.testing.assert_allclose(blas.gemm(a, b, out, accumulate=False), a @ b, **tol)
    start = R.standard_normal((m, n)).astype(dtype)
    out = start.copy()
    blas.gemm(a, b, out, accumulate=True)
    np.testing.assert_allclose(out, start + a @ b, **tol)


def test_gemm_writes_into_a_row_slice_only():
    big = np.zeros((10, 4))
    a, b = R.standard_normal((3, 2)), R.standard_normal((2, 4))
    blas.gemm(a, b, big[4:7], accumulate=True)
    np.testing.assert_allclose(big[4:7], a @ b, rtol=1e-12)
    assert not big[:4].any() and not big[7:].any()


def test_gemm_refuses_mismatched_shapes_and_unwritable_output():
    with pytest.raises(ValueError, match="do not give"):
        blas.gemm(np.ones((2, 3)), np.ones((4, 2)), np.empty((2, 2)), accumulate=False)
    frozen = np.empty((2, 2))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        blas.gemm(np.ones((2, 3)), np.ones((3, 2)), frozen, accumulate=False)


def test_available_only_for_plain_float_arrays_of_one_dtype():
    class Sub(np.ndarray):
        pass

    f32, f64 = np.ones((2, 2), np.float32), np.ones((2, 2))
    assert blas.available(f32, f32) and blas.available(f64)
    assert not blas.available(f32, f64)
    assert not blas.available(np.ones((2, 2), np.int64))
    assert not blas.available(f64.view(Sub))


def test_gemm_refuses_mixed_dtypes():
    """BLAS reads raw memory as the output's dtype: a float32 operand under a float64 output would be
    read as half as many, wrong, numbers (and past its end)."""
    with pytest.raises(TypeError, match="one dtype"):
        blas.gemm(np.ones((2, 3)), np.ones((3, 2), np.float32), np.empty((2, 2)), accumulate=False)


@pytest.mark.parametrize("out_layout", ["rows", "transposed"])
def test_add_product_adds_in_place_whatever_the_layout_of_out(out_layout):
    """BLAS writes rows; an ``out`` stored column by column takes NumPy's product and addition instead."""
    a, b = operand((6, 4), "rows", np.float32), operand((4, 5), "transposed", np.float32)
    out = operand((6, 5), out_layout, np.float32)
    expected = out + a @ b
    blas.add_product(a, b, out)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


BIG = blas.ADD_SCALED_MIN_SIZE  # from this many values on, add_scaled goes through BLAS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [-0.01, 1.0, 2.5])
@pytest.mark.parametrize("shape", [(BIG,), (300, 200), (2, 3, 80, 80)])
def test_add_scaled_equals_numpy_and_goes_through_blas(shape, alpha, dtype, monkeypatch):
    calls = recording_axpy(monkeypatch)
    target, x = R.standard_normal(shape).astype(dtype), R.standard_normal(shape).astype(dtype)
    expected = target + alpha * x
    blas.add_scaled(target, alpha, x)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(target, expected, **tol)
    assert calls == [target.size]


def test_add_scaled_of_an_array_onto_itself(monkeypatch):
    calls = recording_axpy(monkeypatch)
    target = R.standard_normal(BIG)
    expected = 1.5 * target
    blas.add_scaled(target, 0.5, target)
    np.testing.assert_allclose(target, expected, rtol=1e-15)
    assert calls == [BIG]


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # 0·∞, on purpose
def test_add_scaled_by_zero_still_spreads_nan_and_infinity(monkeypatch):
    """0·NaN and 0·∞ are NaN, so ``target += 0 * x`` puts a NaN where x has one (as PyTorch does); BLAS's axpy
    returns at once for α = 0, so α = 0 takes NumPy's addition (a learning rate of 0 at the start of a warm-up)."""
    calls = recording_axpy(monkeypatch)
    x = np.ones(BIG)
    x[[3, 7]] = np.nan, np.inf
    target = np.zeros(BIG)
    blas.add_scaled(target, 0.0, x)
    assert np.isnan(target[[3, 7]]).all() and not np.isnan(np.delete(target, [3, 7])).any()
    assert calls == []


def test_the_scale_may_be_any_real_number_type(monkeypatch):
    calls = recording_axpy(monkeypatch)
    for alpha in (2, np.float64(-0.5), np.float32(0.25), np.int64(3), np.array(1.5)):
        target, x = np.ones(BIG, np.float32), np.full(BIG, 2.0, np.float32)
        blas.add_scaled(target, alpha, x)
        np.testing.assert_array_equal(target, 1 + float(alpha) * 2.0)
    assert len(calls) == 5


def unaligned(size):
    """A writeable float32 array that starts one byte into its buffer (not on a 4-byte boundary)."""
    shifted = np.zeros(4 * size + 1, np.uint8)[1:].view(np.float32)
    shifted[...] = R.standard_normal(size)
    assert not shifted.flags.aligned
    return shifted


def overlapping(dtype):
    base = R.standard_normal(BIG + 7).astype(dtype)
    return base[7:], base[:BIG]  # x starts 7 values before target: BLAS's vector loop would read new values


@pytest.mark.parametrize("case", ["small", "strided", "transposed", "broadcast", "mixed dtypes", "integers",
                                  "overlapping", "subclass", "other byte order", "unaligned"])
def test_add_scaled_takes_numpys_addition_where_blas_cannot(case, monkeypatch):
    """Whatever BLAS cannot take gets NumPy's ``target += alpha * x``: the same numbers, never a call."""
    calls = recording_axpy(monkeypatch)
    f32 = np.float32
    target, x = {
        "small": lambda: (R.standard_normal(BIG - 1).astype(f32), R.standard_normal(BIG - 1).astype(f32)),
        "strided": lambda: (R.standard_normal(2 * BIG).astype(f32)[::2], R.standard_normal(BIG).astype(f32)),
        "transposed": lambda: (R.standard_normal((200, 300)).astype(f32),
                               R.standard_normal((300, 200)).astype(f32).T),
        "broadcast": lambda: (R.standard_normal((BIG, 2)).astype(f32), R.standard_normal(2).astype(f32)),
        "mixed dtypes": lambda: (R.standard_normal(BIG), R.standard_normal(BIG).astype(f32)),
        "integers": lambda: (np.arange(BIG), np.ones(BIG, np.int64)),
        "overlapping": lambda: overlapping(f32),
        "subclass": lambda: (np.ma.masked_array(R.standard_normal(BIG).astype(f32)),
                             R.standard_normal(BIG).astype(f32)),
        "other byte order": lambda: (R.standard_normal(BIG).astype(">f4"), R.standard_normal(BIG).astype(">f4")),
        "unaligned": lambda: (unaligned(BIG), R.standard_normal(BIG).astype(f32)),
    }[case]()
    expected = target + 2 * x
    blas.add_scaled(target, 2, x)
    np.testing.assert_allclose(np.asarray(target), np.asarray(expected), rtol=1e-6)
    assert calls == []


def test_add_scaled_refuses_a_read_only_target_as_numpy_does():
    frozen = np.zeros(BIG)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.add_scaled(frozen, 1.0, np.ones(BIG))
