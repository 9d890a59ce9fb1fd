"""The array module, the default dtype and the one random generator.

Every layer above this one gets its arrays, its float type and its random numbers from here,
so switching the array library (NumPy now, CuPy later) or reseeding a run happens in one place.
"""
import ctypes
import ctypes.util

import numpy as np

#: The array module every op computes with.
xp = np

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()


def get_default_dtype():
    """The float dtype of new tensors, parameters and data: float32 unless changed."""
    return _default_dtype


def set_default_dtype(dtype):
    """Make ``dtype`` (float32 or float64) the float type of tensors created from Python numbers."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype such as float32, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed):
    """Seed every random draw in gradwork: initialisation, dropout, shuffling, splitting, sampling.

    Same seed, same run: two runs started after ``manual_seed(n)`` produce identical numbers.
    """
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(int(seed))


def rng():
    """The generator behind every random draw (a ``numpy.random.Generator``)."""
    return _rng


def get_rng_state():
    """The generator's state as a JSON-serialisable dict (for checkpoints that resume exactly)."""
    return _rng.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    _rng.bit_generator.state = state


def reuse_freed_memory():
    """Ask the C allocator (glibc) to keep freed memory for reuse instead of returning it to the OS.

    Training frees and re-allocates the same large arrays every step. By default glibc maps blocks
    above a size threshold fresh from the kernel and unmaps them when freed, so every step pays a page
    fault per 4 KiB touched: about 7,000 faults per step for the benchmark's small CNN, a third of its
    time. Raising the mmap and trim thresholds keeps that memory in the process (the resident size
    stays at its peak instead of shrinking between steps).

    It changes the whole process, so importing gradwork never does it: the ``gradwork`` command and
    the benchmarks call it, and a training script may. Returns False where it does not apply (no glibc).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, TypeError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h> parameter numbers
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))
