"""The array modules and devices, the default dtype and the seeded random generators.

Every layer above this one gets its float type and its random numbers from here, and finds the array
module of its inputs here (``get_array_module``: NumPy on the CPU, CuPy on a GPU — see ``device.py``),
so reseeding a run or moving it to a GPU happens in one place.
"""
import ctypes
import ctypes.util
import os
import zlib

import numpy as np

from gradwork.backend.device import (CPU, Device, DeviceKind, cuda_available, device_of, get_array_module,  # noqa: F401
                                     get_kind, is_device_array, kind_of, register_device_kind, to_device, to_device_of,
                                     to_host, unregister_device_kind)

#: NumPy, the array module of the CPU. Code that makes arrays for a tensor's device asks
#: ``get_array_module(array)`` instead; ``xp`` remains for host-only work (data files, metrics).
xp = np

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()
_seed = None  # the last manual_seed, from which each device's generator is derived
_device_rngs = {}  # Device → its generator, made on first use


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

    Each GPU has a generator of its own (dropout masks are drawn where the activations are), seeded
    from ``seed`` and the device's name, so a run on the GPU repeats too — with other numbers than on
    the CPU, as in PyTorch. Initialisation draws on the CPU before ``model.to(device)``, so a model
    starts from the same weights on every device.
    """
    global _rng, _seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    _seed = int(seed)
    _device_rngs.clear()


def rng():
    """The CPU's generator, behind every random draw made on the host (a ``numpy.random.Generator``):
    initialisation, shuffling, splits, augmentation, sampling."""
    return _rng


def rng_like(array):
    """The generator of the device that holds ``array``: random arrays drawn from it (a dropout mask)
    live beside ``array``. On the CPU this is :func:`rng`."""
    if type(array) is np.ndarray:
        return _rng
    return device_rng(device_of(array))


def device_rng(device):
    """The generator of ``device`` (the CPU's is :func:`rng`; a GPU's is made on first use)."""
    device = Device(device)
    if device.type == "cpu":
        return _rng
    generator = _device_rngs.get(device)
    if generator is None:
        if _seed is None:  # never seeded: fresh entropy, as the CPU's generator has
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        else:  # one stream per (seed, device), the same every run
            name = zlib.crc32(str(device).encode())
            seed = int(np.random.SeedSequence([_seed, name]).generate_state(1, np.uint64)[0] >> 1)
        generator = _device_rngs[device] = device.kind.make_rng(seed, device.index)
    return generator


def get_rng_state():
    """The CPU generator's state as a JSON-serialisable dict (for checkpoints that resume exactly).
    A GPU's generator is not in it: after a resume on a GPU, dropout masks differ from an unbroken run."""
    return _rng.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    _rng.bit_generator.state = state


def usable_cpus():
    """The CPUs this process may run on (its affinity where the system has one, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def share_blas_threads(processes):
    """Give this process's BLAS its share of the machine's cores, ``cores // processes`` threads (at
    least one), so that ``processes`` processes on one machine (MPI ranks, search workers) do not fight
    over the cores with threads of their own. Uses threadpoolctl on the running process; the thread
    environment variables are never changed, and a count the user set in ``OMP_NUM_THREADS`` or
    ``OPENBLAS_NUM_THREADS`` is left alone. Called by the command line and ``distributed.init``, never
    by ``import gradwork``."""
    if {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"} & set(os.environ):
        return
    from threadpoolctl import threadpool_limits
    threadpool_limits(max(1, usable_cpus() // processes), user_api="blas")  # lasts for the process
    from gradwork.kernels import threads
    threads.recount()  # elementwise passes split over no more threads than BLAS now has


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
