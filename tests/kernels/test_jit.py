"""The compiled loops (``gradwork/kernels/jit.py``): when they run, that they give the reference's numbers
where the NumPy kernels could not (a NaN's gradient), and that gradwork works the same without Numba."""
import sys
import types

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.kernels import jit, pooling_loops, threads

needs_numba = pytest.mark.skipif(
    jit._numba() is None, reason='Numba is not installed (pip install "gradwork[jit]") or NUMBA_DISABLE_JIT is set')


def channels_last(array):
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def as_stored(x, requires_grad=False):
    """A tensor holding x in x's own memory layout and dtype (gw.tensor copies in C order)."""
    t = gw.tensor(x, requires_grad=requires_grad)
    t.data = x.copy(order="K")
    assert t.data.dtype == x.dtype and t.data.strides == x.strides
    return t


def pool_on(path, x, gradient, kernel=2):
    """max_pool2d's output and input gradient on one kernel path; x keeps its memory layout."""
    with gw.kernels.use(path):
        t = as_stored(x, requires_grad=True)
        out = F.max_pool2d(t, kernel)
        out.backward(gw.tensor(gradient))
        return out.data, t.grad


@pytest.fixture
def compiled_calls(monkeypatch):
    """The makers whose compiled loops the code under test asked for, in order: (name, sizes)."""
    calls = []
    compiled = jit.compiled

    def recording(maker, *sizes):
        calls.append((maker.__name__, sizes))
        return compiled(maker, *sizes)

    monkeypatch.setattr(jit, "compiled", recording)
    return calls


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_runs_the_compiled_loops_on_channels_last_input(compiled_calls, dtype):
    x = channels_last(np.random.default_rng(0).standard_normal((3, 4, 6, 8)).astype(dtype))
    gradient = np.random.default_rng(1).standard_normal((3, 4, 3, 4)).astype(dtype)
    fast = pool_on("fast", x, gradient)
    reference = pool_on("reference", x, gradient)
    assert [name for name, _ in compiled_calls] == ["max_pool_forward", "max_pool_backward"]
    np.testing.assert_array_equal(fast[0], reference[0])
    np.testing.assert_array_equal(fast[1], reference[1])
    assert fast[0].transpose(0, 2, 3, 1).flags.c_contiguous  # the output keeps the input's memory order


@needs_numba
@pytest.mark.parametrize("x", [
    channels_last(np.zeros((2, 3, 4, 4), dtype=np.float16)),                   # a type they are not compiled for
    channels_last(np.zeros((2, 3, 4, 4), dtype=np.dtype(">f4"))),              # the other byte order
], ids=["float16", "big-endian"])
def test_max_pool_keeps_the_numpy_kernel_where_the_loops_do_not_fit(compiled_calls, x):
    with gw.kernels.use("fast"):
        out = F.max_pool2d(as_stored(x), 2)
    assert compiled_calls == []
    assert out.dtype == x.dtype


def padded_view(x):
    """x's values in a view of a larger channels-last array, with gaps between its rows and images: how
    the shifted convolution's output is stored."""
    n, c, h, w = x.shape
    grid = np.full((n, h + 2, w + 3, c), 7.0, dtype=x.dtype)
    grid[:, :h, :w] = x.transpose(0, 2, 3, 1)
    return grid[:, :h, :w].transpose(0, 3, 1, 2)


@needs_numba
@pytest.mark.parametrize("store", [np.ascontiguousarray, padded_view], ids=["channels-first", "padded view"])
@pytest.mark.parametrize("window", [(2, 2, 0), (3, 2, 1)], ids=["tiles", "windows"])
def test_max_pool_copies_input_stored_otherwise_into_channels_last_for_the_loops(compiled_calls, store, window):
    """Input not stored channels-last (a Dropout's output is channels-first; a pool straight after a
    convolution gets its padded view) is copied into that order and pooled by the compiled loops: the
    reference's numbers, ties and NaN included, and a channels-last output."""
    rng = np.random.default_rng(0)
    values = np.maximum(rng.integers(-2, 3, (2, 3, 8, 6)), 0).astype(np.float32)
    values[0, 1, 2, 2] = values[1, 2, 4, 3] = np.nan
    x = store(values)
    assert x.strides != channels_last(values).strides
    kernel, stride, padding = window
    results = []
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            t = gw.tensor(values, requires_grad=True)
            t.data = x  # x itself, not a copy (a copy of the padded view would close its gaps)
            out = F.max_pool2d(t, kernel, stride, padding)
            out.backward(gw.tensor(np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)))
            results.append((out.data, t.grad))
    loops = ["max_pool_forward", "max_pool_backward"] if kernel == stride else \
        ["max_pool_windows_forward", "max_pool_windows_backward"]
    assert [name for name, _ in compiled_calls] == loops
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][0].transpose(0, 2, 3, 1).flags.c_contiguous


@needs_numba
@pytest.mark.parametrize("store", [channels_last, np.ascontiguousarray, padded_view],
                         ids=["channels-last", "channels-first", "padded view"])
@pytest.mark.parametrize("geometry", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                      dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                           count_include_pad=False),
                                      dict(kernel_size=(2, 3), stride=(1, 2), divisor_override=4)])
