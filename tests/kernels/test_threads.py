"""kernels.threads: elementwise passes split over threads give the unsplit numbers, every row exactly
once, errors raised in the caller, no deadlock when nested or forked; and the automatic choice."""
import os
import threading

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.kernels import threads
from tests.kernels.test_fast_equals_reference import LAYOUTS, assert_same, relu_both_paths, stored

R = np.random.default_rng(11)


@pytest.fixture
def split_everything(monkeypatch):
    """Every pass split into as many parts as it has batch rows, up to 3 threads."""
    monkeypatch.setattr(threads, "MIN_ELEMENTS_PER_PART", 1)
    threads.set_num_threads(3)
    yield
    threads.set_num_threads(None)


def test_the_parts_tile_the_batch_and_run_on_several_threads(split_everything):
    seen, lock = [], threading.Lock()

    def work(rows):
        with lock:
            seen.append((rows.start, rows.stop, threading.get_ident()))

    threads.over_batch(work, 10, 10_000, np.zeros(1))
    starts = sorted(seen)
    assert [(a, b) for a, b, _ in starts] == [(0, 3), (3, 6), (6, 10)]
    assert len({ident for *_, ident in seen}) == 3
    assert dict((a, ident) for a, _, ident in seen)[0] == threading.get_ident()  # the first part: the caller's


def test_small_passes_and_other_arrays_are_not_split():
    threads.set_num_threads(2)
    try:
        calls = []
        threads.over_batch(calls.append, 8, threads.MIN_ELEMENTS_PER_PART, np.zeros(1))  # one part's worth
        threads.over_batch(calls.append, 8, 10**9, [0.0])  # not a NumPy array (a CuPy array takes this way)
        threads.over_batch(calls.append, 1, 10**9, np.zeros(1))  # one row
        assert calls == [slice(0, 8), slice(0, 8), slice(0, 1)]
        threads.over_batch(calls.append, 8, 4 * threads.MIN_ELEMENTS_PER_PART, np.zeros(1))
        assert sorted(calls[3:], key=lambda rows: rows.start) == [slice(0, 4), slice(4, 8)]
    finally:
        threads.set_num_threads(None)


def test_an_error_in_any_part_is_raised_once_all_parts_are_done(split_everything):
    finished = []

    def work(rows):
        if rows.start == 3:  # a worker's part
            raise KeyError("part two")
        finished.append(rows.start)

    with pytest.raises(KeyError, match="part two"):
        threads.over_batch(work, 9, 10_000, np.zeros(1))
    assert sorted(finished) == [0, 6]
    out = np.zeros(9)
    threads.over_batch(lambda rows: out.__setitem__(rows, 1.0), 9, 10_000, out)  # the workers still work
    assert out.sum() == 9


def test_a_pass_started_inside_a_part_runs_unsplit(split_everything):
    inner = []

    def outer(rows):
        threads.over_batch(inner.append, 6, 10_000, np.zeros(1))

    threads.over_batch(outer, 6, 10_000, np.zeros(1))
    assert inner == [slice(0, 6)] * 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_gets_workers_of_its_own(split_everything):
    x = np.arange(12.0)
    out = np.zeros(12)
    threads.over_batch(lambda rows: np.multiply(x[rows], 2, out=out[rows]), 12, 12, x)  # parent's workers start
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads do not exist here
        try:
            child_out = np.zeros(12)
            threads.over_batch(lambda rows: np.multiply(x[rows], 3, out=child_out[rows]), 12, 12, x)
            os._exit(0 if np.array_equal(child_out, 3 * x) else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    np.testing.assert_array_equal(out, 2 * x)


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            threads.set_num_threads(bad)
    threads.set_num_threads(5)
    assert threads.get_num_threads() == gw.kernels.get_num_threads() == 5
    gw.kernels.set_num_threads(None)
    assert threads.get_num_threads() == threads.automatic_count()


OPENBLAS = {"user_api": "blas", "internal_api": "openblas", "num_threads": 4, "threading_layer": "pthreads"}


@pytest.mark.parametrize("libraries, timeout, spins, count", [
    ([OPENBLAS], "", True, 1),  # OpenBLAS's default
    ([OPENBLAS], "4", False, 4),  # as many threads as BLAS has (of the 8 cores)
    ([OPENBLAS], "20", False, 4),
    ([OPENBLAS], "28", True, 1),
    ([dict(OPENBLAS, num_threads=16)], "20", False, 8),  # never more than the cores
    ([dict(OPENBLAS, threading_layer="openmp")], "4", True, 1),  # OpenMP's threads do not read the variable
    ([dict(OPENBLAS, num_threads=1)], "", False, 1),  # one core for this process (an MPI rank): no split
    ([dict(OPENBLAS, internal_api="mkl", threading_layer="intel")], "4", True, 1),  # the variable is OpenBLAS's
    ([{"user_api": "openmp", "internal_api": "openmp", "num_threads": 4}], "", False, 8),  # not a BLAS
    ([], "", False, 8),
])
def test_passes_are_split_by_default_only_where_blas_threads_sleep(libraries, timeout, spins, count, monkeypatch):
    import threadpoolctl
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: libraries)
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", timeout)
    monkeypatch.setattr(threads, "cores", lambda: 8)
    threads.recount()
    assert threads.blas_threads_spin() is spins
    assert threads.get_num_threads() == count
    monkeypatch.undo()
    threads.recount()  # worked out again for the real libraries


