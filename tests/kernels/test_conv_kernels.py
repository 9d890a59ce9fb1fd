"""Facts about the fast convolution kernel's own tricks (its numbers are checked against the reference
op in test_fast_equals_reference.py)."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.kernels.conv as conv_kernels
import gradwork.nn.functional as F
from gradwork.kernels.conv import im2col, im2col_channels_first
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(17)


@pytest.mark.parametrize("channels, stride, padding, dilation", [(1, 1, 1, 1), (1, 2, 0, 1), (3, 2, 1, 2)])
def test_channels_first_window_matrix_holds_the_same_windows(channels, stride, padding, dilation):
    """One-channel inputs build the window matrix transposed, columns in (C, kh, kw) order."""
    x = R.standard_normal((2, channels, 7, 6))
    args = ((3, 2), (stride, stride), (padding, padding), (dilation, dilation))
    cols = np.ascontiguousarray(im2col(x, *args)).reshape(-1, channels * 6)  # (kh, kw, C) order
    cols_t = im2col_channels_first(x, *args)  # (C·kh·kw, N·H'·W'), (C, kh, kw) order
    reordered = cols.reshape(-1, 3, 2, channels).transpose(0, 3, 1, 2).reshape(-1, channels * 6)
    np.testing.assert_array_equal(cols_t.T, reordered)


def test_input_gradient_taken_in_blocks_of_images_is_the_same(monkeypatch):
    """accumulate_windows (conv2d's input gradient, conv_transpose2d's forward) works through the
    batch in cache-sized blocks; a budget of one byte makes every image its own block."""
    x, w, gy = R.standard_normal((3, 4, 7, 6)), R.standard_normal((6, 2, 3, 3)), R.standard_normal((3, 6, 4, 3))
    results = []
    for budget in (conv_kernels.CACHE_BLOCK_BYTES, 1):
        monkeypatch.setattr(conv_kernels, "CACHE_BLOCK_BYTES", budget)
        xt = leaf(x)
        F.conv2d(xt, gw.tensor(w), None, 2, 1, 1, 2).backward(gw.tensor(gy))
        results.append((xt.grad, F.conv_transpose2d(gw.tensor(gy), gw.tensor(w), stride=2, padding=1).data))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    assert_grads(lambda x_, wt: F.conv2d(x_, wt, None, 1, 1), R.standard_normal((3, 2, 5, 5)),
                 R.standard_normal((3, 2, 3, 3)))




@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weight_gradient_taken_in_blocks_of_images_is_the_same(monkeypatch, dtype):
    """On the stride-1 path a wide layer's weight gradient builds the window matrix a block of images at a
    time (weight_grad_in_blocks); a budget of one byte makes every image its own block."""
    from gradwork.kernels import blas, conv_shifted
    if not blas.available(np.zeros((1, 1))):
        pytest.skip("NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols: the shifted path is off")
    x, w = R.standard_normal((5, 24, 6, 7)).astype(dtype), R.standard_normal((24, 24, 3, 3)).astype(dtype)
    assert 24 * 24 > conv_shifted.NARROW_CHANNELS  # (narrower layers take conv_shifted.weight_grad)
    gy = R.standard_normal((5, 24, 6, 7)).astype(dtype)
    grads, blocks = [], []
    original = conv_kernels.FastConv2d.weight_grad_in_blocks
    monkeypatch.setattr(conv_kernels.FastConv2d, "weight_grad_in_blocks",
                        lambda self, *args: blocks.append(True) or original(self, *args))
    for budget in (conv_kernels.WINDOW_BLOCK_BYTES, 1):
        monkeypatch.setattr(conv_kernels, "WINDOW_BLOCK_BYTES", budget)
        wt = gw.tensor(w, requires_grad=True)
        F.conv2d(gw.tensor(x), wt, None, 1, 1).backward(gw.tensor(gy))
        grads.append(wt.grad)
    with gw.kernels.use("reference"):
        wt = gw.tensor(w, requires_grad=True)
        F.conv2d(gw.tensor(x), wt, None, 1, 1).backward(gw.tensor(gy))
    assert blocks == [True, True]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads[1], grads[0], **tol)
    np.testing.assert_allclose(grads[1], wt.grad, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("padding, dilation, kernel", [(1, 1, (3, 3)), ((2, 0), (1, 2), (3, 2)), (0, 1, (2, 3)),
                                                       (3, 2, (2, 2))])
def test_narrow_layers_weight_gradient_image_by_image_is_the_window_matrix_one(monkeypatch, dtype, padding, dilation,
                                                                                kernel):
    """A stride-1 layer of at most NARROW_CHANNELS input × output channels makes its weight gradient from
    views of the padded input image by image (conv_shifted.weight_grad); with the limit at 0 the same
    layer builds the window matrix. Equal to each other, to the reference, and to finite differences."""
    from gradwork.kernels import blas, conv_shifted
    if not blas.available(np.zeros((1, 1))):
        pytest.skip("NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols: the shifted path is off")
    x, w = R.standard_normal((3, 6, 7, 5)).astype(dtype), R.standard_normal((4, 6, *kernel)).astype(dtype)
    out_shape = (3, 4, 7 + 2 * np.broadcast_to(padding, 2)[0] - np.broadcast_to(dilation, 2)[0] * (kernel[0] - 1),
                 5 + 2 * np.broadcast_to(padding, 2)[1] - np.broadcast_to(dilation, 2)[1] * (kernel[1] - 1))
    gy = R.standard_normal(out_shape).astype(dtype)
    calls, grads = [], []
    original = conv_shifted.weight_grad
    monkeypatch.setattr(conv_shifted, "weight_grad", lambda *args: calls.append(True) or original(*args))
    for narrow in (conv_shifted.NARROW_CHANNELS, 0):
        monkeypatch.setattr(conv_shifted, "NARROW_CHANNELS", narrow)
        wt = gw.tensor(w, requires_grad=True)
        F.conv2d(gw.tensor(x), wt, None, 1, padding, dilation).backward(gw.tensor(gy))
        grads.append(wt.grad)
    with gw.kernels.use("reference"):
        wt = gw.tensor(w, requires_grad=True)
        F.conv2d(gw.tensor(x), wt, None, 1, padding, dilation).backward(gw.tensor(gy))
        grads.append(wt.grad)
    assert calls == [True]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads[0], grads[1], **tol)
    np.testing.assert_allclose(grads[0], grads[2], **tol)
    monkeypatch.undo()
    if dtype == np.float64:
        assert_grads(lambda x_, wt: F.conv2d(x_, wt, None, 1, padding, dilation), x, w)


@pytest.mark.parametrize("value", [np.inf, np.nan])
@pytest.mark.parametrize("position, dilation, kernel, padding", [
    ((0, 1, 4), 1, (3, 3), 0),   # the last column: wrapped windows of the row above read it
    ((0, 1, 2), (1, 3), (1, 2), 0),   # a column no real window reads (dilation 3 skips it)
    ((0, 2, 4), 1, (3, 3), 1)])
def test_narrow_weight_gradient_with_infinities_or_nan_is_the_references(value, position, dilation, kernel, padding):
    """Image by image, windows that wrap into the next row are multiplied by a zero gradient: ∞ · 0 or NaN · 0
    there would put NaN into entries the reference keeps finite, so a non-finite result is made again from
    the window matrix — the reference's ±∞, NaN and finite entries, each where the reference has them."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 6, 4, 5)), rng.standard_normal((3, 6, *kernel))
    x[(0,) + position] = value
    grads = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path), np.errstate(invalid="ignore", over="ignore"):
            wt = gw.tensor(w, requires_grad=True)
            out = F.conv2d(gw.tensor(x), wt, None, 1, padding, dilation)
            out.backward(gw.tensor(np.random.default_rng(4).standard_normal(out.shape)))
            grads[path] = wt.grad
    fast, reference = grads["fast"], grads["reference"]
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference))
    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-12)  # (±∞ must match exactly)