def test_avg_pool_runs_the_compiled_loops_in_any_layout(compiled_calls, store, geometry):
    """Average pooling's compiled loops (input copied into channels-last first where stored otherwise):
    the reference's numbers and gradients, a channels-last output."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    x = store(values)
    results = []
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            t = gw.tensor(values, requires_grad=True)
            t.data = x
            out = F.avg_pool2d(t, **geometry)
            out.backward(gw.tensor(np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)))
            results.append((out.data, t.grad))
    assert [name for name, _ in compiled_calls] == ["avg_pool_forward", "avg_pool_backward"]
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)
    assert results[0][0].transpose(0, 2, 3, 1).flags.c_contiguous


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", [dict(kernel_size=3, stride=1, padding=1),
                                      dict(kernel_size=3, padding=1, count_include_pad=False),
                                      dict(kernel_size=2, divisor_override=3)])
def test_avg_pool_loops_divide_in_the_data_type(monkeypatch, dtype, geometry):
    """The divisors handed to the compiled loops are in x's dtype: an integer kh·kw made them divide in
    float64 (in session 15, backward 2.5 → 6.0 ms on a 64 × 32 × 32 × 32 layer, no test failing)."""
    seen = []
    compiled = jit.compiled

    def recording(maker, *constants):
        loop = compiled(maker, *constants)

        def spy(*arguments):
            seen.append((maker.__name__, arguments[1].dtype))
            return loop(*arguments)
        return spy

    monkeypatch.setattr(jit, "compiled", recording)
    t = gw.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(dtype), requires_grad=True)
    F.avg_pool2d(t, **geometry).sum().backward()
    assert seen == [("avg_pool_forward", np.dtype(dtype)), ("avg_pool_backward", np.dtype(dtype))]


@needs_numba
def test_max_pool_without_a_gradient_compiles_the_loop_that_records_no_winners(compiled_calls):
    x = channels_last(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
    with gw.no_grad():
        out = F.max_pool2d(as_stored(x), (3, 2))
    assert compiled_calls == [("max_pool_forward", (3, 2, False))]
    np.testing.assert_array_equal(out.data, x.reshape(2, 3, 2, 3, 3, 2).max(axis=(3, 5)))


@needs_numba
def test_a_nan_wins_its_window_and_takes_its_gradient_as_in_the_reference(compiled_calls):
    """The reference's argmax picks the first NaN of a window; so do the compiled loops (the NumPy kernel
    outputs the NaN too but sends its gradient to the window's last position)."""
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # two NaNs in one window: the first one wins
    x[1, 2, 3, 3] = np.nan                  # a NaN at a window's last position, after its maximum
    x = channels_last(x)
    gradient = np.random.default_rng(2).standard_normal((2, 3, 2, 2)).astype(np.float32)
    fast, reference = pool_on("fast", x, gradient), pool_on("reference", x, gradient)
    assert [name for name, _ in compiled_calls] == ["max_pool_forward", "max_pool_backward"]
    np.testing.assert_array_equal(fast[0], reference[0])  # NaN where the reference has NaN
    np.testing.assert_array_equal(fast[1], reference[1])
    assert fast[1][0, 0, 0, 1] == gradient[0, 0, 0, 0] and fast[1][0, 0, 1, 0] == 0


@needs_numba
def test_compiled_loops_split_over_threads_give_the_same_numbers(compiled_calls):
    x = channels_last(np.random.default_rng(0).standard_normal((8, 16, 64, 64)).astype(np.float32))
    gradient = np.random.default_rng(1).standard_normal((8, 16, 32, 32)).astype(np.float32)
    previous = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        assert threads.parts(8, x.size, x) == 2
        split = pool_on("fast", x, gradient)
    finally:
        threads.set_num_threads(None if previous == threads.automatic_count() else previous)
    assert [name for name, _ in compiled_calls] == ["max_pool_forward", "max_pool_backward"]
    reference = pool_on("reference", x, gradient)
    np.testing.assert_array_equal(split[0], reference[0])
    np.testing.assert_array_equal(split[1], reference[1])


def test_without_numba_the_numpy_kernels_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    jit._numba.cache_clear()
    try:
        assert not jit.available()
        assert not jit.runs_on(np.zeros(3, dtype=np.float32))
        x = channels_last(np.random.default_rng(0).standard_normal((2, 3, 4, 6)).astype(np.float32))
        gradient = np.random.default_rng(1).standard_normal((2, 3, 2, 3)).astype(np.float32)
        fast, reference = pool_on("fast", x, gradient), pool_on("reference", x, gradient)
        np.testing.assert_array_equal(fast[0], reference[0])
        np.testing.assert_array_equal(fast[1], reference[1])
    finally:
        monkeypatch.undo()
        jit._numba.cache_clear()


def test_enable_switches_the_compiled_loops_off_and_back():
    previous = jit.enable(False)
    try:
        assert not jit.available()
        assert jit.enable(True) is False
        assert jit.available() == (jit._numba() is not None)
    finally:
        jit.enable(previous)


def test_a_read_only_install_compiles_in_memory(monkeypatch):
    """Numba raises RuntimeError when it finds no writable place for its on-disk cache; the loop is then
    compiled without one."""
    asked = []

    def njit(**options):
        asked.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'loop': no locator available")
        return lambda function: function

    monkeypatch.setattr(jit, "_numba", lambda: types.SimpleNamespace(njit=njit))
    loop = jit.compiled.__wrapped__(pooling_loops.max_pool_backward, 2, 2)
    assert asked == [dict(nogil=True, cache=True, error_model="numpy", fastmath=False),
                     dict(nogil=True, error_model="numpy", fastmath=False)]
    gy, winner, gx = np.ones((1, 1, 1, 1)), np.array([[[[3]]]], dtype=np.uint8), np.empty((1, 2, 2, 1))
    loop(gy, winner, gx)  # the plain Python loop: the maker's code itself
    np.testing.assert_array_equal(gx[0, :, :, 0], [[0, 0], [0, 1]])


def sparse_adam_training(path, dtype, steps=4):
    """An Embedding(sparse=True) trained by SparseAdam on one kernel path: its table, both moments."""
    gw.manual_seed(0)
    embedding = gw.nn.Embedding(40, 6, sparse=True)
    embedding.weight.data = np.random.default_rng(0).standard_normal((40, 6)).astype(dtype)
    optimizer = gw.optim.SparseAdam(embedding.parameters(), lr=0.05)
    ids = np.random.default_rng(1)
    with gw.kernels.use(path):
        for _ in range(steps):
            optimizer.zero_grad()
            out = embedding(gw.tensor(ids.integers(0, 40, (16, 3))))  # repeated ids: summed rows
            (out * out).sum().backward()
            optimizer.step()
    state = optimizer.state[embedding.weight]
    return embedding.weight.data, state["exp_avg"], state["exp_avg_sq"]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_adam_rows_compiled_are_the_reference_bit_for_bit(compiled_calls, dtype):
    fast = sparse_adam_training("fast", dtype)
    assert [name for name, _ in compiled_calls] == ["update_rows_loop"] * 4
    reference = sparse_adam_training("reference", dtype)
    for a, b in zip(fast, reference):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_sparse_adam_keeps_the_course_version_for_a_gradient_of_another_dtype(compiled_calls):
    from gradwork.kernels import sparse_adam
    table, m, v = (np.ones((5, 2), dtype=np.float32) for _ in range(3))
    rows, g = np.array([1, 3]), np.full((2, 2), 0.5)  # float64 gradient for a float32 table
    sparse_adam.update_rows(table, m, v, rows, g, 0.9, 0.999, 0.1, 1e-8)
    assert compiled_calls == []
    assert table.dtype == np.float32 and (table[[0, 2, 4]] == 1).all() and (table[[1, 3]] < 1).all()


