"""Max pooling as compiled loops (``kernels/jit.py``): one pass over channels-last memory, forward and
backward, for ``FastMaxPool2d`` when Numba is installed (and average pooling, for ``FastAvgPool2d``: below).

For non-overlapping windows, each maker takes the window's height and width (compiled in as constants)
and returns a loop over
arrays stored channels-last, looked at as (N, H, W, C). Per output element, the forward walks the
kh·kw positions of its window, keeping the maximum and the index k = r·kw + s of the first position that
holds it (the winner: the reference's argmax, ties to the first position, a NaN to the first NaN). The
backward writes each window's gradient to its winner and 0 to the other positions, row by row in the
order the gradient is stored, so every byte of it is written once, in order.

Measured against the NumPy version of ``FastMaxPool2d`` (bench/RESULTS.md, 2026-11-30, session 10),
2×2 windows, float32, one thread: 128 × 16 × 28 × 28 forward with winners 1.46 → 0.13 ms, backward
1.02 → 0.20 ms; 1000 × 16 × 28 × 28 forward 28.8 → 4.3 ms, backward 26 → 2.1 ms.

The forward keeps its running maximum and winner with selects (``a if take else b``), not with an ``if``
around two assignments, as it was written until session 14: there (Numba 0.68.1, as in session 10, on a
``skylake-avx512`` host) the ``if`` had become a branch on the data in the loop that records winners — the
one training runs — taken or not at random, so mispredicted about half the time, and that loop ran no faster
than the NumPy kernel (why it compiled otherwise in session 10 is not known; ``bench/compiled_loops.py``
now watches every loop). Through
``FastMaxPool2d`` on a ReLU's channels-last output, 128 × 16 × 28 × 28: NumPy 9.7 ms, the ``if`` 10.0 ms,
selects 1.8 ms; 1000 images 70.6 / 75.3 / 13.7 ms (a slow phase of the machine); W2 1.09×, W3 1.27× in one
process (bench/RESULTS.md, 2026-12-01, session 14).

Windows that overlap, are padded or dilated (``MaxPool2d(3, 2, 1)``, a ResNet's stem; ceil_mode's last
windows) have loops of their own, ``max_pool_windows_forward`` and ``max_pool_windows_backward``, with the
geometry as arguments: 3 × 3, stride 2, padding 1 on 16 × 64 × 112 × 112, forward and backward 158–171 →
43–46 ms; AlexNet's training step (three ``MaxPool2d(3, 2)``) 1.19× (bench/RESULTS.md, session 10).

Average pooling has loops of the same shape (``avg_pool_forward``, ``avg_pool_backward``): each window's
sum over its positions inside the input, divided by the window's divisor, and back.
"""
import numpy as np


def max_pool_forward(kh, kw, record):
    """The loop ``(x (N, H, W, C), out (N, H', W', C), winner (N, H', W', C))``: out = the maximum of each
    kh × kw window of x, winner = its position k (only if ``record``; ``winner`` is not touched else).
    Rows and columns of x past the last whole window are never read."""

    def loop(x, out, winner):
        n, out_h, out_w, channels = out.shape
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    for c in range(channels):
                        best = x[b, i * kh, j * kw, c]
                        k = 0
                        for r in range(kh):
                            for s in range(kw):
                                value = x[b, i * kh + r, j * kw + s, c]
                                # strictly greater: a tie keeps the earlier position; the first NaN wins and stays
                                take = (value > best) | ((value != value) & (best == best))
                                # selects, not an ``if``: a branch on the data is mispredicted half the time
                                # (see the module's docstring)
                                best = value if take else best
                                k = r * kw + s if take else k
                        out[b, i, j, c] = best
                        if record:
                            winner[b, i, j, c] = k

    return loop


def max_pool_backward(kh, kw):
    """The loop ``(gy (N, H', W', C), winner (N, H', W', C), gx (N, H, W, C))``: each window's gradient
    gy to its winner's position in gx, 0 to its other positions. Rows and columns of gx past the last
    whole window are not written (the caller zeroes them)."""

    def loop(gy, winner, gx):
        n, out_h, out_w, channels = gy.shape
        for b in range(n):
            for i in range(out_h):
                for r in range(kh):  # gx's rows in the order they are stored
                    for j in range(out_w):
                        for s in range(kw):
                            k = r * kw + s
                            for c in range(channels):
                                gx[b, i * kh + r, j * kw + s, c] = gy[b, i, j, c] if winner[b, i, j, c] == k else 0

    return loop


