"""Fast normalisation. Batch normalisation in training (``FastBatchNormalize``): the same numbers as
``gradwork.ops.normalization.BatchNormalize``, with the activations handled as an (m, C) matrix — a free
view of the channels-last storage that convolutions leave — so that every per-channel sum is one BLAS
vector product instead of NumPy's strided reductions over (N, H, W). Measured inside the ResNet step,
2.1–2.7× faster per layer than normalise, scale and shift as three ops (bench/RESULTS.md, 2026-11-23);
with Numba installed (``gradwork[jit]``) it runs as the compiled loops of ``normalization_loops.py``
instead. Batch normalisation in evaluation (``FrozenBatchNorm``): the reference's four ops as one pass.
Layer normalisation (``FusedLayerNorm``): one op for ``layer_norm``'s three, its row means and sums as
BLAS products — or, with Numba, the compiled loops of ``layer_norm_loops.py``.
"""
import math

from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.kernels import jit, layer_norm_loops, normalization_loops
from gradwork.kernels.layout import WideRows, channel_rows, column_dots, column_sums, from_channel_rows, row_sums


#: The compiled batch-norm loops run along rows of about this many values: k rows of C channels side by
#: side (k a power of two dividing m), so that few channels still make a long inner loop, while the
#: per-column running totals (float64) stay in the processor's first cache.
COMPILED_ROW_VALUES = 256