WINDOW_CASES = [  # (kernel, stride, padding, dilation, ceil_mode): windows that overlap, pad, dilate or hang over
    (3, 2, 1, 1, False), (3, 1, 1, 1, False), (3, 2, 1, 1, True), ((3, 2), (2, 1), (1, 0), 1, False),
    (3, 2, 0, 2, False), (2, 3, 1, 1, True), (2, 1, 0, 1, False),
]


def pool_windows_on(path, x, case, seed=3):
    """max_pool2d with ``case``'s windows on one path: output and input gradient (x keeps its layout)."""
    kernel, stride, padding, dilation, ceil_mode = case
    with gw.kernels.use(path):
        t = as_stored(x, requires_grad=True)
        out = F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode)
        out.backward(gw.tensor(np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)))
        return out.data, t.grad


@needs_numba
@pytest.mark.parametrize("case", WINDOW_CASES)
@pytest.mark.parametrize("values", ["ties", "infinities and NaN"])
def test_max_pool_windows_compiled_are_the_reference_exactly(compiled_calls, case, values):
    """Overlapping, padded, dilated and ceil_mode windows through the compiled loops: the reference's
    numbers exactly, also where its argmax decides — ties (a ReLU's zeros), windows of −∞ only (padding
    at position 0 wins: the gradient goes nowhere), NaN (the first one wins)."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.integers(-2, 2, (2, 3, 7, 6)), 0).astype(np.float32)
    if values == "infinities and NaN":
        x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
        x[0, 0, :3, :3] = -np.inf
        x[0, 1, 2, 2] = x[1, 2, 4, 3] = x[1, 2, 4, 4] = np.nan
        x[1, 0, 3, :] = np.inf
    x = channels_last(x)
    fast, reference = pool_windows_on("fast", x, case), pool_windows_on("reference", x, case)
    assert [name for name, _ in compiled_calls] == ["max_pool_windows_forward", "max_pool_windows_backward"]
    np.testing.assert_array_equal(fast[0], reference[0])
    np.testing.assert_array_equal(fast[1], reference[1])
    assert fast[0].transpose(0, 2, 3, 1).flags.c_contiguous


@needs_numba
def test_max_pool_windows_of_a_channels_first_input_with_a_float64_gradient(compiled_calls):
    """An input stored channels-first, and a float64 output gradient into the float32 layer: both loops
    compiled (the input copied into channels-last first), the reference's numbers and gradient dtype."""
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(np.float32)
    results = []
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            t = as_stored(x, requires_grad=True)
            out = F.max_pool2d(t, 3, 2, 1)
            out.backward(gw.tensor(np.random.default_rng(1).standard_normal(out.shape)))  # float64
            results.append((out.data, t.grad))
    assert [name for name, _ in compiled_calls] == ["max_pool_windows_forward", "max_pool_windows_backward"]
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][1].dtype == results[1][1].dtype


@needs_numba
@pytest.mark.parametrize("case", [(17, 17, 0, 1, False), (17, 1, 8, 1, False)], ids=["tiles", "windows"])
def test_max_pool_windows_of_more_than_256_positions_record_two_byte_winners(compiled_calls, case):
    x = channels_last(np.random.default_rng(0).standard_normal((2, 2, 17, 17)).astype(np.float32))
    fast, reference = pool_windows_on("fast", x, case), pool_windows_on("reference", x, case)
    assert len(compiled_calls) == 2
    np.testing.assert_array_equal(fast[0], reference[0])
    np.testing.assert_array_equal(fast[1], reference[1])


@needs_numba
@pytest.mark.parametrize("case", [(2, 2, 0, 1, False), (3, 2, 1, 1, True)], ids=["tiles", "windows"])
def test_max_pool_compiled_on_an_empty_batch(compiled_calls, case):
    x = channels_last(np.zeros((0, 3, 6, 6), dtype=np.float32))
    fast, reference = pool_windows_on("fast", x, case), pool_windows_on("reference", x, case)
    assert fast[0].shape == reference[0].shape and fast[1].shape == reference[1].shape == x.shape


@needs_numba
@pytest.mark.parametrize("case", [(2, 2, 0, 1, False), (3, 2, 1, 1, False)], ids=["tiles", "windows"])
def test_an_infinite_or_nan_gradient_stays_on_its_winner(compiled_calls, case):
    """The compiled backward writes 0 on a window's other positions, as the reference does (the NumPy
    kernel's product with the 0/1 winner mask puts ∞·0 = NaN there)."""
    x = channels_last(np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32))
    kernel, stride, padding, dilation, ceil_mode = case
    results = []
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            t = as_stored(x, requires_grad=True)
            out = F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode)
            gradient = np.ones(out.shape, dtype=np.float32)
            gradient[0, 0, 0, 0], gradient[0, 1, 1, 1] = np.inf, np.nan
            out.backward(gw.tensor(gradient))
            results.append(t.grad)
    assert [name for name, _ in compiled_calls][-1].endswith("backward")
    np.testing.assert_array_equal(results[0], results[1])
    assert np.isinf(results[0]).sum() == 1 and np.isnan(results[0]).sum() == 1


SPARSE_ADAM_ARGS = dict(beta1=0.9, beta2=0.999, step_size=0.01, eps=1e-8)


def sparse_adam_tables(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype) * 0.1,
            rng.random(shape).astype(dtype))


def update_both_ways(tables, rows, g):
    """(compiled result, course's result): each updates its own copy of the tables."""
    from gradwork.kernels import sparse_adam as fast
    from gradwork.optim import sparse_adam as course
    results = []
    for update in (fast.update_rows, course.update_rows):
        copies = [t.copy() for t in tables]
        update(*copies, rows, g, **SPARSE_ADAM_ARGS)
        results.append(copies)
    return results


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_adam_rows_of_a_table_with_more_axes(compiled_calls, dtype):
    tables = sparse_adam_tables((12, 3, 4), dtype)
    rows = np.array([0, 4, 5, 11])
    g = np.random.default_rng(1).standard_normal((4, 3, 4)).astype(dtype)
    fast, course = update_both_ways(tables, rows, g)
    assert [name for name, _ in compiled_calls] == ["update_rows_loop"]
    for a, b in zip(fast, course):
        np.testing.assert_array_equal(a, b)


@needs_numba
@pytest.mark.parametrize("rows", [[3, 3, 5], [5, 3], [2, 12], [-1, 4]], ids=["repeated", "unsorted", "past the end",
                                                                          "negative"])
