"""The array module, the default dtype and the one random generator.

Every layer above this one gets its arrays, its float type and its random numbers from here,
so switching the array library (NumPy now, CuPy later) or reseeding a run happens in one place.
"""
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
