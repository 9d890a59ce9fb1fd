"""``C += A·B`` and ``y += α·x`` in place, through the BLAS library NumPy itself uses.

BLAS's ``gemm`` computes C = α·A·B + β·C: with β = 1 it *adds* a product into an existing array,
reading C once as it writes it. NumPy's ``matmul`` has no β, so a sum of products costs a scratch
array and a separate pass: ``np.matmul(a, b, out=scratch); c += scratch``. The shifted convolution
(``kernels/conv_shifted.py``) is nine such products summed into one output, and there the extra passes
are most of the time: the W6 ResNet's 16-channel 28×28 layer, forward, 12.0 ms with the window matrix,
7.8 ms as nine products and additions in NumPy, 4.8 ms with β = 1 (bench/RESULTS.md, 2026-11-30).

Why NumPy's own BLAS and not SciPy's ``scipy.linalg.blas.sgemm``: SciPy's wheel brings a second
OpenBLAS with its own worker threads. After each call OpenBLAS's threads keep spinning for a while,
waiting for more work, so two libraries taking turns on a 2-core machine fight for the cores: a W2
training step ran 4× *slower* with SciPy's gemm inside the convolutions. The same library NumPy
calls has one pool of threads, shared with every ``@`` in the program.

The library is found with threadpoolctl (already a dependency), which lists the BLAS libraries loaded
in this process; the CBLAS function is called with ``ctypes``. NumPy's wheels (Linux, macOS, Windows)
ship OpenBLAS with 64-bit integers and the symbols ``scipy_cblas_sgemm64_`` / ``scipy_cblas_dgemm64_``
(and ``…saxpy64_`` / ``…daxpy64_`` for :func:`add_scaled`).
Where that library is not found (NumPy built on MKL or Accelerate, a GPU array), :func:`available`
says so and the caller keeps its plain NumPy path: the numbers are the same either way.
"""
import ctypes
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums
_SYMBOLS = ("scipy_cblas_{}{}64_", "cblas_{}{}64_")  # ILP64 builds only: their integers are 64-bit
_gemm = None  # dtype → the C function C = α·A·B + β·C, once looked for; {} when there is none
_axpy = None  # dtype → the C function y = α·x + y, once looked for; {} when there is none


def _signatures(scalar):
    """The ctypes argument types of the CBLAS routines used here, for one scalar type."""
    i64, i32, pointer = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    return {"gemm": [i32, i32, i32, i64, i64, i64, scalar, pointer, i64, pointer, i64, scalar, pointer, i64],
            "axpy": [i64, scalar, pointer, i64, pointer, i64]}


def _find(routine):
    """``routine``'s CBLAS functions in NumPy's own BLAS, {dtype: function} for float32 and float64; {} if
    they cannot be found."""
    try:
        from threadpoolctl import threadpool_info
        numpy_home = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
        paths = [lib["filepath"] for lib in threadpool_info()
                 if lib.get("user_api") == "blas" and lib.get("internal_api") == "openblas"
                 and os.path.abspath(lib["filepath"]).startswith(numpy_home)
                 and "numpy" in os.path.relpath(lib["filepath"], numpy_home)]
        for path in paths:
            library = ctypes.CDLL(path)
            for symbol in _SYMBOLS:
                found = {}
                for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
                    function = getattr(library, symbol.format(letter, routine), None)
                    if function is None:
                        break
                    function.restype = None
                    function.argtypes = _signatures(scalar)[routine]
                    found[np.dtype(dtype)] = function
                if len(found) == 2:
                    return found
    except Exception:  # noqa: BLE001 — any surprise here only means "use the NumPy path"
        pass
    return {}


def _plain(arrays, functions):
    """Every array a plain NumPy array (not a GPU array, not a subclass) of one dtype ``functions`` has."""
    dtype = arrays[0].dtype
    return bool(functions) and dtype in functions and all(type(a) is np.ndarray and a.dtype == dtype for a in arrays)


def available(*arrays):
    """Whether :func:`gemm` can run on these arrays: NumPy's BLAS was found, and every array is a plain
    NumPy float32 or float64 array of one dtype (not a GPU array, not a subclass)."""
    global _gemm
    if _gemm is None:
        _gemm = _find("gemm")
    return _plain(arrays, _gemm)