def test_sparse_adam_takes_the_course_version_for_rows_a_sparse_gradient_never_holds(compiled_calls, rows):
    """The loop reads each row once and checks no bounds; rows that are repeated, unsorted or outside
    the table go to the course's version, which gives its numbers (or raises its IndexError)."""
    tables = sparse_adam_tables((12, 4))
    rows = np.array(rows)
    g = np.random.default_rng(1).standard_normal((len(rows), 4)).astype(np.float32)
    if rows.max() >= 12:
        from gradwork.kernels import sparse_adam
        with pytest.raises(IndexError):
            sparse_adam.update_rows(*tables, rows, g, **SPARSE_ADAM_ARGS)
    else:
        fast, course = update_both_ways(tables, rows, g)
        for a, b in zip(fast, course):
            np.testing.assert_array_equal(a, b)
    assert compiled_calls == []


@needs_numba
def test_sparse_adam_takes_the_course_version_for_a_read_only_table(compiled_calls):
    from gradwork.kernels import sparse_adam
    tables = sparse_adam_tables((5, 2))
    tables[0].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sparse_adam.update_rows(*tables, np.array([1]), np.ones((1, 2), np.float32), **SPARSE_ADAM_ARGS)
    assert compiled_calls == []


def test_sparse_adam_without_numba_runs_the_course_version(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    jit._numba.cache_clear()
    try:
        fast, course = update_both_ways(sparse_adam_tables((8, 3)), np.array([1, 6]),
                                        np.ones((2, 3), np.float32))
        for a, b in zip(fast, course):
            np.testing.assert_array_equal(a, b)
    finally:
        monkeypatch.undo()
        jit._numba.cache_clear()


def test_arrays_the_loops_do_not_take_never_import_numba():
    """``runs_on`` looks at the arrays before it asks for Numba: float16, integers and other libraries'
    arrays are refused without loading it (0.4 s and ~140 MiB)."""
    import subprocess
    code = ("import sys, numpy as np; from gradwork.kernels import jit; "
            "assert not jit.runs_on(np.zeros(3, np.float16)); assert not jit.runs_on(np.zeros(3, np.int64)); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@needs_numba
def test_numba_with_its_compiler_switched_off_counts_as_absent(monkeypatch):
    """With NUMBA_DISABLE_JIT=1 Numba would run the loops as plain Python, a pixel at a time: the NumPy
    kernels run instead."""
    import numba
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    jit._numba.cache_clear()
    try:
        assert not jit.available() and jit.numba_version() is not None
    finally:
        monkeypatch.undo()
        jit._numba.cache_clear()
    assert jit.available()


def batch_norm_on(path, x, weight, bias, gradient):
    """batch_norm's output, running statistics and gradients (x, γ, β) in training, on one kernel path."""
    with gw.kernels.use(path):
        t, w, b = as_stored(x, True), gw.tensor(weight, requires_grad=True), gw.tensor(bias, requires_grad=True)
        running = (np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype))
        out = F.batch_norm(t, *running, w, b, training=True)
        out.backward(gw.tensor(gradient))
        return out.data, running, (t.grad, w.grad, b.grad)


def assert_batch_norm_as_reference(x, weight, bias, gradient, rtol):
    fast, reference = (batch_norm_on(path, x, weight, bias, gradient) for path in ("fast", "reference"))
    np.testing.assert_allclose(fast[0], reference[0], rtol=rtol, atol=rtol)
    for a, b in zip(fast[1] + fast[2], reference[1] + reference[2]):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["channels-last", "channels-first", "(N, C)"])
def test_batch_norm_runs_the_compiled_loops(compiled_calls, dtype, layout):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5) if layout == "(N, C)" else (4, 5, 3, 6)) * 3 + 2
    x = (channels_last(x) if layout == "channels-last" else x).astype(dtype)
    weight, bias = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    gradient = rng.standard_normal(x.shape).astype(dtype)
    assert_batch_norm_as_reference(x, weight, bias, gradient, rtol=1e-10 if dtype == np.float64 else 2e-4)
    assert [name for name, _ in compiled_calls] == ["batch_norm_forward", "batch_norm_backward"]


@needs_numba
@pytest.mark.parametrize("shape", [(64, 1), (5, 1, 3, 3), (6, 3, 4, 4), (4, 300), (32, 12, 2, 2)])
def test_batch_norm_compiled_on_rows_of_every_width(compiled_calls, shape):
    """The loops take k rows of C channels side by side (``compiled_rows``): k = 64 for one channel and
    64 rows, k = 1 for an odd number of values per channel or more than 256 channels, and between."""
    from gradwork.kernels.normalization import compiled_rows
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape) * 2 + 5
    x = channels_last(x) if len(shape) == 4 else x
    m = x.size // shape[1]
    assert compiled_rows(np.zeros((m, shape[1])))[1] == {(64, 1): 64, (5, 1, 3, 3): 1, (6, 3, 4, 4): 32,
                                                          (4, 300): 1, (32, 12, 2, 2): 16}[shape]
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    assert_batch_norm_as_reference(x, weight, bias, rng.standard_normal(shape), rtol=1e-10)
    assert [name for name, _ in compiled_calls] == ["batch_norm_forward", "batch_norm_backward"]


@needs_numba
def test_batch_norm_compiled_takes_a_float64_gradient_into_a_float32_layer(compiled_calls):
    """A float64 gradient reaches the layer (the loss against float64 weights); the input's gradient comes
    out in float64 with the reference's values, as the reference's products promote."""
    rng = np.random.default_rng(1)
    x = channels_last(rng.standard_normal((3, 4, 5, 5))).astype(np.float32)
    weights = rng.standard_normal(x.shape)  # float64

    def input_grad(path):
        with gw.kernels.use(path):
            leaf = as_stored(x, requires_grad=True)
            h = leaf * 1.0  # a non-leaf input: its gradient keeps the dtype it arrives in
            h.retain_grad()
            out = F.batch_norm(h, None, None, gw.ones(4, requires_grad=True), gw.zeros(4), training=True)
            (out * gw.tensor(weights)).sum().backward()
            return h.grad

    fast, reference = input_grad("fast"), input_grad("reference")
    assert [name for name, _ in compiled_calls] == ["batch_norm_forward", "batch_norm_backward"]
    assert fast.dtype == reference.dtype == np.float64
    np.testing.assert_allclose(fast, reference, rtol=2e-4, atol=2e-5)


@needs_numba
def test_batch_norm_keeps_the_numpy_kernel_for_mixed_dtypes(compiled_calls):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    assert_batch_norm_as_reference(x, np.ones(3), np.zeros(3), rng.standard_normal(x.shape).astype(np.float32),
                                   rtol=2e-4)
    assert compiled_calls == []


