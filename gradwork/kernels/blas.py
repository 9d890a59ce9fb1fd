"""``C += A·B`` in place, through the BLAS library NumPy itself uses.

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
ship OpenBLAS with 64-bit integers and the symbols ``scipy_cblas_sgemm64_`` / ``scipy_cblas_dgemm64_``.
Where that library is not found (NumPy built on MKL or Accelerate, a GPU array), :func:`available`
says so and the caller keeps its plain NumPy path: the numbers are the same either way.
"""
import ctypes
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums
_SYMBOLS = ("scipy_cblas_{}gemm64_", "cblas_{}gemm64_")  # ILP64 builds only: their integers are 64-bit
_gemm = None  # dtype → the C function, once found; {} when there is none


def _find():
    """The CBLAS gemm functions of NumPy's own BLAS, by dtype; {} if they cannot be found."""
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
                    function = getattr(library, symbol.format(letter), None)
                    if function is None:
                        break
                    i64, i32, pointer = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
                    function.restype = None
                    function.argtypes = [i32, i32, i32, i64, i64, i64, scalar, pointer, i64, pointer, i64, scalar,
                                         pointer, i64]
                    found[np.dtype(dtype)] = function
                if len(found) == 2:
                    return found
    except Exception:  # noqa: BLE001 — any surprise here only means "use the NumPy path"
        pass
    return {}


def available(*arrays):
    """Whether :func:`gemm` can run on these arrays: NumPy's BLAS was found, and every array is a plain
    NumPy float32 or float64 array of one dtype (not a GPU array, not a subclass)."""
    global _gemm
    if _gemm is None:
        _gemm = _find()
    dtype = arrays[0].dtype
    return (bool(_gemm) and dtype in _gemm
            and all(type(a) is np.ndarray and a.dtype == dtype for a in arrays))


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
