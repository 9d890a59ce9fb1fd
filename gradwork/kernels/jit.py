"""Compiled loops: a few fast kernels written as plain loops over array elements and compiled to
machine code by Numba, when it is installed (``pip install "gradwork[jit]"``).

Why loops: NumPy runs one loop per operation over whole arrays. An op that NumPy can only express as
several passes — a max-pool window walked position by position, a gradient routed to each window's
winner one position at a time — reads and writes memory once per pass, and when the innermost run of
a pass is short (the C channels of a channels-last image) NumPy's per-run overhead dominates. Compiled,
the same op is one pass in the order memory is laid out, with the arithmetic vectorised by the compiler:
max-pool 2×2 forward with winners on a 128 × 16 × 28 × 28 float32 batch 1.46 → 0.13 ms, its backward
1.02 → 0.20 ms (bench/RESULTS.md, 2026-11-30, session 10).

Numba is optional. Without it — or with :func:`enable` ``(False)`` — every fast kernel runs its NumPy
version; ``tests/kernels`` checks both against the reference ops. (The compiled loops match the
reference even where the NumPy max-pool kernel does not: a window holding NaN, an infinite gradient.)
Numba is imported only when a compiled loop first runs, so ``import gradwork`` stays as light as before;
with ``NUMBA_DISABLE_JIT=1`` it counts as absent.

A loop is written as a *maker*: a Python function taking the loop's constants (a window's height and
width, a flag) and returning the loop. Numba compiles each loop once per set of constants and argument
types, with the constants built in (the 2 × 2 window loops are then unrolled: 4–10× faster than the same
loop with the sizes as arguments; where that gains nothing, as for the other windows, the sizes are
arguments and one compilation serves them all), and keeps the machine code on disk next to this package
(``__pycache__``), so later processes do not compile again. Compiled loops release Python's global
lock, so ``kernels.threads`` can run them on several cores at once, each on its own rows. Division
follows NumPy's rules (``error_model="numpy"``: x/0 is ±inf or NaN, not an exception), as the NumPy
versions they replace do (but ``np.errstate`` does not reach inside a compiled loop: an overflow or a 0·∞
there gives its IEEE result without NumPy's warning or, under ``errstate(…="raise")``, its exception), and the compiler keeps IEEE arithmetic (no fast-math), so each operation
rounds as NumPy's does: max pooling and SparseAdam give NumPy's numbers bit for bit; batch
normalisation keeps its running totals in float64 (for float32 input more exact than the NumPy
kernel's float32 sums; equal to rounding). One exception, marked where it is made
(:func:`reassociating`): layer norm's and the softmaxes' loops let the compiler regroup their sums along a row, which
otherwise run one addition at a time (equal to rounding: layer norm's sums run in float64, the softmaxes' in
float32 blocks of 256 values whose totals are added in float64 — ``softmax_loops.row_sum``). GELU's, sigmoid's, SiLU's and the softmaxes'
loops compute e^x with a polynomial of their own, within an ulp of NumPy's: equal to rounding.

The loops: ``pooling_loops.py`` (max and average pooling), ``sparse_adam.py`` (SparseAdam's row update),
``normalization_loops.py`` (batch normalisation, in training and in evaluation), ``layer_norm_loops.py``
(layer normalisation), ``conv_depthwise.py`` (depthwise convolution), ``activation_loops.py`` (GELU,
sigmoid and SiLU in float32, with an exponential of their own that the compiler vectorises: the C
library's, which ``math.exp`` calls, runs one element at a time; and ReLU's backward), ``softmax_loops.py``
(softmax, log-softmax and cross-entropy along float32 rows, with that exponential).
"""
import functools

import numpy as np

_enabled = True


def available():
    """Whether compiled loops run: Numba imports and they are not switched off with :func:`enable`."""
    return _enabled and _numba() is not None


def runs_on(*arrays):
    """Whether compiled loops run on these arrays: every array is a NumPy array of float32 or float64 in
    this machine's byte order (the types they are compiled for), and the loops are :func:`available`
    (checked last, so that arrays they would not take never import Numba)."""
    return all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64) for a in arrays) and available()


def enable(on=True):
    """Switch the compiled loops on (the default when Numba is installed) or off (``False``: the NumPy
    kernels run instead). Returns the previous setting. The setting is the whole process's (unlike
    ``kernels.use``, which is per thread): it is meant for comparing the two versions, not for mixing them."""
    global _enabled
    previous, _enabled = _enabled, bool(on)
    return previous


def numba_version():
    """The installed Numba's version, or None without it."""
    try:
        import numba
    except ImportError:
        return None
    return numba.__version__


@functools.cache
def _numba():
    try:
        import numba
    except ImportError:  # not installed, or built for another NumPy: the NumPy kernels run
        return None
    if numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1: the loops would run as Python, pixel by pixel
        return None
    return numba


@functools.cache
def compiled(maker, *constants):
    """The loop ``maker(*constants)`` returns — its constants are a window's sizes, a flag — compiled by
    Numba (on first call, per argument types) with them built in; the compiled loop is kept, so each
    (maker, constants) is compiled once."""
    njit = _numba().njit
    # Numba's disk cache is keyed on the loop's source file (its time stamp and size), its constants and
    # argument types — not on these options: whoever changes them must also change (or touch) the files of
    # the loops, or old machine code compiled with the old options is loaded from __pycache__.
    options = dict(nogil=True, error_model="numpy", fastmath={"reassoc"} if getattr(maker, "reassociates", False)
                   else False)
    try:
        return njit(cache=True, **options)(maker(*constants))
    except RuntimeError:  # no writable cache anywhere (beside the package nor in the user's cache folder)
        return njit(**options)(maker(*constants))


def reassociating(maker):
    """Mark a loop maker whose sums the compiler may regroup (LLVM's ``reassoc`` flag, and no other
    fast-math flag: NaN and infinities keep their IEEE meaning). A sum along a row is a chain of dependent
    additions that, compiled as written, runs one addition at a time; allowed to reassociate, the compiler
    keeps several partial sums in vector registers and adds them at the end — the same additions in
    another order, so the result changes by rounding only. For loops whose sums run along contiguous memory
    (layer norm's and the softmaxes' rows); the batch-norm loops need no such permission (their per-column totals are
    independent, and vectorise as written)."""
    maker.reassociates = True
    return maker