def _operand(matrix):
    """(matrix, transpose flag, leading dimension) for BLAS: a 2-D array is read as it is when its rows
    are contiguous (as stored) or its columns are (a transposed view); anything else is copied first."""
    size = matrix.itemsize
    rows, columns = matrix.shape
    if matrix.strides[1] == size and matrix.strides[0] >= max(columns, 1) * size and matrix.strides[0] % size == 0:
        return matrix, _NO_TRANS, max(matrix.strides[0] // size, 1)
    if matrix.strides[0] == size and matrix.strides[1] >= max(rows, 1) * size and matrix.strides[1] % size == 0:
        return matrix, _TRANS, max(matrix.strides[1] // size, 1)
    matrix = np.ascontiguousarray(matrix)
    return matrix, _NO_TRANS, max(columns, 1)


def gemm(a, b, out, accumulate):
    """``out = a @ b`` or, with ``accumulate``, ``out += a @ b``, in place.

    a (M, K), b (K, N), out (M, N) with contiguous rows (a row slice of a C-ordered array is fine).
    Check :func:`available` first.
    """
    (m, k), n = a.shape, b.shape[1]
    if a.shape[1] != b.shape[0] or out.shape != (m, n):
        raise ValueError(f"gemm: shapes {a.shape} @ {b.shape} do not give {out.shape}")
    if a.dtype != out.dtype or b.dtype != out.dtype:  # BLAS reads raw memory: one dtype for all three
        raise TypeError(f"gemm: a, b and out must share one dtype, got {a.dtype}, {b.dtype} and {out.dtype}")
    if m == 0 or n == 0:
        return out
    if (n > 1 and out.strides[1] != out.itemsize) or (m > 1 and out.strides[0] < n * out.itemsize) \
            or out.strides[0] % out.itemsize or not out.flags.writeable:
        raise ValueError("gemm: out must be writeable with contiguous rows")
    a, trans_a, lda = _operand(a)
    b, trans_b, ldb = _operand(b)
    ldc = out.strides[0] // out.itemsize if m > 1 else n  # one row: its stride means nothing
    _gemm[out.dtype](_ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
                     1.0 if accumulate else 0.0, out.ctypes.data, ldc)
    return out


def add_product(a, b, out):
    """``out += a @ b`` in place: :func:`gemm` with β = 1 where :func:`available` and ``out``'s rows are
    contiguous, else NumPy's (or CuPy's) product and one addition — the same sum, to rounding."""
    if available(a, b, out) and (out.ndim == 2 and out.strides[1] == out.itemsize and out.flags.writeable):
        gemm(a, b, out, accumulate=True)
    else:
        out += a @ b


#: Arrays smaller than this keep NumPy's ``target += alpha * x``: the call through ctypes costs about
#: 3 µs, which the saved pass repays from about 20K values on (measured, float32, best of 5: 8,192 values
#: 2.4 µs in NumPy against 3.6 µs through BLAS, 16,384 3.7 against 4.0, 32,768 5.9 against 4.6).
ADD_SCALED_MIN_SIZE = 1 << 15


def add_scaled(target, alpha, x):
    """``target += alpha·x`` in place — ``gradwork.optim.optimizer.add_scaled``, the step every optimiser
    takes — as BLAS's ``axpy``: one pass that reads both arrays and writes ``target``, on all of BLAS's
    threads. NumPy's ``target += alpha * x`` makes ``alpha * x`` first, a whole temporary written and read
    back. A (256, 784) float32 weight: 39 → 13 µs; (100, 4320), W3's first linear layer, 79 → 27 µs. The
    W1 training step, whose SGD updates were 9% of it, A/B against the reference (``python
    bench/ab_kernel.py gradwork/kernels/blas.py --against reference W1``): 1.08× and 1.13× (medians of
    12 and 16 alternating rounds on a noisy machine); W2 0.98× and 1.00×, W3 1.05× and 1.01×, W4, W6 and
    W7 1.00–1.02× (bench/RESULTS.md, 2026-11-30, session 9). BLAS may compute α·x + y with one rounding
    (a fused multiply-add) where NumPy rounds twice: equal to rounding.

    Where BLAS cannot take the arrays — smaller than ``ADD_SCALED_MIN_SIZE``, another dtype or library, a
    GPU array, not both contiguous and aligned, shapes that broadcast, memory shared between the two — and
    for α = 0 (BLAS would skip x's NaNs) it is NumPy's ``target += alpha * x``.
    """
    global _axpy
    if _axpy is None:
        _axpy = _find("axpy")
    # (OpenBLAS's axpy returns at once for α = 0, where NumPy's 0·x turns a NaN or ∞ of x into a NaN)
    if (x.size >= ADD_SCALED_MIN_SIZE and np.ndim(alpha) == 0 and alpha != 0 and x.shape == target.shape
            and _plain((target, x), _axpy) and target.flags.writeable
            and target.flags.c_contiguous and x.flags.c_contiguous and target.flags.aligned and x.flags.aligned
            and (x is target or not np.may_share_memory(target, x))):
        _axpy[target.dtype](target.size, alpha, x.ctypes.data, 1, target.ctypes.data, 1)
    else:
        target += alpha * x