@needs_numba
def test_batch_norm_compiled_with_nan_and_a_constant_channel(compiled_calls):
    """A NaN spreads to its channel only, as in the reference; a constant channel normalises to β."""
    x = np.random.default_rng(3).standard_normal((4, 3, 2, 2))
    x[1, 0, 1, 1] = np.nan
    x[:, 2] = 7.0
    out = {}
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            out[path] = F.batch_norm(gw.tensor(x), None, None, gw.tensor(np.ones(3)), gw.tensor(np.full(3, 0.5)),
                                     training=True).data
    assert [name for name, _ in compiled_calls] == ["batch_norm_forward"]
    assert np.isnan(out["fast"][:, 0]).all() and not np.isnan(out["fast"][:, 1:]).any()
    np.testing.assert_array_equal(out["fast"][:, 2], 0.5)
    np.testing.assert_allclose(out["fast"], out["reference"], rtol=1e-12, atol=1e-12)  # NaN where it has NaN


@needs_numba
def test_batch_norm_compiled_keeps_its_input_so_changing_it_in_place_is_caught():
    """The compiled backward recomputes x − μ from x (as PyTorch's batch norm saves its input), a view of
    channels-last x: an in-place change of x between forward and backward is refused with the usual
    message (the NumPy kernel and the reference keep copies and do not need x again)."""
    h = as_stored(channels_last(np.random.default_rng(4).standard_normal((4, 3, 2, 2))).astype(np.float32))
    out = F.batch_norm(h, None, None, gw.ones(3, requires_grad=True), gw.zeros(3), training=True)
    h += 1.0
    with pytest.raises(RuntimeError, match="changed in place"):
        (out * out).sum().backward()


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_in_evaluation_is_one_op_and_one_compiled_pass_each_way(compiled_calls, dtype):
    rng = np.random.default_rng(5)
    x = channels_last(rng.standard_normal((2, 5, 3, 4))).astype(dtype)
    stats = (np.arange(5.0), np.arange(1.0, 6.0))
    weight, bias = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    gradient = rng.standard_normal(x.shape).astype(dtype)
    results = {}
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            t, w, b = as_stored(x, True), gw.tensor(weight, requires_grad=True), gw.tensor(bias, requires_grad=True)
            out = F.batch_norm(t, *stats, w, b, training=False)
            out.backward(gw.tensor(gradient))
            results[path] = (type(out.creator).__name__, out.data, t.grad, w.grad, b.grad)
    assert results["fast"][0] == "FrozenBatchNorm" and results["fast"][1].dtype == dtype
    assert compiled_calls == [("normalize_rows", ()), ("frozen_batch_norm_backward", (True,))]  # a pass each way
    for fast, reference in zip(results["fast"][1:], results["reference"][1:]):
        np.testing.assert_allclose(fast, reference, rtol=2e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_batch_norm_in_evaluation_keeps_x_only_when_gamma_takes_a_gradient():
    """x is needed again only for γ's gradient: with γ frozen, x may change in place before backward (as
    with the reference's ops); with γ trained, the change is refused rather than giving a wrong gradient."""
    stats = (np.zeros(3, np.float32), np.ones(3, np.float32))
    for gamma_trains in (False, True):
        x = gw.tensor(np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32))
        gamma = gw.tensor(np.full(3, 2.0, np.float32), requires_grad=gamma_trains)
        beta = gw.tensor(np.zeros(3, np.float32), requires_grad=True)
        out = F.batch_norm(x, *stats, gamma, beta, training=False)
        assert type(out.creator).__name__ == "FrozenBatchNorm"
        x += 1.0
        if gamma_trains:
            with pytest.raises(RuntimeError, match="changed in place"):
                out.sum().backward()
        else:
            out.sum().backward()
            np.testing.assert_array_equal(beta.grad, np.full(3, 4.0))


def test_batch_norm_in_evaluation_keeps_the_four_ops_where_the_fused_op_does_not_apply():
    """Without γ and β (affine=False), or with γ of another dtype than x, the reference's ops run."""
    x = gw.tensor(np.random.default_rng(6).standard_normal((2, 3, 2, 2)).astype(np.float32))
    stats = (np.zeros(3, np.float32), np.ones(3, np.float32))
    plain = F.batch_norm(x, *stats, training=False)
    mixed = F.batch_norm(x, *stats, gw.tensor(np.ones(3)), gw.tensor(np.zeros(3)), training=False)
    assert type(plain.creator).__name__ != "FrozenBatchNorm" and type(mixed.creator).__name__ != "FrozenBatchNorm"
    assert mixed.dtype == np.float64  # promoted, as the reference's products do


def layer_norm_on(path, x, normalized, weight, bias, gradient):
    """layer_norm's output and the gradients of x, γ, β (those given) on one kernel path."""
    with gw.kernels.use(path):
        leaves = [gw.tensor(a, requires_grad=True) if a is not None else None for a in (x, weight, bias)]
        out = F.layer_norm(leaves[0], normalized, leaves[1], leaves[2])
        out.backward(gw.tensor(gradient))
        return out.data, [leaf.grad for leaf in leaves if leaf is not None]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "bias", "none"])
