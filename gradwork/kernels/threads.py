"""Elementwise passes on every core: the batch split into parts, one part per thread.

NumPy runs each elementwise loop (a ReLU, a max-pool comparison, a copy) on one core, while BLAS
products already use them all (OpenBLAS's threads) and PyTorch runs its elementwise ops on all of
them too. NumPy lets go of Python's global lock inside its loops on large arrays, so Python threads
that each run the same loop on their own slice of the batch really run at the same time.

**But only where BLAS lets them.** After each product, OpenBLAS's worker threads keep spinning on
their cores, waiting for the next one, for 2^28 processor cycles (about 0.1 s) unless
``OPENBLAS_THREAD_TIMEOUT`` says otherwise — and a training step calls BLAS every few milliseconds, so
on a 2-core machine one core is never free: a second thread of ours only takes turns with the spinning
one. Measured on the W3 step (SimpleConvNet, batch 100), one thread against two, in one process:
12.97 → 12.97 ms with OpenBLAS's default; 12.59 → 10.43 ms (max-pool forward 2.24 → 1.25, backward
1.72 → 1.00, ReLU backward 0.95 → 0.63) with ``OPENBLAS_THREAD_TIMEOUT=4``; with 20, 13.0 → 11.6 ms
and, in other runs, 12.85 → 11.18 and 12.43 → 10.38 (bench/RESULTS.md, 2026-11-30, session 7). So by
default passes are split only when no BLAS library in the process keeps threads spinning — OpenBLAS
with ``OPENBLAS_THREAD_TIMEOUT`` at most 20 (2^20 cycles, under half a millisecond), set by the user
before starting Python; gradwork never changes BLAS's settings — and over no more threads than BLAS
itself may use: that count is this process's share of the cores (``OPENBLAS_NUM_THREADS``, or
``backend.share_blas_threads`` giving each MPI rank or search worker one core of a full machine), so
two processes on two cores never run four busy threads. (A short timeout makes BLAS wake its threads for every product, which
costs where products come in quick succession: against PyTorch, W1, W1-infer and W4 ran 10–19% slower
with 4; with 20, no loss was measurable.)

:func:`over_batch` is the one entry point: ``work(part)`` is called with slices that tile
``range(count)``, the first on the calling thread and the others on worker threads, and returns when
all have finished. Each part writes its own rows of outputs allocated beforehand, so the result is
the same numbers in the same places whatever the number of threads. Small arrays are not split (the
hand-over, 13 µs there and back, would cost more than it saves), nor are arrays of other libraries
(CuPy runs on the GPU).

:func:`set_num_threads` overrides the choice (1 turns splitting off — for example under MPI, one
process per core; ``None`` goes back to the automatic choice); :func:`get_num_threads` says what is in
use. The workers sleep between calls, take no CPU time while idle, and are recreated in a forked child
(threads do not survive ``fork``). A call made while another is using the workers (from a second
Python thread, or from inside a part) runs on its own thread, unsplit. An error in any part is raised
in the caller once every part has finished; a Ctrl-C while parts are handed over or awaited abandons
those workers (each finishes its part, then sleeps for good) and the next call starts new ones.
"""
import os
import threading

import numpy as np

from gradwork.backend import usable_cpus

#: Elements (of the largest array a pass touches) below which a pass is not split: a part of this size
#: takes about 0.1 ms on one core, several times the cost of handing it to a worker and back.
MIN_ELEMENTS_PER_PART = 1 << 17


#: The largest ``OPENBLAS_THREAD_TIMEOUT`` (log2 of the cycles OpenBLAS's idle threads spin) under which
#: splitting pays: measured on W3 with 4, 16 and 20.
SHORT_BLAS_SPIN = 20