def test_narrow_strided_convolutions_take_the_phases_and_give_the_references_numbers():
    """A strided layer of at most NARROW_CHANNELS input × output channels with a kernel larger than 1 × 1 runs
    as shifted products over its input's phases (kernels/conv_phases.py); a 1 × 1 kernel and wider layers keep
    the window matrix. Values and all three gradients are the reference's, and pass the finite-difference
    check."""
    from gradwork.kernels import blas
    if not blas.available(np.zeros((1, 1))):
        pytest.skip("NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols: the phases are off")
    rng = np.random.default_rng(8)
    for (c, o, kernel), phased in [((6, 4, 3), True), ((6, 4, 1), False), ((24, 24, 3), False)]:
        x, w, b = rng.standard_normal((2, c, 9, 8)), rng.standard_normal((o, c, kernel, kernel)), rng.standard_normal(o)
        results = {}
        for path in gw.kernels.PATHS:
            with gw.kernels.use(path):
                leaves = [gw.tensor(a, requires_grad=True) for a in (x, w, b)]
                out = F.conv2d(*leaves, stride=2, padding=kernel // 2)
                out.backward(gw.tensor(np.random.default_rng(9).standard_normal(out.shape)))
                results[path] = [out.data] + [leaf.grad for leaf in leaves]
                if path == "fast":
                    assert out._creator.phased == phased, (c, o, kernel)
        for fast, reference in zip(results["fast"], results["reference"]):
            np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-12)
    assert_grads(lambda x_, wt, bt: F.conv2d(x_, wt, bt, (2, 3), (1, 2), (2, 1)), rng.standard_normal((2, 5, 9, 10)),
                 rng.standard_normal((3, 5, 2, 3)), rng.standard_normal(3))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_a_weight_of_infinity_or_nan_gives_the_references_input_gradient(stride, value):
    """The shifted products (and the phases') also run over rows that are not real outputs, whose gradient is
    0: with a non-finite weight, 0 · ∞ would put NaN where the reference's input gradient is finite, so such
    a weight takes the window path's input gradient."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 5, 7, 7)), rng.standard_normal((2, 5, 3, 3))
    w[0, 0, 0, 0] = value
    grads = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path), np.errstate(invalid="ignore"):
            xt = gw.tensor(x, requires_grad=True)
            out = F.conv2d(xt, gw.tensor(w), None, stride, 0)
            out.backward(gw.tensor(np.random.default_rng(6).standard_normal(out.shape)))
            grads[path] = xt.grad
    assert np.isfinite(grads["reference"]).any()
    np.testing.assert_array_equal(np.isnan(grads["fast"]), np.isnan(grads["reference"]))
    np.testing.assert_allclose(grads["fast"], grads["reference"], rtol=1e-12, atol=1e-12)


def shifted_or_not(monkeypatch):
    """A list that records, for every FastConv2d forward from now on, whether it took the shifted products."""
    taken = []
    original = conv_kernels.FastConv2d.forward

    def spy(self, *arrays):
        out = original(self, *arrays)
        taken.append(self.shifted)
        return out

    monkeypatch.setattr(conv_kernels.FastConv2d, "forward", spy)
    return taken


def test_stride_one_convolution_takes_the_shifted_products_and_the_window_matrix_agrees(monkeypatch):
    """Stride 1 with several input channels runs as shifted products summed by BLAS (conv_shifted.py);
    with NumPy's BLAS out of reach it falls back to the window matrix. Both give the same numbers
    and gradients, which also pass the finite-difference check."""
    from gradwork.kernels import blas
    if not blas.available(np.zeros((1, 1))):
        pytest.skip("NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols: the shifted path is off")
    x, w, b = R.standard_normal((2, 5, 6, 5)), R.standard_normal((4, 5, 3, 3)), R.standard_normal(4)
    taken, results = shifted_or_not(monkeypatch), []
    for found in (blas._gemm, {}):
        monkeypatch.setattr(blas, "_gemm", found)
        xt, wt, bt = leaf(x), leaf(w), leaf(b)
        out = F.conv2d(xt, wt, bt, 1, 1, 1)
        out.backward(gw.tensor(np.ones(out.shape)))
        results.append([out.data, xt.grad, wt.grad, bt.grad])
    assert taken == [True, False]
    for shifted, windows in zip(*results):
        np.testing.assert_allclose(shifted, windows, rtol=1e-12, atol=1e-12)
    monkeypatch.undo()
    assert_grads(lambda x_, wt, bt: F.conv2d(x_, wt, bt, 1, (2, 1), (1, 2)), R.standard_normal((2, 5, 5, 6)),
                 R.standard_normal((2, 5, 3, 2)), R.standard_normal(2))


@pytest.mark.parametrize("k", [5, 2048, 2049, 3 * 1024 + 17])
@pytest.mark.parametrize("layout", ["rows", "transposed"])
def test_long_product_is_the_plain_product(k, layout):
    rng = np.random.default_rng(k)
    a = rng.standard_normal((7, k)) if layout == "rows" else rng.standard_normal((k, 7)).T
    b = rng.standard_normal((k, 5))
    np.testing.assert_allclose(conv_kernels.long_product(a, b), a @ b, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_channel_convolution_with_a_long_weight_gradient_product(dtype):
    """N·H'·W' = 2,352 output pixels: the weight gradient goes through long_product's blocks."""
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((3, 1, 28, 28)), rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4)
    gy = rng.standard_normal((3, 4, 28, 28))
    grads = {}
    for path in gw.kernels.PATHS:
        with gw.kernels.use(path):
            leaves = [gw.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
            F.conv2d(*leaves, padding=1).backward(gw.tensor(gy.astype(dtype)))
            grads[path] = [leaf.grad for leaf in leaves]
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-3)
    for fast, reference in zip(grads["fast"], grads["reference"]):
        np.testing.assert_allclose(fast, reference, **tol)


def test_an_rgb_first_layer_keeps_the_window_matrix(monkeypatch):
    """Fewer than conv_shifted.MIN_CHANNELS input channels (an RGB image) take the window matrix, made once
    in forward and kept for the weight gradient; from MIN_CHANNELS on, stride 1 takes the shifted products."""
    from gradwork.kernels import blas, conv_shifted
    if not blas.available(np.zeros((1, 1))):
        pytest.skip("NumPy here is not built on OpenBLAS with 64-bit CBLAS symbols: the shifted path is off")
    taken = shifted_or_not(monkeypatch)
    for channels in (3, conv_shifted.MIN_CHANNELS - 1, conv_shifted.MIN_CHANNELS):
        F.conv2d(gw.tensor(R.standard_normal((2, channels, 6, 6))), gw.tensor(R.standard_normal((4, channels, 3, 3))),
                 padding=1)
    assert taken == [False, False, True]