def test_layer_norm_runs_the_compiled_loops(compiled_calls, dtype, affine):
    """Both passes compiled, with the reference's numbers, for every combination of γ and β; for d = 257
    (not a multiple of any vector width) and rows of very different scales."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 5, 257)) * np.array([0.1, 1.0, 1e3])[:, None, None] + 2.0).astype(dtype)
    weight = rng.standard_normal(257).astype(dtype) if "weight" in affine else None
    bias = rng.standard_normal(257).astype(dtype) if "bias" in affine else None
    gradient = rng.standard_normal(x.shape).astype(dtype)
    fast, fast_grads = layer_norm_on("fast", x, 257, weight, bias, gradient)
    assert [name for name, _ in compiled_calls] == ["layer_norm_forward", "layer_norm_backward"]
    reference, reference_grads = layer_norm_on("reference", x, 257, weight, bias, gradient)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(fast, reference, **tol)
    for a, b in zip(fast_grads, reference_grads, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


@needs_numba
def test_layer_norm_compiled_with_nan_and_a_constant_row(compiled_calls):
    """A NaN spreads to its own row only, as in the reference (the compiler may regroup the sums, but not
    drop a NaN); a constant row normalises to β."""
    x = np.random.default_rng(5).standard_normal((4, 6))
    x[1, 3] = np.nan
    x[2] = 7.0
    bias = np.full(6, 0.5)
    out = {path: layer_norm_on(path, x, 6, np.ones(6), bias, np.ones_like(x))[0] for path in ("fast", "reference")}
    assert [name for name, _ in compiled_calls] == ["layer_norm_forward", "layer_norm_backward"]
    assert np.isnan(out["fast"][1]).all() and not np.isnan(out["fast"][[0, 2, 3]]).any()
    np.testing.assert_array_equal(out["fast"][2], 0.5)
    np.testing.assert_allclose(out["fast"], out["reference"], rtol=1e-12, atol=1e-12)  # NaN where it has NaN


@needs_numba
def test_layer_norm_takes_the_numpy_backward_for_a_float64_gradient_into_a_float32_layer(compiled_calls):
    """A float64 gradient (a loss against float64 values) into a float32 layer: the NumPy backward, whose
    products promote as the reference's do; the input's gradient comes out in float64."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    weights = rng.standard_normal(x.shape)  # float64

    def input_grad(path):
        with gw.kernels.use(path):
            leaf = gw.tensor(x, requires_grad=True)
            h = leaf * 1.0
            h.retain_grad()
            out = F.layer_norm(h, 8, gw.ones(8, requires_grad=True), gw.zeros(8, requires_grad=True))
            (out * gw.tensor(weights)).sum().backward()
            return h.grad

    fast, reference = input_grad("fast"), input_grad("reference")
    assert [name for name, _ in compiled_calls] == ["layer_norm_forward"]
    assert fast.dtype == reference.dtype == np.float64
    np.testing.assert_allclose(fast, reference, rtol=2e-4, atol=2e-5)


def test_a_reassociating_loop_is_compiled_with_the_reassoc_flag_alone(monkeypatch):
    asked = []

    def njit(**options):
        asked.append(options)
        return lambda function: function

    monkeypatch.setattr(jit, "_numba", lambda: types.SimpleNamespace(njit=njit))
    from gradwork.kernels import layer_norm_loops
    jit.compiled.__wrapped__(layer_norm_loops.layer_norm_forward)
    assert asked == [dict(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})]


def test_only_the_layer_norm_loops_may_reassociate():
    """The one exception to IEEE order is marked on the makers that need it (their row sums)."""
    from gradwork.kernels import layer_norm_loops, normalization_loops, sparse_adam
    modules = [pooling_loops, normalization_loops, layer_norm_loops, sparse_adam]
    if jit._numba() is not None:  # (activation_loops imports Numba itself)
        from gradwork.kernels import activation_loops
        modules.append(activation_loops)
    marked = {maker.__name__ for module in modules
              for maker in vars(module).values() if getattr(maker, "reassociates", False)}
    assert marked == {"layer_norm_forward", "layer_norm_backward"}


def depthwise_on(path, x, weight, bias, gradient, **geometry):
    """conv2d's output and the gradients of x, weight and bias on one kernel path; x keeps its layout."""
    with gw.kernels.use(path):
        leaves = [as_stored(a, requires_grad=True) for a in (x, weight, bias)]
        out = F.conv2d(*leaves, groups=x.shape[1], **geometry)
        out.backward(gw.tensor(gradient))
        return [out.data] + [leaf.grad for leaf in leaves]


@needs_numba
@pytest.mark.parametrize("layout", ["channels-last", "channels-first"])
@pytest.mark.parametrize("geometry", [dict(padding=1), dict(stride=2, padding=2, dilation=2), dict(stride=(1, 2))],
                         ids=["3x3", "strided-dilated", "no-padding"])
def test_depthwise_convolution_runs_the_compiled_loops(compiled_calls, layout, geometry):
    """groups = in = out channels: forward, input and weight gradients as compiled loops, the reference's
    numbers (float64, to 1e-12), whatever the input's layout."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 9, 8))
    x = channels_last(x) if layout == "channels-last" else x
    weight, bias = rng.standard_normal((5, 1, 3, 3)), rng.standard_normal(5)
    with gw.kernels.use("reference"):
        out_shape = F.conv2d(gw.tensor(x), gw.tensor(weight), groups=5, **geometry).shape
    gradient = rng.standard_normal(out_shape)
    fast = depthwise_on("fast", x, weight, bias, gradient, **geometry)
    reference = depthwise_on("reference", x, weight, bias, gradient, **geometry)
    assert compiled_calls == [("forward_loop", ()), ("backward_loop", (True, False)), ("backward_loop", (False, True))]
    for a, b in zip(fast, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert fast[0].transpose(0, 2, 3, 1).flags.c_contiguous  # the output stored channels-last


@needs_numba
def test_depthwise_convolution_in_float32_with_a_float64_gradient(compiled_calls):
    """A float64 gradient into the float32 layer: the gradients in float64, as the reference's products."""
    rng = np.random.default_rng(1)
    x, weight, bias = (rng.standard_normal(shape).astype(np.float32) for shape in ((2, 4, 6, 6), (4, 1, 3, 3), (4,)))
    gradient = rng.standard_normal((2, 4, 6, 6))  # float64
    fast = depthwise_on("fast", x, weight, bias, gradient, padding=1)
    reference = depthwise_on("reference", x, weight, bias, gradient, padding=1)
    assert compiled_calls == [("forward_loop", ()), ("backward_loop", (True, False)), ("backward_loop", (False, True))]
    for a, b in zip(fast, reference):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


