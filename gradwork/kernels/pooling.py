"""Fast pooling: the same numbers as ``gradwork/ops/pooling.py``, on the fast convolution's
channels-last windows (``gradwork.kernels.conv.im2col``), so pooling a convolution's output needs no
copy, and — for max pooling — with one byte per output recorded in forward so backward never reads
the input again (1.13× on the W2 training step, bench/RESULTS.md, 2026-11-23). Ties go to the first
kernel position in row-major order, as in the reference's argmax. Max pooling runs as compiled loops
over channels-last memory when Numba is installed (``pooling_loops.py``).
"""
from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.kernels import jit, pooling_loops, threads
from gradwork.kernels.conv import col2im, im2col
from gradwork.kernels.layout import channels_last
from gradwork.ops.conv import output_size
from gradwork.ops.pooling import AdaptiveAvgPool2dFunction, AvgPool2dFunction, lowest_value


def windows(x, kernel, stride, padding, dilation, extra, pad_value):
    """im2col's windows of ``x`` (N, H', W', 1, kh, kw, C), with ``extra`` more rows and columns of
    ``pad_value`` at the bottom and right for ceil_mode's partial last windows."""
    if extra != (0, 0):
        x = xp.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=pad_value)
    return im2col(x, kernel, stride, padding, dilation, pad_value=pad_value)


def add_back(cols, input_shape, stride, padding, dilation, extra):
    """col2im for :func:`windows`: the gradients added back onto the input, the ``extra`` part cropped off."""
    if extra == (0, 0):
        return col2im(cols, input_shape, stride, padding, dilation)
    n, c, h, w = input_shape
    return col2im(cols, (n, c, h + extra[0], w + extra[1]), stride, padding, dilation)[:, :, :h, :w]


def maximum_of(views, out=None):
    """The elementwise maximum of equally shaped arrays: into ``out``, or one new array in the first
    one's memory order."""
    if len(views) == 1:
        if out is None:
            return views[0].copy(order="K")
        out[...] = views[0]
        return out
    out = xp.maximum(views[0], views[1], out=out)
    for view in views[2:]:
        xp.maximum(out, view, out=out)
    return out