def compiled_rows(rows):
    """(m, C) contiguous rows as (m/k, k·C) for the compiled loops (a free reshape), and k."""
    m, channels = rows.shape
    k = math.gcd(m, 1 << max(0, (COMPILED_ROW_VALUES // max(channels, 1)).bit_length() - 1))
    return rows.reshape(m // k, k * channels), k


class FastBatchNormalize(Function):
    """Batch normalisation with the batch's own statistics (training mode) and the affine step, as one op:

        x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β

    with μ and the biased σ² per channel, over the batch and every spatial position (m values each).
    Backward, with g = ∂L/∂y:

        ∂L/∂β = Σ g,   ∂L/∂γ = Σ g ⊙ x̂,   ∂L/∂x = γ/√(σ² + ε) ⊙ (g − (∂L/∂β + x̂ ⊙ ∂L/∂γ) / m)

    The obvious version is three ops of the graph — ``Standardize``, then ·γ, then +β — and makes about
    twice as many passes over the activations (2.1–2.7× slower for the ResNet's layers, measured).
    Here:

    * the activations are handled as an (m, C) matrix, a free view of channels-last storage, so each
      per-channel sum is one BLAS vector product;
    * every per-channel scaling runs on wide rows (:class:`WideRows`), k rows side by side, so NumPy's
      loops are long even for 16 channels;
    * forward keeps the centred values c = x − μ rather than x̂ = c/√(σ² + ε): y = c ⊙ (γ/√(σ² + ε)) + β is
      one pass fewer than normalising first, and backward uses x̂ = c/√(σ² + ε) inside its per-channel
      factors (∂L/∂γ = Σ g ⊙ c / √(σ² + ε));
    * the sums of products (Σ c ⊙ c for σ², Σ g ⊙ c for ∂L/∂γ) are one pass each with no temporary
      (:func:`column_dots`): W6 1.056× and 1.081× (A/B in one process, 8 rounds each, bench/RESULTS.md,
      2026-11-30, session 7).

    With Numba (``gradwork[jit]``) and x, γ, β of one float dtype, forward and backward are compiled loops
    instead (``kernels/normalization_loops.py``): three passes forward and two backward, x's (m, C) rows
    kept for backward instead of a centred copy (x itself when it is stored channels-last, so an in-place
    change of x before backward is refused, as in PyTorch). The loops walk k rows side by side
    (``compiled_rows``), so one to a few channels vectorise too. Per layer, float32, forward / backward
    (medians of 40 calls), NumPy kernel → compiled: batch 128 of 16 channels at 28×28 2.6–3.0 / 2.9–3.3
    → 0.51–0.54 / 0.68–0.74 ms, 32 at 14×14 0.80–0.88 / 0.87–0.94 → 0.24 / 0.28 ms, 64 at 7×7
    0.39 / 0.43 → 0.13 / 0.15 ms, 1 channel at 28×28 0.15 / 0.16 → 0.05 / 0.06 ms; (1024, 1024) 0.8–1.0 /
    0.9–1.2 → 0.34 / 0.42–0.47 ms. The ResNet-20 step (W6) 1.081× (A/B in one process, 8 rounds,
    1.02–1.20×; bench/RESULTS.md, 2026-11-30, session 12).
    """

    op_name = "batch_normalize"

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, weight, bias):
        self.compiled = jit.runs_on(x, weight, bias) and x.dtype == weight.dtype == bias.dtype
        if self.compiled:
            return self.forward_compiled(x, weight, bias)
        rows = channel_rows(x)  # (m, C)
        m, c = rows.shape
        wide = WideRows(rows)
        mean = column_sums(rows) / m
        centred = wide.view(rows) - wide.per_channel(mean)  # (m/k, k·C)
        centred_rows = centred.reshape(m, c)
        var = column_dots(centred_rows, centred_rows) / m
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        y = centred * wide.per_channel(weight * inv_std)
        y += wide.per_channel(bias)
        self.save_for_backward(centred, inv_std, weight)
        self.input_shape, self.wide = x.shape, wide
        self.mean, self.var = mean, var  # read by batch_norm to update its running statistics
        return from_channel_rows(y.reshape(m, c), x.shape)

    def forward_compiled(self, x, weight, bias):
        """The forward pass as one compiled loop over x's (m, C) rows; x's rows are kept for backward."""
        array_module = get_array_module(x)
        rows = array_module.ascontiguousarray(channel_rows(x))  # a view for channels-last x
        channels = rows.shape[1]
        wide, _ = compiled_rows(rows)  # long inner loops for few channels too
        y = array_module.empty_like(rows)
        mean, var, inv_std = (array_module.empty(channels, dtype=x.dtype) for _ in range(3))
        # (ε as a float: one compilation whatever number type the layer was given)
        jit.compiled(normalization_loops.batch_norm_forward)(wide, channels, weight, bias, float(self.eps),
                                                             y.reshape(wide.shape), mean, var, inv_std)
        self.save_for_backward(rows, mean, inv_std, weight)
        self.input_shape = x.shape
        self.mean, self.var = mean, var  # read by batch_norm to update its running statistics
        return from_channel_rows(y, x.shape)

    def backward_compiled(self, g):
        rows, mean, inv_std, weight = self.saved
        array_module = get_array_module(rows)
        # A float64 gradient into a float32 layer gives float64 gradients, as the reference's products do
        # (and a float16 one float32: the loops are compiled for float32 and float64 only).
        dtype = array_module.result_type(g, rows)
        g = array_module.ascontiguousarray(channel_rows(g), dtype=dtype)
        gx = array_module.empty(rows.shape, dtype=dtype)
        channels = rows.shape[1]
        g_weight, g_bias = (array_module.empty(channels, dtype=dtype) for _ in range(2))
        wide, _ = compiled_rows(rows)
        jit.compiled(normalization_loops.batch_norm_backward)(g.reshape(wide.shape), wide, channels, mean, inv_std,
                                                              weight, gx.reshape(wide.shape), g_weight, g_bias)
        return from_channel_rows(gx, self.input_shape), g_weight, g_bias

    def backward(self, g):
        if self.compiled:
            return self.backward_compiled(g)
        centred, inv_std, weight = self.saved
        wide = self.wide
        g = channel_rows(g)
        m, c = g.shape
        g_bias = column_sums(g)
        # g as stored like the centred values (a copy only if it is not)
        g = wide.view(get_array_module(g).ascontiguousarray(g))
        g_weight = column_dots(g.reshape(m, c), centred.reshape(m, c)) * inv_std  # Σ g ⊙ x̂
        scale = weight * inv_std
        gx = centred * wide.per_channel(g_weight * scale * inv_std / m)  # x̂ ⊙ ∂L/∂γ · scale / m
        gx += wide.per_channel(g_bias * scale / m)
        xp.subtract(g * wide.per_channel(scale), gx, out=gx)
        return from_channel_rows(gx.reshape(m, c), self.input_shape), g_weight, g_bias


class FrozenBatchNorm(Function):
    """Batch normalisation with given statistics — evaluation's, the running μ and σ² — and the affine
    step as one op (``gradwork.ops.normalization.normalize_with_statistics`` is the composition
    x − μ, ·1/√(σ² + ε), ·γ, +β: four ops and four passes over the activations):

        y = (x − μ) ⊙ s + β,   s = γ/√(σ² + ε)          (per channel; μ, σ² take no gradient)

    backward, with g = ∂L/∂y:  ∂L/∂x = g ⊙ s,   ∂L/∂γ = Σ g ⊙ (x − μ)/√(σ² + ε),   ∂L/∂β = Σ g.

    Forward is one compiled pass over x's (m, C) rows with Numba, else three NumPy passes on wide rows
    (channels-first x is first copied into rows; y comes out channels-last). The scale s is
    γ/√(σ² + ε), taken once per channel, so the products round differently from the reference's: equal
    to rounding. ResNet-20's evaluation forward pass (``build_model("resnet-small")``,
    batch 256 of 1×28×28, float32, ``no_grad``; medians of four alternations of five passes, in a slow
    phase of the machine): 446 ms with the reference's four ops, 362 ms with this op's NumPy passes,
    333 ms with its compiled loop — 1.34×; in a faster phase 355, 315 and 290 ms — 1.22×
    (bench/RESULTS.md, 2026-11-30, session 12).

    Inputs: x, γ, β of one float dtype (``applies``); μ and σ² are given to the constructor, in any dtype,
    and used as the reference uses them (1/√(σ² + ε) computed in σ²'s dtype, then both cast to x's). When
    γ takes a gradient, x's rows are kept for backward (x itself when it is stored channels-last or is
    (N, C)): changing x in place before backward is then refused, as in PyTorch.
    """

    @staticmethod
    def applies(x, weight, bias):
        """γ and β given, and x, γ, β of one dtype, float32 or float64 (the reference promotes mixed ones)."""
        return (weight is not None and bias is not None and x.dtype in (xp.float32, xp.float64)
                and weight.dtype == bias.dtype == x.dtype)

    def __init__(self, mean, var, eps):
        self.mean, self.var, self.eps = mean, var, eps

    def forward(self, x, weight, bias):
        array_module = get_array_module(x)
        inv_std = (1.0 / array_module.sqrt(self.var + self.eps)).astype(x.dtype)
        mean = self.mean.astype(x.dtype)
        scale = weight * inv_std
        rows = array_module.ascontiguousarray(channel_rows(x))  # a view for channels-last x
        if jit.runs_on(rows, mean, scale, bias):
            y = array_module.empty_like(rows)
            wide, k = compiled_rows(rows)
            jit.compiled(normalization_loops.normalize_rows)(wide, *(xp.tile(v, k) for v in (mean, scale, bias)),
                                                             y.reshape(wide.shape))
        else:
            wide = WideRows(rows)
            y = wide.view(rows) - wide.per_channel(mean)
            y *= wide.per_channel(scale)
            y += wide.per_channel(bias)
        # x is needed again only for γ's gradient (x's own is g ⊙ s): kept only then, as PyTorch keeps it
        self.save_for_backward(rows if self.needs_input_grad[1] else None, mean, inv_std, weight)
        self.input_shape = x.shape
        return from_channel_rows(y.reshape(rows.shape), x.shape)

    def backward(self, g):
        rows, mean, inv_std, weight = self.saved
        array_module = get_array_module(g)
        g = array_module.ascontiguousarray(channel_rows(g))
        if self.needs_input_grad[1] and jit.runs_on(g, rows, weight) and g.dtype == rows.dtype == weight.dtype:
            return self.backward_compiled(g, rows, mean, inv_std, weight)
        wide = WideRows(g)
        gx = g_weight = g_bias = None
        if self.needs_input_grad[0]:
            gx = from_channel_rows((wide.view(g) * wide.per_channel(weight * inv_std)).reshape(g.shape),
                                   self.input_shape)
        if self.needs_input_grad[1]:
            centred = wide.view(rows) - wide.per_channel(mean)
            g_weight = column_dots(g, centred.reshape(g.shape)) * inv_std
        if self.needs_input_grad[2]:
            g_bias = column_sums(g)
        return gx, g_weight, g_bias

    def backward_compiled(self, g, rows, mean, inv_std, weight):
        """The three gradients from one compiled pass over g's and x's (m, C) rows
        (``normalization_loops.frozen_batch_norm_backward``): the two sums in float64, ∂L/∂x = g ⊙ s. With
        a gradient wanted for γ (x is kept only then). The NumPy passes above make a centred copy of x and a
        pass per sum: (64, 32, 32, 32) float32 channels-last, all three gradients, 10.0 → 4.2 ms (medians of
        six alternating rounds; bench/RESULTS.md, 2026-12-01, session 14). The sums' terms are the
        reference's, added in float64: equal to rounding."""
        wide_g, k = compiled_rows(g)
        channels = rows.shape[1]
        sums = [xp.zeros(wide_g.shape[1], dtype=xp.float64) for _ in range(2)]  # Σg, Σ g·(x − μ), per column
        gx = xp.empty_like(g) if self.needs_input_grad[0] else xp.empty((0, 0), dtype=g.dtype)
        jit.compiled(normalization_loops.frozen_batch_norm_backward, self.needs_input_grad[0])(
            wide_g, rows.reshape(wide_g.shape), xp.tile(mean, k), xp.tile(weight * inv_std, k),
            gx.reshape(wide_g.shape) if self.needs_input_grad[0] else gx, *sums)
        sum_g, sum_g_centred = (total.reshape(k, channels).sum(axis=0) for total in sums)
        return (from_channel_rows(gx, self.input_shape) if self.needs_input_grad[0] else None,
                (sum_g_centred * inv_std).astype(g.dtype),
                sum_g.astype(g.dtype) if self.needs_input_grad[2] else None)


class FusedLayerNorm(Function):
    """Layer normalisation and its affine step as one op (``gradwork.ops.normalization.layer_norm`` is the
    composition ``Standardize`` → ·γ → +β): each example's last ``k`` axes as one row of d values,

        x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β          (μ, σ² per row)

    and backward, with g = ∂L/∂y and ĝ = γ ⊙ g:

        ∂L/∂β = Σ_rows g,   ∂L/∂γ = Σ_rows g ⊙ x̂,   ∂L/∂x = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε)

    the same formulas as the reference's three ops. What is faster: every mean over a row and every sum
    over the rows is a BLAS product with a vector of ones (NumPy's reductions along a 128-value axis pay
    a fixed cost per row), and no intermediate tensors are kept. W7's LayerNorm, (32, 64, 128) float32,
    forward + backward: 1.33 → 0.74 ms a call; the W7 step 1.04× (A/B in one process, bench/RESULTS.md,
    2026-11-30).

    With Numba (``gradwork[jit]``) both passes are the compiled loops of ``layer_norm_loops.py`` instead
    — each row read once, its sums in float64 —, against the NumPy version above, float32, forward and
    backward: W7's (2048 × 128) 1.33 → 0.54 and 1.92 → 0.74 ms, (8192 × 512) 27.1 → 8.7 and 43.3 → 11.6 ms
    (medians of 11 alternating rounds in one process, on a slow day of the machine: the NumPy version
    took 0.74 ms forward and backward at W7's shape in session 4); the W7 step 1.08× (A/B, 16 rounds;
    bench/RESULTS.md, 2026-12-01). A gradient of another dtype than x (float64 into a float32 model)
    takes the NumPy backward.

    Inputs: x, then γ and β when given (``has_weight``, ``has_bias``), all of one dtype (``applies``).
    """

    op_name = "layer_norm"

    @staticmethod
    def applies(x, normalized_shape, weight, bias):
        """x float32 or float64 with no empty axis; γ and β, when given, of x's dtype (the reference's
        products would promote mixed ones) and of exactly ``normalized_shape`` (the reference also
        broadcasts other shapes)."""
        return (x.dtype in (xp.float32, xp.float64) and 0 not in x.shape
                and all(t is None or (t.dtype == x.dtype and tuple(t.shape) == tuple(normalized_shape))
                        for t in (weight, bias)))

    def __init__(self, k, eps, has_weight, has_bias):
        self.k, self.eps, self.has_weight, self.has_bias = k, eps, has_weight, has_bias

    def forward(self, x, *affine):
        self.normalized_shape = x.shape[x.ndim - self.k:]
        d = math.prod(self.normalized_shape)
        rows = x.reshape(-1, d)
        self.compiled = jit.runs_on(rows, *affine)  # (applies() made γ and β x's dtype)
        if self.compiled:
            return self.forward_compiled(rows, affine, d).reshape(x.shape)
        x_hat = rows - (row_sums(rows) / d)[:, None]  # centred here, scaled in place below
        var = row_sums(x_hat * x_hat) / d
        inv_std = 1.0 / get_array_module(x).sqrt(var + self.eps)
        x_hat *= inv_std[:, None]
        weight = affine[0].reshape(d) if self.has_weight else None
        y = x_hat * weight if self.has_weight else x_hat.copy()
        if self.has_bias:
            y += affine[-1].reshape(d)
        self.save_for_backward(x_hat, inv_std, *affine[:1] if self.has_weight else ())  # γ: its version is checked
        return y.reshape(x.shape)

    def backward(self, g):
        x_hat, inv_std, *weight = self.saved
        rows, d = x_hat.shape
        g_rows = g.reshape(rows, d)
        if self.compiled and g.dtype == x_hat.dtype:
            return self.backward_compiled(g_rows, g.shape, weight)
        needs = self.needs_input_grad
        g_x = g_weight = g_bias = None
        if self.has_weight and needs[1]:
            g_weight = column_sums(g_rows * x_hat).reshape(self.normalized_shape)
        if self.has_bias and needs[-1]:
            g_bias = column_sums(g_rows).reshape(self.normalized_shape)
        if needs[0]:
            g_hat = g_rows * weight[0].reshape(d) if self.has_weight else g_rows.copy()
            mean_g = row_sums(g_hat) / d
            mean_g_x_hat = row_sums(g_hat * x_hat) / d
            g_hat -= mean_g[:, None]
            g_hat -= x_hat * mean_g_x_hat[:, None]
            g_hat *= inv_std[:, None]
            g_x = g_hat.reshape(g.shape)
        return (g_x,) + ((g_weight,) if self.has_weight else ()) + ((g_bias,) if self.has_bias else ())

    def forward_compiled(self, rows, affine, d):
        """Forward as one compiled loop (``layer_norm_loops.layer_norm_forward``): y, and x̂ and 1/√(σ² + ε)
        saved for backward as on the NumPy path. A missing γ or β is passed as ones or zeros."""
        weight = affine[0].reshape(d) if self.has_weight else xp.ones(d, rows.dtype)
        bias = affine[-1].reshape(d) if self.has_bias else xp.zeros(d, rows.dtype)
        y, x_hat = xp.empty(rows.shape, rows.dtype), xp.empty(rows.shape, rows.dtype)
        inv_std = xp.empty(rows.shape[0], rows.dtype)
        jit.compiled(layer_norm_loops.layer_norm_forward)(rows, weight, bias, float(self.eps), y, x_hat, inv_std)
        self.save_for_backward(x_hat, inv_std, *affine[:1] if self.has_weight else ())  # γ: its version is checked
        return y

    def backward_compiled(self, g_rows, shape, weight):
        """Backward as one compiled loop (``layer_norm_loops.layer_norm_backward``); the sums over the rows
        for γ and β come out in float64 and are returned in x's dtype."""
        d = g_rows.shape[1]
        weight = weight[0].reshape(d) if self.has_weight else xp.ones(d, g_rows.dtype)
        g_x = xp.empty(g_rows.shape, g_rows.dtype)
        g_weight, g_bias = xp.empty(d, xp.float64), xp.empty(d, xp.float64)
        x_hat, inv_std = self.saved[:2]
        jit.compiled(layer_norm_loops.layer_norm_backward)(g_rows, x_hat, inv_std, weight, g_x, g_weight, g_bias)
        needs = self.needs_input_grad
        dtype, normalized = g_rows.dtype, self.normalized_shape
        return ((g_x.reshape(shape) if needs[0] else None,)
                + ((g_weight.astype(dtype).reshape(normalized) if needs[1] else None,) if self.has_weight else ())
                + ((g_bias.astype(dtype).reshape(normalized) if needs[-1] else None,) if self.has_bias else ()))