def test_sharing_blas_threads_out_among_processes_recounts(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "20")
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    if not before:
        pytest.skip("threadpoolctl finds no BLAS library in this process")
    try:
        threads.recount()
        threads.get_num_threads()  # worked out, and kept, before the BLAS threads change
        gw.backend.share_blas_threads(processes=threads.cores())  # one core each: an MPI rank's share
        assert threads.get_num_threads() == 1
    finally:
        threadpool_limits(max(before) if before else None, user_api="blas")
        threads.recount()


def test_cores_reads_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.cores() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "nonsense")
    assert threads.cores() >= 1


# The kernels that split their passes, on a batch of five split three ways: the reference's numbers.

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), None, 0), ((1, 2), None, 0),
                                                     (1, None, 0)])
def test_max_pool2d_split_over_threads(kernel, stride, padding, layout, dtype, split_everything):
    x = np.maximum(R.integers(-3, 4, (5, 3, 8, 9)), 0).astype(float)  # ties, as after a ReLU
    assert_same(lambda t: F.max_pool2d(t, kernel, stride, padding), [stored(x, layout, dtype)], dtype)


@pytest.mark.parametrize("gradient_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_relu_split_over_threads(layout, gradient_dtype, split_everything, kernel_version, monkeypatch):
    from gradwork.kernels import activations
    monkeypatch.setattr(activations, "COMPILED_BACKWARD_MIN_SIZE", 0)  # the compiled backward at this size too
    x = stored(R.standard_normal((5, 3, 4, 6)), layout, np.float32)
    x[0, 0, 0, :3] = [np.nan, -0.0, np.inf]
    results = relu_both_paths(x, R.standard_normal(x.shape).astype(gradient_dtype))
    (fast, fast_grad), (ref, ref_grad) = results["fast"], results["reference"]
    np.testing.assert_array_equal(fast.data, ref.data)
    np.testing.assert_array_equal(fast_grad, ref_grad)
    assert fast.data.strides == ref.data.strides and fast_grad.dtype == ref_grad.dtype


@pytest.mark.parametrize("where", ["handing over", "waiting"])
def test_ctrl_c_in_the_hand_over_abandons_the_workers_and_the_next_call_is_whole(where, split_everything,
                                                                                  monkeypatch):
    x = np.arange(9.0)
    out = np.zeros(9)
    threads.over_batch(lambda rows: np.multiply(x[rows], 2, out=out[rows]), 9, 9, x)  # the workers exist
    old_workers = list(threads._workers)
    method = "submit" if where == "handing over" else "wait"
    real = getattr(threads._Worker, method)
    calls = []

    def interrupted_once(self, *args):
        calls.append(self)
        if len(calls) == 2:  # the second worker: Ctrl-C lands here
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(threads._Worker, method, interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        threads.over_batch(lambda rows: np.multiply(x[rows], 3, out=out[rows]), 9, 9, x)
    assert threads._workers == []  # abandoned: none of them will be handed another part
    monkeypatch.setattr(threads._Worker, method, real)
    for _ in range(3):  # fresh workers; every row written, each call by its own parts only
        out[:] = 0
        threads.over_batch(lambda rows: np.multiply(x[rows], 4, out=out[rows]), 9, 9, x)
        np.testing.assert_array_equal(out, 4 * x)
    assert not set(map(id, threads._workers)) & set(map(id, old_workers))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("channels, stride, padding", [(1, 1, 1), (3, 2, 1), (4, 1, 1)])
def test_conv2d_window_copies_split_over_threads(channels, stride, padding, layout, split_everything):
    """With splitting forced on, every convolution layout gives the reference's numbers: the one-channel
    transposed window matrix is built by parts on several threads; the channels-last windows (stride 2)
    and the shifted path do not split and must be unaffected."""
    x = stored(R.standard_normal((5, channels, 7, 8)), layout, np.float64)
    weight = R.standard_normal((3, channels, 3, 3))
    bias = R.standard_normal(3)
    assert_same(lambda t, w, b: F.conv2d(t, w, b, stride=stride, padding=padding), [x, weight, bias], np.float64)


def test_copy_splits_along_the_axis_it_is_given(split_everything):
    array = R.standard_normal((2, 3, 7, 4))

    class Recorded:  # the source, noting how each part indexes it
        keys = []

        def __getitem__(self, key):
            self.keys.append(key)
            return array[key]

    target = np.zeros_like(array)
    threads.copy(target, Recorded(), axis=2)
    np.testing.assert_array_equal(target, array)
    everything = slice(None)
    assert sorted(Recorded.keys, key=lambda key: key[2].start) == [
        (everything, everything, slice(0, 2)), (everything, everything, slice(2, 4)),
        (everything, everything, slice(4, 7))]


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "cross_entropy"])
def test_softmax_row_loops_split_over_threads(fn, split_everything, kernel_version):
    """The softmax kernels' row loops (and their NumPy versions) split over three threads give the unsplit
    result bit for bit, forward and backward, a row of NaN included."""
    x = R.standard_normal((100, 70)).astype(np.float32)
    x[7] = np.nan
    g = R.standard_normal((100, 70)).astype(np.float32)
    labels = R.integers(0, 70, 100)

    def both_passes():
        t = gw.tensor(x, requires_grad=True)
        if fn == "cross_entropy":
            y = F.cross_entropy(t, labels, reduction="none")
            y.backward(gw.tensor(g[:, 0]))
        else:
            y = getattr(F, fn)(t, dim=-1)
            y.backward(gw.tensor(g))
        return y.data, t.grad

    split = both_passes()
    threads.set_num_threads(1)
    unsplit = both_passes()
    for a, b in zip(split, unsplit):
        np.testing.assert_array_equal(a, b)