@needs_numba
def test_depthwise_convolution_keeps_the_window_path_where_the_loops_do_not_fit(compiled_calls):
    """Two output channels per group, or the loops switched off: the window path, the same numbers."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 5))
    with gw.kernels.use("fast"):
        F.conv2d(gw.tensor(x), gw.tensor(rng.standard_normal((6, 1, 3, 3))), groups=3)
    assert compiled_calls == []
    weight, bias, gradient = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3), rng.standard_normal((2, 3, 5, 5))
    previous = jit.enable(False)
    try:
        numpy_path = depthwise_on("fast", x, weight, bias, gradient, padding=1)
    finally:
        jit.enable(previous)
    assert compiled_calls == []
    for a, b in zip(numpy_path, depthwise_on("fast", x, weight, bias, gradient, padding=1)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_numba
@pytest.mark.parametrize("bias_shape", [(1,), (3,), (), (1, 4)])
def test_depthwise_convolution_with_a_bias_of_another_shape_takes_the_window_path(compiled_calls, bias_shape):
    """A bias not of one value per channel: the window path, with the reference's broadcasting or error —
    the loops would read past a short bias."""
    rng = np.random.default_rng(3)
    x, weight, bias = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(bias_shape)
    outcomes = []
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            try:
                outcomes.append(F.conv2d(gw.tensor(x), gw.tensor(weight), gw.tensor(bias), padding=1, groups=4).data)
            except Exception as error:  # noqa: BLE001 — the same kind of error on both paths
                outcomes.append(type(error))
    assert compiled_calls == []
    if isinstance(outcomes[1], type):
        assert outcomes[0] is outcomes[1]
    else:
        np.testing.assert_allclose(outcomes[0], outcomes[1], rtol=1e-12, atol=1e-12)


@needs_numba
def test_depthwise_convolution_with_negative_padding_takes_the_window_path(compiled_calls):
    x, weight = np.ones((1, 3, 5, 5)), np.ones((3, 1, 3, 3))
    errors = []
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path), pytest.raises(Exception) as caught:
            F.conv2d(gw.tensor(x), gw.tensor(weight), padding=-1, groups=3)
        errors.append(caught.type)
    assert errors[0] is errors[1] and compiled_calls == []


@needs_numba
@pytest.mark.parametrize("wanted", [(True, False), (False, True)], ids=["input only", "weight only"])
def test_depthwise_convolution_walks_only_for_the_gradients_wanted(compiled_calls, wanted):
    """A frozen weight or an input that needs no gradient: one walk, for the other gradient."""
    rng = np.random.default_rng(4)
    x, weight = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((3, 1, 3, 3))
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            xt, wt = gw.tensor(x, requires_grad=wanted[0]), gw.tensor(weight, requires_grad=wanted[1])
            F.conv2d(xt, wt, padding=1, groups=3).backward(gw.tensor(np.ones((2, 3, 6, 6))))
            results[path] = xt.grad if wanted[0] else wt.grad
    assert compiled_calls == [("forward_loop", ()), ("backward_loop", wanted)]
    np.testing.assert_allclose(results["fast"], results["reference"], rtol=1e-12, atol=1e-12)


@needs_numba
def test_batch_norm_in_evaluation_with_only_the_affine_gradients_skips_the_input_gradient(compiled_calls):
    """Fine-tuning γ and β of a frozen network on fixed features: the compiled pass sums, writes no ∂L/∂x."""
    rng = np.random.default_rng(8)
    x = channels_last(rng.standard_normal((3, 4, 5, 5))).astype(np.float32)
    stats = (rng.standard_normal(4).astype(np.float32), rng.random(4).astype(np.float32) + 0.5)
    gradient = rng.standard_normal(x.shape).astype(np.float32)
    results = {}
    for path in ("fast", "reference"):
        with gw.kernels.use(path):
            w, b = gw.tensor(np.full(4, 1.5, np.float32), requires_grad=True), gw.tensor(np.zeros(4, np.float32),
                                                                                     requires_grad=True)
            F.batch_norm(as_stored(x), *stats, w, b, training=False).backward(gw.tensor(gradient))
            results[path] = (w.grad, b.grad)
    assert compiled_calls == [("normalize_rows", ()), ("frozen_batch_norm_backward", (False,))]
    for fast, reference in zip(results["fast"], results["reference"]):
        assert fast.dtype == reference.dtype
        np.testing.assert_allclose(fast, reference, rtol=2e-5, atol=1e-5)


def activation_on(fn, path, x, gradient):
    """An activation's output and input gradient on one kernel path; x and the gradient keep their layouts."""
    with gw.kernels.use(path):
        t = as_stored(x, requires_grad=True)
        out = fn(t)
        out.backward(as_stored(gradient))
        return out.data, t.grad


#: activations with compiled loops for float32: (function, its loops' makers)
ACTIVATION_LOOPS = {"gelu": (F.gelu, "gelu"), "gelu tanh": (lambda t: F.gelu(t, approximate="tanh"), "gelu_tanh"),
                    "sigmoid": (F.sigmoid, "sigmoid"), "silu": (F.silu, "silu")}


@needs_numba
@pytest.mark.parametrize("activation", ACTIVATION_LOOPS)
@pytest.mark.parametrize("layouts", ["C order", "channels-last", "channels-last x, C-order gradient"])
def test_activations_run_the_compiled_loops_in_the_input_layout(compiled_calls, activation, layouts):
    fn, loops = ACTIVATION_LOOPS[activation]
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((3, 4, 5, 6)) * 3).astype(np.float32)
    gradient = rng.standard_normal(x.shape).astype(np.float32)
    if layouts != "C order":
        x = channels_last(x)
    if layouts == "channels-last":
        gradient = channels_last(gradient)
    fast, reference = activation_on(fn, "fast", x, gradient), activation_on(fn, "reference", x, gradient)
    assert compiled_calls == [(f"{loops}_forward", ()), (f"{loops}_backward", ())]
    assert fast[0].strides == x.strides and fast[1].strides == x.strides  # laid out like the input
    for ours, theirs in zip(fast, reference):
        np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-6)


@needs_numba
@pytest.mark.parametrize("activation", ACTIVATION_LOOPS)
def test_activations_keep_the_numpy_kernel_where_the_loops_do_not_fit(compiled_calls, activation):
    """A slice with gaps (no one block of memory) and float64 take the NumPy kernel; a float64 gradient
    into a float32 activation takes its NumPy backward (the product is made in float64, as the reference's)."""
    fn, loops = ACTIVATION_LOOPS[activation]
    rng = np.random.default_rng(10)
    gapped = rng.standard_normal((6, 8)).astype(np.float32)[:, ::2]
    results = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            t = gw.tensor(np.zeros_like(gapped), requires_grad=True)
            t.data = gapped  # a view with gaps between its elements
            out = fn(t)
            out.backward(gw.tensor(np.ones_like(gapped)))
            results[path] = (out.data, t.grad)
    # (the forward's own output is dense: sigmoid's backward, which reads only that, may run compiled)
    assert (f"{loops}_forward", ()) not in compiled_calls
    for ours, theirs in zip(results["fast"], results["reference"]):
        np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-6)
    compiled_calls.clear()
    doubles = rng.standard_normal((6, 4))
    np.testing.assert_allclose(activation_on(fn, "fast", doubles, doubles)[1],
                               activation_on(fn, "reference", doubles, doubles)[1], rtol=1e-10, atol=1e-12)
    assert compiled_calls == []
    x = rng.standard_normal((6, 4)).astype(np.float32)
    grads = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            t = gw.tensor(x, requires_grad=True)
            (fn(t) * gw.tensor(doubles)).sum().backward()  # the activation's output gradient is float64
            grads[path] = t.grad
    assert compiled_calls == [(f"{loops}_forward", ())]
    np.testing.assert_allclose(grads["fast"], grads["reference"], rtol=2e-4, atol=2e-6)