def cores():
    """The cores this process may use: ``OMP_NUM_THREADS`` when set (as PyTorch reads it), else the
    CPUs it may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return usable_cpus()


def blas_libraries():
    """The BLAS libraries loaded in this process, as threadpoolctl describes them."""
    from threadpoolctl import threadpool_info
    return [library for library in threadpool_info() if library.get("user_api") == "blas"]


def blas_threads_spin(libraries=None):
    """Whether a BLAS library loaded in this process keeps idle threads spinning after each product
    (see the module docstring): one with more than one thread, unless it is OpenBLAS with a short
    ``OPENBLAS_THREAD_TIMEOUT`` (and its own pthreads, which read it). Other libraries (MKL's OpenMP
    threads spin too) count as spinning."""
    timeout = os.environ.get("OPENBLAS_THREAD_TIMEOUT", "").strip()
    short_spin = timeout.isdigit() and 0 < int(timeout) <= SHORT_BLAS_SPIN
    for library in blas_libraries() if libraries is None else libraries:
        if library.get("num_threads", 1) <= 1:
            continue
        # OPENBLAS_THREAD_TIMEOUT is read by OpenBLAS's own threads; an OpenBLAS built on OpenMP ignores it
        if not (library.get("internal_api") == "openblas" and library.get("threading_layer") == "pthreads"
                and short_spin):
            return True
    return False


_chosen = None  # set_num_threads's count, or None: automatic
_automatic = None  # the automatic count, worked out on first use (and again after set_num_threads(None))


def automatic_count():
    """The threads a pass is split across unless :func:`set_num_threads` says otherwise: 1 while a BLAS
    library keeps idle threads spinning; else as many as BLAS may use, at most :func:`cores` (all of
    them where no BLAS library is found)."""
    libraries = blas_libraries()
    if blas_threads_spin(libraries):
        return 1
    if not libraries:
        return cores()
    return max(1, min(cores(), max(library.get("num_threads", 1) for library in libraries)))


def get_num_threads():
    """How many threads (the caller's included) an elementwise pass is split across."""
    global _automatic
    if _chosen is not None:
        return _chosen
    if _automatic is None:
        _automatic = automatic_count()
    return _automatic


def recount():
    """Work the automatic count out again when next needed: called after BLAS's thread count changes
    (``backend.share_blas_threads``, ``distributed.init``)."""
    global _automatic
    _automatic = None


def set_num_threads(count):
    """Split elementwise passes across ``count`` threads (the caller's included); 1 turns splitting off,
    ``None`` goes back to the automatic choice. BLAS's own threads are not affected (threadpoolctl sets
    those)."""
    global _chosen, _automatic
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"set_num_threads: count must be a positive integer or None, got {count!r}")
    _chosen = count
    _automatic = None  # worked out again when next needed: BLAS's libraries or threads may have changed


class _Worker:
    """One thread that runs the tasks it is handed, one at a time, sleeping in between.

    Two plain locks carry the hand-over, held while there is nothing to signal: the caller releases
    ``_start`` to start a task and the worker releases ``_done`` when it has finished (13 µs there and
    back on this machine, against 50 µs with ``threading.Semaphore``, which is built on a Condition)."""

    def __init__(self):
        self._start, self._done = threading.Lock(), threading.Lock()
        self._start.acquire()
        self._done.acquire()
        self._task = self._error = None
        threading.Thread(target=self._loop, name="gradwork-kernels", daemon=True).start()

    def _loop(self):
        while True:
            self._start.acquire()
            try:
                self._task()
            except BaseException as error:  # noqa: BLE001 — handed back to the caller in wait()
                self._error = error
            self._task = None
            self._done.release()

    def submit(self, task):
        self._task = task
        self._start.release()

    def wait(self):
        """Block until the task has finished; return what it raised (None if nothing)."""
        self._done.acquire()
        error, self._error = self._error, None
        return error


_workers = []
_busy = threading.Lock()  # held while the workers run a call's parts


def _forget_workers():  # in a forked child: the parent's threads are gone
    global _busy
    _workers.clear()
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def parts(count, elements, like):
    """How many parts a pass over ``count`` batch rows and ``elements`` elements in all (the largest
    array it touches), on arrays like ``like``, is split into: 1 for small passes and non-NumPy arrays."""
    if type(like) is not np.ndarray:
        return 1
    return max(1, min(get_num_threads(), count, elements // MIN_ELEMENTS_PER_PART))


def over_batch(work, count, elements, like):
    """Call ``work(rows)`` for slices ``rows`` that together tile ``range(count)``, in parallel.

    ``elements``: the size of the largest array the pass touches (it decides whether splitting pays);
    ``like``: one of the arrays, so that arrays of other libraries than NumPy are never split.
    Returns when every part is done; an exception in any part is raised here.
    """
    split = parts(count, elements, like)
    if split == 1 or not _busy.acquire(blocking=False):
        work(slice(0, count))
        return
    try:
        while len(_workers) < split - 1:
            _workers.append(_Worker())
        workers = _workers[:split - 1]
        bounds = [count * k // split for k in range(split + 1)]
        for worker, start, stop in zip(workers, bounds[1:-1], bounds[2:]):
            worker.submit(lambda rows=slice(start, stop): work(rows))
        errors = []
        try:
            work(slice(0, bounds[1]))
        except BaseException as error:  # noqa: BLE001 — the caller's part failed: the others still run
            errors.append(error)
        errors += [error for error in [worker.wait() for worker in workers] if error is not None]
    except BaseException:
        # Interrupted (Ctrl-C) while handing the parts over or waiting for them: a worker may still be
        # running its part, or about to. These workers are abandoned — each finishes what it has, then
        # sleeps for good — and the next call starts fresh ones, so no call ever sees another's hand-over.
        _workers.clear()
        raise
    finally:
        _busy.release()
    if errors:
        raise errors[0]


def copy(target, source, axis=0):
    """``target[...] = source`` (same shape), split over ``axis`` — the batch — as :func:`over_batch` splits."""
    before = (slice(None),) * axis

    def copy_rows(rows):
        target[before + (rows,)] = source[before + (rows,)]

    over_batch(copy_rows, target.shape[axis], target.size, target)