class FastMaxPool2d(Function):
    """out = max over each window. Backward routes the whole gradient to the one position that
    held the maximum (the first, if several tie) — the max gate of a computational graph.

    **Non-overlapping windows** (stride = kernel, no padding or dilation: ``MaxPool2d(2)`` after a
    convolution, the usual case) run as compiled loops when Numba is installed
    (``kernels/pooling_loops.py``, ``kernels/jit.py``): one pass each way, forward 1.46 → 0.13 ms and
    backward 1.02 → 0.20 ms on a 128 × 16 × 28 × 28 batch against the NumPy version below; W2 1.40×,
    W3 1.18×, W5 1.20× A/B (bench/RESULTS.md, 2026-11-30, session 10). Their winner of a window holding
    NaN is its first NaN, as the reference's. The loops walk channels-last memory, the convolutions'
    output; input stored otherwise is copied into that order first (``layout.channels_last``), which
    costs less than the NumPy version: 128 × 16 × 28 × 28 with winners, NumPy 8.1 → copy and loop 5.9 ms
    stored channels-first (a Dropout's output), 8.5 → 3.9 ms as a convolution's padded view (a pool
    straight after a convolution); 3 × 3 / 2 / 1 windows on 16 × 64 × 56 × 56 channels-first 35 → 12 ms
    (bench/RESULTS.md, 2026-12-01, session 14).

    **Non-overlapping windows** without Numba take the input apart
    with free reshapes, (N, C, H'·kh, W'·kw) → (N, C, H', kh, W', kw), and take the maximum in two
    stages: first down each window's kh rows, whose runs in memory are whole image rows, then across its
    kw columns, on data already kh times smaller. Looking at the kh·kw positions one by one instead
    reads runs of C values each (16 for a 16-channel layer stored channels-last); the two stages take
    1000 × 16 × 28 × 28 in 14.9 ms instead of 20.7 ms
    (bench/RESULTS.md, 2026-11-30). When a gradient will be needed, the *winner* of each window —
    the index k of the first position holding the maximum, one byte per output — comes from
    comparing the positions with the maximum: counting from the last position back,
    ``steps_k = (x_k ≠ max)·(1 + steps_{k+1})`` is how far past k the first maximum lies, so
    ``steps_0`` is the winner. (A window holding NaN outputs NaN, as the reference does, and sends its
    gradient to its last position, where the reference's argmax picks the first NaN.)

    **Other windows** (overlapping, padded, dilated, ceil_mode) run as compiled loops too when Numba is
    installed (``max_pool_windows_forward`` and ``_backward``: 3 × 3 windows,
    stride 2, padding 1 on 16 × 64 × 112 × 112, forward and backward 158–171 → 44–46 ms, forward alone
    31.5 → 10.4 ms). Otherwise they are the strided view of convolution (``im2col``): the loop walks the
    kh·kw kernel positions — each a strided view that covers every window at once — keeping the running
    maximum, and records the winner as it goes.

    Backward (NumPy) only asks, position by position, "is k the winner?" — it never reads the input
    again (1.13× on the W2 training step, bench/RESULTS.md, 2026-11-23). No loop over pixels. It
    multiplies the gradient by that 0/1 answer, so an infinite or NaN gradient puts NaN (∞·0) on the
    window's other positions, where the reference and the compiled loops put 0.

    The forward (compiled, and NumPy's non-overlapping one) and the backward split the batch over threads
    where that pays (``kernels/threads.py``), each part writing its own rows: W3's max-pool forward
    2.24 → 1.25 ms and backward 1.72 → 1.00 ms in the step with ``OPENBLAS_THREAD_TIMEOUT=4``
    (bench/RESULTS.md, 2026-11-30, session 7).
    """

    op_name = "max_pool2d"

    def __init__(self, kernel, stride, padding, dilation=(1, 1), extra=(0, 0)):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.extra = dilation, extra  # extra: ceil_mode's rows and columns past the end

    def geometry(self):
        """kh, kw, sh, sw, ph, pw, dh, dw: the windows, as the compiled window loops take them."""
        return (*self.kernel, *self.stride, *self.padding, *self.dilation)

    def positions(self, windows):
        kh, kw = self.kernel
        return [windows[:, :, :, 0, i, j, :] for i in range(kh) for j in range(kw)]

    def forward(self, x):
        record = any(self.needs_input_grad)
        self.input_shape = x.shape
        self.tiles = (self.stride == self.kernel and self.padding == (0, 0) and self.dilation == (1, 1)
                      and self.extra == (0, 0))
        out, winner = (self.forward_tiles if self.tiles else self.forward_windows)(x, record)
        if record:
            self.save_for_backward(winner)
        return out

    def forward_tiles(self, x, record):
        """Non-overlapping windows: (N, C, H', W') maxima (stored channels-last by the compiled loops, else
        in ``x``'s memory order) and,
        if ``record``, the (N, C, H', W') winners. Parts of the batch run on separate threads
        (``kernels.threads``), each writing its own rows of both."""
        kh, kw = self.kernel
        n, c, h, w = x.shape
        out_h, out_w = h // kh, w // kw  # rows and columns past the last whole window are never read
        if jit.runs_on(x):
            x_ = channels_last(x)
            out_ = xp.empty((n, out_h, out_w, c), dtype=x.dtype)  # (N, H', W', C), as the loop walks memory
            winner_ = xp.empty(out_.shape, dtype=xp.min_scalar_type(kh * kw - 1)) if record else NO_WINNERS
            loop = jit.compiled(pooling_loops.max_pool_forward, kh, kw, record)
            threads.over_batch(lambda rows: loop(x_[rows], out_[rows], winner_[rows]), n, x.size, x)
            return out_.transpose(0, 3, 1, 2), (winner_.transpose(0, 3, 1, 2) if record else None)
        array_module = get_array_module(x)
        out = array_module.empty_like(x[:, :, :out_h, :out_w])  # x's memory order
        winner = array_module.empty_like(out, dtype=xp.min_scalar_type(kh * kw - 1)) if record else None
        tiles = x[:, :, :out_h * kh, :out_w * kw].reshape(n, c, out_h, kh, out_w, kw)  # a view, any layout

        def pool(rows):
            part, part_out = tiles[rows], out[rows]
            column_max = maximum_of([part[:, :, :, i] for i in range(kh)])  # down the rows: (n, C, H', W', kw)
            maximum_of([column_max[..., j] for j in range(kw)], out=part_out)  # then across the columns
            if not record:
                return
            positions = [part[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
            earlier = positions[-2::-1]  # every position but the last, from the last one back
            steps = winner[rows]  # the last position's steps: 0
            steps[...] = 0
            for index, position in enumerate(earlier):
                behind = (position != part_out).view(xp.uint8).astype(steps.dtype, copy=False)
                steps += 1
                # 0 where this position holds the maximum, else 1 + the later steps; the first position's
                # count goes straight into the winners
                steps = xp.multiply(behind, steps, out=winner[rows] if index == len(earlier) - 1 else behind)

        threads.over_batch(pool, n, x.size, x)
        return out, winner

    def forward_windows(self, x, record):
        """Any windows: (N, C, H', W') maxima and, if ``record``, winners — as compiled loops on
        channels-last memory, else by walking the kernel positions over im2col's strided view."""
        if jit.runs_on(x):
            return self.forward_windows_compiled(x, record)
        first, *rest = self.positions(windows(x, self.kernel, self.stride, self.padding, self.dilation, self.extra,
                                              lowest_value(x.dtype)))
        out = first.copy()  # (N, H', W', C)
        winner = get_array_module(out).zeros(out.shape, dtype=xp.min_scalar_type(len(rest))) if record else None
        for k, candidate in enumerate(rest, start=1):
            if record:  # strictly greater: a tie keeps the earlier position
                better = (candidate > out).view(xp.uint8).astype(winner.dtype, copy=False)
            xp.maximum(out, candidate, out=out)
            if record:  # k exceeds every earlier index, so max(winner, better·k) is "k where better"
                better *= winner.dtype.type(k)
                xp.maximum(winner, better, out=winner)
        out = out.transpose(0, 3, 1, 2)
        return out, (winner.transpose(0, 3, 1, 2) if record else None)

    def forward_windows_compiled(self, x, record):
        """``forward_windows`` through ``pooling_loops.max_pool_windows_forward``, the batch split over threads."""
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel, self.stride, self.padding, self.dilation
        out_h = output_size(h + self.extra[0], kh, sh, ph, dh)  # extra: ceil_mode's rows past the end
        out_w = output_size(w + self.extra[1], kw, sw, pw, dw)
        x_ = channels_last(x)
        out = xp.empty((n, out_h, out_w, c), dtype=x.dtype)  # channels-last, as x_
        winner_ = xp.empty(out.shape, dtype=xp.min_scalar_type(kh * kw - 1)) if record else NO_WINNERS
        loop = jit.compiled(pooling_loops.max_pool_windows_forward, record)
        threads.over_batch(lambda rows: loop(x_[rows], out[rows], winner_[rows], *self.geometry()), n, x.size, x)
        return out.transpose(0, 3, 1, 2), (winner_.transpose(0, 3, 1, 2) if record else None)

    def backward(self, gy):
        (winner,) = self.saved
        n, c, h, w = self.input_shape
        kh, kw = self.kernel
        array_module = get_array_module(gy)
        # Every array below is looked at in (N, H', W', C) order, the memory order of the gradient being
        # written (channels-last), so NumPy's loops run along memory. gy is copied into that order first
        # when it arrives otherwise (from a Flatten, channels-first): each of the kh·kw passes then reads
        # it in order — W3's pool backward 1.5 → 1.0 ms with the copy (bench/RESULTS.md, 2026-11-30).
        gy = gy.transpose(0, 2, 3, 1)
        winner = winner.transpose(0, 2, 3, 1)
        if self.tiles:  # every pixel is in at most one window: write straight into the gradient's blocks
            out_h, out_w = gy.shape[1:3]
            cropped = (out_h * kh, out_w * kw) != (h, w)
            gx = (array_module.zeros if cropped else array_module.empty)((n, h, w, c), dtype=gy.dtype)
            if jit.runs_on(gx):
                return route_compiled(jit.compiled(pooling_loops.max_pool_backward, kh, kw), gy, winner, gx)
            tiles = gx[:, :out_h * kh, :out_w * kw].reshape(n, out_h, kh, out_w, kw, c)
            targets = [tiles[:, :, i, :, j] for i in range(kh) for j in range(kw)]
        elif jit.runs_on(gy):  # windows may overlap: each window's gradient added onto its winner's pixel
            gx = array_module.zeros((n, h, w, c), dtype=gy.dtype)
            return route_compiled(jit.compiled(pooling_loops.max_pool_windows_backward), gy, winner, gx,
                                  self.geometry())
        else:
            routed = array_module.empty(gy.shape[:3] + (1, kh, kw, c), dtype=gy.dtype)
            targets = self.positions(routed)

        def route(rows):
            part, part_winner = array_module.ascontiguousarray(gy[rows]), winner[rows]
            for k, target in enumerate(targets):  # every target is written once, so no zero-filling first
                xp.multiply(part, part_winner == k, out=target[rows])

        threads.over_batch(route, n, n * h * w * c, gy)
        if self.tiles:
            return gx.transpose(0, 3, 1, 2)
        return add_back(routed, self.input_shape, self.stride, self.padding, self.dilation, self.extra)


#: The winners' stand-in for a compiled forward loop that records none (it never touches it).
NO_WINNERS = xp.empty((0, 0, 0, 0), dtype=xp.uint8)


def route_compiled(loop, gy, winner, gx, geometry=()):
    """A compiled backward loop over the batch, split over threads: gy and winner (N, H', W', C) into gx
    (N, H, W, C); returns gx as (N, C, H, W). gy is copied into its order first when it arrives otherwise
    (from a Flatten, channels-first), so the loop reads it in order."""
    gy = xp.ascontiguousarray(gy)
    threads.over_batch(lambda rows: loop(gy[rows], winner[rows], gx[rows], *geometry), len(gx), gx.size, gx)
    return gx.transpose(0, 3, 1, 2)


class FastAvgPool2d(AvgPool2dFunction):
    """out = (sum over each window) / divisor, the window sums made in two steps along memory: a window's
    sum is the sum of its kh rows' sums, each row's sum the sum of kw neighbours. So the input, as a
    channels-last grid (N, Hp, Wp, C), is first summed along its width — kw *shifted views*
    ``grid[:, :, j::sw]`` added up, one per window column j — and that along its height, kh shifted views
    ``[:, i::sh]``: (kw − 1) + (kh − 1) whole-array additions over runs of C channels, not kh·kw − 1.
    Backward runs the same two steps the other way: the share gy / divisor added onto kh shifted views of
    a zero (N, Hp, W', C) array, and that onto kw shifted views of the zero gradient grid; windows side by
    side (stride = kernel) write their shares straight into their blocks (:meth:`tiled_gradient`).
    By default — padding counted as zeros (count_include_pad=True) and no ceil_mode windows hanging
    over the end — every divisor is kh·kw and this is the plain mean. Otherwise ``divisor`` (H', W')
    holds each window's own count (see ``ops.pooling.window_counts``), or the one number
    ``divisor_override``.

    With Numba (``gradwork[jit]``) both passes are instead the compiled loops of ``pooling_loops.py``
    (``avg_pool_forward``, ``avg_pool_backward``): each window's sum, and its gradient's share, in one walk
    over channels-last memory (input stored otherwise is copied into that order first).

    The reference sums a window matrix along its rows (NumPy's reduction over kh·kw values at a time)
    and spreads the gradient back through col2im. Float32, channels-last, forward + backward through the
    layer, input gradient included (bench/RESULTS.md, 2026-12-01, session 15), the separable sums: 64 × 32 ×
    32 × 32, 2 × 2 windows 23.0 → 4.5 ms (PyTorch 6.1), 3 × 3 / 1 / 1 74.8 → 21.9 ms (PyTorch 15.3); the
    compiled loops, the op alone (NumPy → compiled): 3 × 3 / 1 / 1 forward 4.48 → 2.23, backward 5.37 → 2.32
    ms; 2 × 2 0.82 → 0.43, 0.47 → 0.37; 3 × 3 / 2 / 1 1.93 → 0.70, 2.71 → 0.61. The same terms added in
    another order: equal to rounding. Input that is not float32 or float64 takes the reference."""

    op_name = "avg_pool2d"

    def forward(self, x):
        # float32 and float64; float16's sums, added a view at a time in float16, would overflow where the
        # reference's reduction (accumulating in float32) does not: it and integers take the reference
        self.float_input = x.dtype in (xp.float32, xp.float64)
        if not self.float_input:
            return super().forward(x)
        self.input_shape = x.shape
        self.compiled = jit.runs_on(x)
        if self.compiled:
            return self.forward_compiled(x)
        (ph, pw), (eh, ew) = self.padding, self.extra
        grid = x.transpose(0, 2, 3, 1)  # channels-last: a view when x is stored so, else read through strides
        if (ph, pw, eh, ew) != (0, 0, 0, 0):
            grid = get_array_module(x).pad(grid, ((0, 0), (ph, ph + eh), (pw, pw + ew), (0, 0)))
        self.grid_shape = grid.shape
        row_sums = sum_of(self.shifts(grid, axis=2))  # (N, Hp, W', C): each window row's kw values summed
        out = sum_of(self.shifts(row_sums, axis=1))  # (N, H', W', C): a window's kh row sums summed
        out /= self.divisors(x.dtype)
        return out.transpose(0, 3, 1, 2)

    def forward_compiled(self, x):
        """The forward pass as ``pooling_loops.avg_pool_forward`` over x in channels-last order (copied into
        it first if stored otherwise), the batch split over threads."""
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        out_h = output_size(h + self.extra[0], kh, sh, ph, 1)  # extra: ceil_mode's rows past the end
        out_w = output_size(w + self.extra[1], kw, sw, pw, 1)
        self.grid_shape = (n, h + 2 * ph + self.extra[0], w + 2 * pw + self.extra[1], c)  # (for a NumPy backward)
        x_ = channels_last(x)
        out = xp.empty((n, out_h, out_w, c), dtype=x.dtype)
        divisor = self.divisor_grid((out_h, out_w), x.dtype)
        loop = jit.compiled(pooling_loops.avg_pool_forward)
        threads.over_batch(lambda rows: loop(x_[rows], divisor, out[rows], kh, kw, sh, sw, ph, pw), n, x.size, x)
        return out.transpose(0, 3, 1, 2)

    def backward_compiled(self, gy):
        """The backward pass as ``pooling_loops.avg_pool_backward``, the batch split over threads."""
        n, c, h, w = self.input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        gy_ = xp.ascontiguousarray(gy.transpose(0, 2, 3, 1))
        gx = xp.zeros((n, h, w, c), dtype=gy.dtype)
        divisor = self.divisor_grid(gy_.shape[1:3], gy.dtype)
        loop = jit.compiled(pooling_loops.avg_pool_backward)
        threads.over_batch(lambda rows: loop(gy_[rows], divisor, gx[rows], kh, kw, sh, sw, ph, pw), n, gx.size, gx)
        return gx.transpose(0, 3, 1, 2)

    def divisor_grid(self, out_hw, dtype):
        """:meth:`divisors` as an (H', W') array of one divisor per window, as the compiled loops read them, in
        ``dtype`` (an integer kh·kw would make the loops divide in float64: backward 2.5 → 6.0 ms on a 64 ×
        32 × 32 × 32 3 × 3 layer, bench/RESULTS.md, 2026-12-01, session 16)."""
        return xp.ascontiguousarray(xp.broadcast_to(self.divisors(dtype), (*out_hw, 1))[:, :, 0], dtype=dtype)

    def shifts(self, grid, axis):
        """The kernel's views of ``grid`` along ``axis`` (1: the height, 2: the width): view k holds position
        k along that axis of every window, one entry per window."""
        kernel, stride = self.kernel[axis - 1], self.stride[axis - 1]
        count = (grid.shape[axis] - kernel) // stride + 1
        before = (slice(None),) * axis
        return [grid[before + (slice(k, k + stride * (count - 1) + 1, stride),)] for k in range(kernel)]

    def divisors(self, dtype):
        """kh·kw, or the (H', W', 1) counts of each window, to divide an (N, H', W', C) sum by."""
        if self.divisor is None:
            return self.kernel[0] * self.kernel[1]
        return self.divisor[:, :, None].astype(dtype, copy=False)

    def tiled_gradient(self, share):
        """The gradient grid for windows that tile it (stride = kernel): ``share`` (N, H', W', C) written
        into each window's kh × kw block in one pass — the blocks as two more axes of a view of the grid —
        and zeros only where rows or columns are left over past the last window. 64 × 32 × 32 × 32, 2 × 2:
        1.29 → 0.46 ms against additions onto a zero grid."""
        (kh, kw), (n, rows, columns, channels) = self.kernel, self.grid_shape
        out_h, out_w = share.shape[1:3]
        covered = (out_h * kh, out_w * kw) == (rows, columns)
        array_module = get_array_module(share)
        grid = (array_module.empty if covered else array_module.zeros)(self.grid_shape, dtype=share.dtype)
        blocks = grid[:, :out_h * kh, :out_w * kw].reshape(n, out_h, kh, out_w, kw, channels)  # a view: axes split
        blocks[...] = share[:, :, None, :, None]
        return grid

    def backward(self, gy):  # each of the kh·kw window positions gets 1/divisor of the window's gradient
        if not self.float_input:
            return super().backward(gy)
        if self.compiled and jit.runs_on(gy):
            return self.backward_compiled(gy)
        gy, array_module = gy.transpose(0, 2, 3, 1), get_array_module(gy)
        # The share channels-last whatever gy's layout (the additions below run along C; a gradient stored
        # channels-first would make each of them a strided walk: 50 against 12 ms for 3 × 3 / 1 / 1 above).
        share = array_module.divide(gy, self.divisors(gy.dtype), out=array_module.empty(gy.shape, dtype=gy.dtype))
        if self.stride == self.kernel:  # windows side by side: each position gets one share, written once
            grid = self.tiled_gradient(share)
        else:  # the two steps of forward, backwards: onto the rows' sums, then onto the grid
            n, rows, columns, channels = self.grid_shape
            row_sums = array_module.zeros((n, rows, share.shape[2], channels), dtype=share.dtype)
            for view in self.shifts(row_sums, axis=1):
                view += share
            grid = array_module.zeros(self.grid_shape, dtype=share.dtype)
            for view in self.shifts(grid, axis=2):
                view += row_sums
        (ph, pw), (_, _, h, w) = self.padding, self.input_shape
        return grid[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)


def sum_of(views):
    """The elementwise sum of equally shaped arrays, as one new array."""
    total = xp.add(views[0], views[1]) if len(views) > 1 else views[0].copy()
    for view in views[2:]:
        total += view
    return total


class FastAdaptiveAvgPool2d(AdaptiveAvgPool2dFunction):
    """Global average pooling — output 1 × 1, the last pooling of every ResNet — as one mean over each map's
    H·W values, forward, and that mean's gradient gy/(H·W) written into every position of an array laid
    out like the input, backward. The reference multiplies by an averaging matrix on each side, one pair
    of tiny products per (image, channel) in NumPy's batched matmul: (64, 64, 16, 16) float32, channels-last,
    forward and backward 10.3–14.3 → 2.5–2.7 ms (bench/RESULTS.md, 2026-12-01, session 14). The same sum
    divided once instead of scaled twice: equal to rounding. Other output sizes, and input that is not
    float, are the reference's."""

    op_name = "adaptive_avg_pool2d"

    def forward(self, x):
        self.global_mean = self.output_size == (1, 1) and x.dtype.kind == "f" and x.shape[2] * x.shape[3] > 0
        if self.global_mean:
            with get_array_module(x).errstate(over="ignore", invalid="ignore"):
                y = x.mean(axis=(2, 3), keepdims=True)
            # The sum comes before the division: values near the largest float can overflow it where the
            # reference, scaling first, does not. Such maps (and ∞ or NaN in the input) take the reference.
            self.global_mean = bool(get_array_module(y).isfinite(y).all())
        if not self.global_mean:
            return super().forward(x)
        self.input_shape = x.shape
        self.channels_last = x.transpose(0, 2, 3, 1).flags.c_contiguous  # the gradient is laid out like x
        return y

    def backward(self, gy):
        if not self.global_mean:
            return super().backward(gy)
        n, c, h, w = self.input_shape
        array_module = get_array_module(gy)
        if self.channels_last:
            gx = array_module.empty((n, h, w, c), dtype=gy.dtype).transpose(0, 3, 1, 2)
        else:
            gx = array_module.empty((n, c, h, w), dtype=gy.dtype)
        array_module.multiply(gy, 1 / (h * w), out=gx)  # (N, C, 1, 1) spread over each map
        return gx