@needs_numba
def test_the_compiled_exponential_matches_numpy_to_an_ulp():
    """``activation_loops.exp_of_nonpositive``, the vectorisable e^v: within 1.5·10⁻⁷ relative of float64's
    exp over [−87, 0], NumPy's subnormal results below that to within a step of the smallest float32; 1 at
    ±0, NaN for NaN, 0 for −∞ and below −150·ln 2."""
    import numba

    from gradwork.kernels import activation_loops

    @numba.njit
    def exps(v, out):
        for k in range(v.size):
            out[k] = activation_loops.exp_of_nonpositive(v[k])

    v = -np.linspace(0, 87.3, 200001).astype(np.float32)
    out = np.empty_like(v)
    exps(v, out)
    np.testing.assert_allclose(out, np.exp(v.astype(np.float64)), rtol=1.5e-7, atol=0)
    tail = -np.linspace(87.3, 104, 20001).astype(np.float32)
    out = np.empty_like(tail)
    exps(tail, out)
    assert np.count_nonzero(out) > 15000  # subnormal, not flushed to 0
    np.testing.assert_allclose(out, np.exp(tail), rtol=1e-6, atol=2e-45)
    special = np.array([np.nan, -np.inf, 0.0, -0.0, -104.0, -1e30, 3e-8], np.float32)
    out = np.empty_like(special)
    exps(special, out)
    np.testing.assert_array_equal(out, [np.nan, 0, 1, 1, 0, 0, 1])


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_runs_the_compiled_loop_where_the_gradient_matches(compiled_calls, dtype, monkeypatch):
    """ReLU's backward is one compiled pass for float32 and float64 when y and its gradient share a dtype and
    a layout (and y is not small); a float64 gradient into a float32 ReLU, float16, a gradient in another
    layout and a small y keep the NumPy kernel."""
    from gradwork.kernels import activations
    x = channels_last(np.random.default_rng(11).standard_normal((2, 3, 4, 5))).astype(dtype)
    activation_on(F.relu, "fast", x, np.ones_like(x))
    assert compiled_calls == []  # 120 values: below COMPILED_BACKWARD_MIN_SIZE
    monkeypatch.setattr(activations, "COMPILED_BACKWARD_MIN_SIZE", 0)
    results = [activation_on(F.relu, path, x, np.ones_like(x)) for path in ("fast", "reference")]
    assert compiled_calls == [("relu_backward", ())]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][1].strides == x.strides
    compiled_calls.clear()
    for data, gradient_dtype in ((x.astype(np.float32), np.float64), (x.astype(np.float16), np.float16)):
        t = gw.tensor(data, requires_grad=True)
        (F.relu(t) * gw.tensor(np.ones(data.shape, gradient_dtype))).sum().backward()
    results = [activation_on(F.relu, path, x, np.ascontiguousarray(x)) for path in ("fast", "reference")]
    assert compiled_calls == []  # (a C-ordered gradient for channels-last y)
    np.testing.assert_array_equal(results[0][1], results[1][1])


#: (loop, argument position) → why that argument is float64 for float32 data: running totals kept in float64
FLOAT64_BY_DESIGN = {("backward_loop", 4): "depthwise weight gradient's sums",
                     ("frozen_batch_norm_backward", 5): "Σg", ("frozen_batch_norm_backward", 6): "Σ g·(x − μ)",
                     ("layer_norm_backward", 5): "Σ g·x̂", ("layer_norm_backward", 6): "Σg"}


@needs_numba
def test_every_compiled_loop_gets_float32_arrays_for_float32_data(monkeypatch):
    """A float32 network through every compiled kernel: each loop receives float32 arrays, except the float64
    running totals made so on purpose, and integers only as indices and winners — an argument of another
    type makes the loop compute in it (average pooling's int64 divisors made its loops divide in float64,
    2.6× slower, in session 15, with every test passing)."""
    seen = []
    compiled = jit.compiled

    def recording(maker, *constants):
        loop = compiled(maker, *constants)

        def spy(*arguments):
            seen.append((maker.__name__, [getattr(a, "dtype", None) for a in arguments]))
            return loop(*arguments)
        return spy

    monkeypatch.setattr(jit, "compiled", recording)
    gw.manual_seed(0)
    nn = gw.nn
    model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AvgPool2d(3, 1, 1), nn.MaxPool2d(3, 2, 1))
    x = gw.tensor(np.random.default_rng(12).standard_normal((4, 8, 64, 64)).astype(np.float32), requires_grad=True)
    for training in (True, False):
        model.train(training)
        model(x).sum().backward()
    nn.LayerNorm(64)(x).sum().backward()
    for fn in (F.gelu, F.sigmoid, F.silu, lambda t: F.gelu(t, approximate="tanh"), F.softmax, F.log_softmax):
        fn(x).sum().backward()
    logits = gw.tensor(np.random.default_rng(13).standard_normal((32, 100)).astype(np.float32), requires_grad=True)
    F.cross_entropy(logits, np.arange(32)).backward()
    embedding = nn.Embedding(50, 8, sparse=True)
    optimizer = gw.optim.SparseAdam(embedding.parameters())
    embedding(np.array([1, 2, 3])).sum().backward()
    optimizer.step()
    names = {name for name, _ in seen}
    assert {"forward_loop", "backward_loop", "batch_norm_forward", "batch_norm_backward", "normalize_rows",
            "frozen_batch_norm_backward", "max_pool_forward", "max_pool_backward", "avg_pool_forward",
            "avg_pool_backward", "layer_norm_forward", "layer_norm_backward", "gelu_forward", "sigmoid_forward",
            "silu_forward", "gelu_tanh_forward", "relu_backward", "update_rows_loop", "softmax_forward",
            "softmax_backward", "log_softmax_forward", "log_softmax_backward", "cross_entropy_forward"} <= names
    for name, dtypes in seen:
        for position, dtype in enumerate(dtypes):
            if dtype is None or dtype == np.float32 or dtype.kind in "u" or (name, position) in FLOAT64_BY_DESIGN:
                continue
            assert (name == "update_rows_loop" or (name, position) == ("cross_entropy_forward", 2)) \
                and dtype == np.int64, (name, position, dtype)  # (the rows SparseAdam updates, cross-entropy's labels)