def max_pool_windows_forward(record):
    """The loop ``(x (N, H, W, C), out (N, H', W', C), winner (N, H', W', C), kh, kw, sh, sw, ph, pw, dh,
    dw)`` for any windows (kernel, stride, padding, dilation) —
    overlapping, padded, dilated, or hanging over the end (ceil_mode): out = the maximum of each window,
    winner = its position k = r·kw + s. A position outside x is padding, −∞, as in the reference: it
    takes part in the order of positions but is never read, so a window whose real values are all −∞
    keeps k = 0, the reference's argmax of equal values, even when position 0 is padding.

    The channels are the innermost loop (each window position is a run of C values in memory), so the
    running maximum lives in ``out`` itself. ``winner`` is not touched unless ``record``. The window's
    geometry is passed at run time, not compiled in: here that costs nothing measurable (3 × 3, stride 2,
    padding 1 on 16 × 112 × 112 × 64: 6.1 against 6.3 ms) and saves a compilation per geometry."""

    def loop(x, out, winner, kh, kw, sh, sw, ph, pw, dh, dw):
        n, h, w, channels = x.shape
        out_h, out_w = out.shape[1], out.shape[2]
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    for c in range(channels):
                        out[b, i, j, c] = -np.inf
                        if record:
                            winner[b, i, j, c] = 0
                    for r in range(kh):
                        row = i * sh - ph + r * dh
                        if row < 0 or row >= h:
                            continue
                        for s in range(kw):
                            column = j * sw - pw + s * dw
                            if column < 0 or column >= w:
                                continue
                            for c in range(channels):
                                value = x[b, row, column, c]
                                best = out[b, i, j, c]
                                if value > best or (value != value and best == best):
                                    out[b, i, j, c] = value
                                    if record:
                                        winner[b, i, j, c] = r * kw + s

    return loop


def max_pool_windows_backward():
    """The loop ``(gy (N, H', W', C), winner (N, H', W', C), gx (N, H, W, C), kh, kw, sh, sw, ph, pw, dh,
    dw)`` for any windows: each
    window's gradient added to its winner's pixel in gx, which must start at 0 (windows may overlap); a
    winner in the padding (a window of −∞ only) sends its gradient nowhere, as the reference's crop does.

    A pixel that several windows share receives their gradients in the order of kernel positions k,
    as the reference's col2im adds them (one kernel position at a time), so the sum is the same number:
    for each image, one walk over its windows per k."""

    def loop(gy, winner, gx, kh, kw, sh, sw, ph, pw, dh, dw):
        n, out_h, out_w, channels = gy.shape
        h, w = gx.shape[1], gx.shape[2]
        for b in range(n):
            for r in range(kh):
                for s in range(kw):
                    k = r * kw + s
                    for i in range(out_h):
                        row = i * sh - ph + r * dh
                        if row < 0 or row >= h:
                            continue
                        for j in range(out_w):
                            column = j * sw - pw + s * dw
                            if column < 0 or column >= w:
                                continue
                            for c in range(channels):
                                if winner[b, i, j, c] == k:
                                    gx[b, row, column, c] += gy[b, i, j, c]

    return loop


def avg_pool_forward():
    """The loop ``(x (N, H, W, C), divisor (H', W'), out (N, H', W', C), kh, kw, sh, sw, ph, pw)`` for any
    average-pooling windows: out = the sum of each window's positions inside x (the padding, and ceil_mode's
    rows past the end, are zeros: skipped), divided by that window's divisor — kh·kw, the count of its
    positions, or ``divisor_override`` (``FastAvgPool2d`` fills the array). The positions are added in
    the reference's order (row by row), the channels innermost."""

    def loop(x, divisor, out, kh, kw, sh, sw, ph, pw):
        n, h, w, channels = x.shape
        out_h, out_w = out.shape[1], out.shape[2]
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    for c in range(channels):
                        out[b, i, j, c] = 0
                    for r in range(kh):
                        row = i * sh - ph + r
                        if row < 0 or row >= h:
                            continue
                        for s in range(kw):
                            column = j * sw - pw + s
                            if column < 0 or column >= w:
                                continue
                            for c in range(channels):
                                out[b, i, j, c] += x[b, row, column, c]
                    d = divisor[i, j]
                    for c in range(channels):
                        out[b, i, j, c] /= d

    return loop


def avg_pool_backward():
    """The loop ``(gy (N, H', W', C), divisor (H', W'), gx (N, H, W, C), kh, kw, sh, sw, ph, pw)``: each window's
    share gy / divisor added onto its positions inside the input, in gx, which must start at 0 (windows
    may overlap)."""

    def loop(gy, divisor, gx, kh, kw, sh, sw, ph, pw):
        n, out_h, out_w, channels = gy.shape
        h, w = gx.shape[1], gx.shape[2]
        for b in range(n):
            for i in range(out_h):
                for j in range(out_w):
                    d = divisor[i, j]
                    for r in range(kh):
                        row = i * sh - ph + r
                        if row < 0 or row >= h:
                            continue
                        for s in range(kw):
                            column = j * sw - pw + s
                            if column < 0 or column >= w:
                                continue
                            for c in range(channels):
                                gx[b, row, column, c] += gy[b, i, j, c] / d

    return loop
