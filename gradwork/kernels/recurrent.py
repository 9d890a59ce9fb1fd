"""Fast LSTM and GRU layers: the same numbers as ``gradwork.ops.recurrent.LSTMLayer`` and ``GRULayer``,
with less work inside the loop over time — the one Python loop of a recurrent layer, run T times forward
and T times back. What follows is written for the LSTM; the GRU (below) uses the same layout and tricks.
(The Elman RNN has no fast version: the same layout measured 0.97× on a character-level RNN's training
step — its (H, H) recurrent product gains too little to repay the layout's copies; bench/RESULTS.md.)

What is different from the reference, and why it gives the same result:

* **Gate-major steps.** Each step's pre-activations, cell state and their gradients are stored as
  (K, B) matrices — one row per gate unit, one column per sequence: the transpose of the reference's
  (B, K) rows, in arrays of shape (T, K, B). The recurrent product then reads ``W_hh (4H, H) · hₜᵀ``
  instead of ``hₜ (B, H) · W_hhᵀ``: the same sums, but OpenBLAS computes a result of 1,024 rows and
  32 columns much faster than its transpose — 143 → 97 µs a step for batch 32, hidden 256 (261 → 184
  µs on one thread), and 111 → 95 µs for backward's ``W_hhᵀ · ∂a`` (bench/RESULTS.md, 2026-11-30).
  Each gate is a block of whole rows, contiguous. After the backward loop ∂a is copied once into a
  (4H, T·B) matrix of all steps side by side, so each weight gradient is one product. Hidden states
  stay (T, B, H): they are the layer's output.
* **One tanh for all four gates.** σ(a) = ½ + ½·tanh(a/2), so the gates i, f, o (sigmoids) and g
  (tanh) come from one ``tanh`` over a step's (4H, B) pre-activations. The ½ inside is folded into
  the rows of W_ih, W_hh and the bias that belong to i, f and o before the loop (halving is exact in
  binary floating point), and every step's input projection, biases included, is one batched product
  made before the loop, into which each step's recurrent product is added in place (BLAS's β = 1).
* **tanh(c) kept from forward**, so backward does not recompute it.
* **Per-step factors computed for all steps at once.** Every derivative in the backward loop is a
  running gradient (dh or dc) times a factor that depends on the forward values only:
  ∂i = dc·g·i(1−i), ∂f = dc·c_prev·f(1−f), ∂g = dc·i·(1−g²), ∂o = dh·tanh(c)·o(1−o) and
  dc += dh·o·(1−tanh²(c)). The factors are computed for all T steps in a few whole-array passes
  before the loop, which is left with five small operations and the product with W_hh per step.

Measured on W4 (vocab 65, embed 128, hidden 256, seq 64, batch 32), A/B in one process against the
previous version (batch-major steps): 1.20×, and 1.09× in a second A/B; the layer alone forward
15.5 → 13.6 ms, backward 25.8 → 23.5 ms (bench/RESULTS.md, 2026-11-30, session 6).
"""
from gradwork.backend import get_array_module
from gradwork.kernels.blas import add_product
from gradwork.kernels.layout import row_sums
from gradwork.ops.recurrent import GRULayer, LSTMLayer


def input_projections_gate_major(x, w_ih, bias, dtype, scale=None):
    """Every step's input projection at once, gate-major: [W_ih | b] · [xₜ | 1]ᵀ → (T, G·H, B) of ``dtype``,
    one batched product; each row of the weights and bias times ``scale`` (a (G·H, 1) column) when
    given. ``bias`` may be None."""
    xp = get_array_module(x)
    T, B, I = x.shape
    w_ih_b = xp.zeros((w_ih.shape[0], I + 1), dtype=dtype)
    w_ih_b[:, :I] = w_ih
    if bias is not None:
        w_ih_b[:, I] = bias
    if scale is not None:
        w_ih_b *= scale
    x_ones = xp.empty((T, I + 1, B), dtype=dtype)
    x_ones[:, :I] = x.transpose(0, 2, 1)
    x_ones[:, I] = 1
    return xp.matmul(w_ih_b, x_ones)


def stacked_steps(per_step):
    """(T, K, B) → (K, T·B): every step side by side, columns in (t, b) order, so that a weight gradient
    over all steps is one product with the (T·B, ·) rows of the inputs."""
    T, K, B = per_step.shape
    return get_array_module(per_step).ascontiguousarray(per_step.transpose(1, 0, 2)).reshape(K, T * B)


def one_dtype(*arrays):
    """Whether the given arrays (None for a missing bias) share one dtype. The kernels compute in h0's
    dtype; a float64 layer fed float32 inputs (or the reverse) runs the reference, whose products take
    the wider dtype for the gates, as NumPy promotes."""
    return len({a.dtype for a in arrays if a is not None}) == 1


class FastLSTMLayer(LSTMLayer):
    """``lstm_layer`` (``gradwork.ops.recurrent.LSTMLayer``) with steps stored gate-major, one tanh for
    the four gates and the backward factors precomputed for every step; inputs of mixed dtypes run the
    reference's steps."""

    op_name = "lstm_layer"

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        self.runs_reference = not one_dtype(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        if self.runs_reference:
            return super().forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        xp = get_array_module(x)
        T, B = x.shape[:2]
        H = h0.shape[-1]
        dtype = h0.dtype
        # tanh(½a) gives σ(a) = ½ + ½·tanh(½a) for i, f, o; tanh(a) is g: the ½ goes into their weights.
        sigmoid_scale = xp.full((4 * H, 1), 0.5, dtype=dtype)
        sigmoid_scale[2 * H:3 * H] = 1.0
        # pre-activations (T, 4H, B) (½ for i, f, o), every step's input projection and biases; then the gates
        gates = input_projections_gate_major(x, w_ih, None if b_ih is None else b_ih + b_hh, dtype, sigmoid_scale)
        w_hh_scaled = w_hh * sigmoid_scale
        hs = xp.empty((T + 1, B, H), dtype)  # hidden states stay batch-major: they are the outputs
        cs = xp.empty((T + 1, H, B), dtype)
        tanh_cs = xp.empty((T, H, B), dtype)
        hs[0], cs[0] = h0, c0.T
        for t in range(T):
            gate = gates[t]  # (4H, B)
            add_product(w_hh_scaled, hs[t].T, gate)
            xp.tanh(gate, out=gate)
            for sigmoid in (gate[:2 * H], gate[3 * H:]):  # i and f, then o: ½ + ½·tanh(½a)
                sigmoid *= 0.5
                sigmoid += 0.5
            i, f, g, o = gate[:H], gate[H:2 * H], gate[2 * H:3 * H], gate[3 * H:]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            c += i * g
            xp.tanh(c, out=tanh_cs[t])
            xp.multiply(o, tanh_cs[t], out=hs[t + 1].T)
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs, cs, gates, tanh_cs)
        return hs[1:], hs[T], xp.ascontiguousarray(cs[T].T)

    def backward(self, g_out, g_h_last, g_c_last):
        if self.runs_reference:
            return super().backward(g_out, g_h_last, g_c_last)
        x, w_ih, w_hh, hs, cs, gates, tanh_cs = self.saved
        xp = get_array_module(x)
        T, B, I = x.shape
        H = hs.shape[-1]
        i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))  # (T, H, B) each
        # The factors of every step, for all T at once: (T, 3H, B) for dc → ∂i, ∂f, ∂g; (T, H, B) for the rest.
        from_dc = xp.empty((T, 3 * H, B), gates.dtype)
        xp.multiply(g * i, 1 - i, out=from_dc[:, :H])
        xp.multiply(cs[:-1] * f, 1 - f, out=from_dc[:, H:2 * H])
        xp.multiply(i, 1 - g * g, out=from_dc[:, 2 * H:])
        from_dh_to_o = tanh_cs * o * (1 - o)
        from_dh_to_c = o * (1 - tanh_cs * tanh_cs)
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # (H, 4H): a contiguous operand is BLAS's faster case
        d_a = xp.empty_like(gates)  # (T, 4H, B)
        # (H, B) copies in the layer's dtype and C order: BLAS and in-place products write into them
        dh, dc = (xp.array(grad.T, dtype=hs.dtype, order="C") for grad in (g_h_last, g_c_last))
        for t in range(T - 1, -1, -1):
            dh += g_out[t].T
            dc += dh * from_dh_to_c[t]
            da = d_a[t]
            xp.multiply(from_dc[t].reshape(3, H, B), dc, out=da[:3 * H].reshape(3, H, B))
            xp.multiply(from_dh_to_o[t], dh, out=da[3 * H:])
            dc *= f[t]             # to the previous cell state
            dh = w_hh_t @ da       # to the previous hidden state
        d_a = stacked_steps(d_a)  # (4H, T·B): one product per weight gradient
        needs = self.needs_input_grad
        grads = [(d_a.T @ w_ih).reshape(T, B, I) if needs[0] else None, xp.ascontiguousarray(dh.T),
                 xp.ascontiguousarray(dc.T),
                 d_a @ x.reshape(T * B, I) if needs[3] else None,
                 d_a @ hs[:-1].reshape(T * B, H) if needs[4] else None]
        if self.has_bias:  # b_ih and b_hh enter the same pre-activation: both gradients are Σ ∂a
            d_bias = row_sums(d_a)
            grads += [d_bias, d_bias.copy()]
        return tuple(grads)


class FastGRULayer(GRULayer):
    """``gru_layer`` (``gradwork.ops.recurrent.GRULayer``) in the LSTM kernel's gate-major layout: each
    step's r, z, n as a (3H, B) matrix, the recurrent product ``W_hh · hₜᵀ`` (a tall result), r and z
    from one tanh with the ½ folded into their weights, and backward's factors for all steps at once.

    The step, written for the (H, B) columns of a step (b_hn stays inside the reset gate's product)::

        [a_r; a_z] = W_i{r,z} xₜ + b_i{r,z} + W_h{r,z} hₜ + b_h{r,z},   r, z = σ(a_r), σ(a_z)
        hnₜ = W_hn hₜ + b_hn,   n = tanh(W_in xₜ + b_in + r ⊙ hnₜ),   hₜ₊₁ = n + z ⊙ (hₜ − n)

    Measured against the reference at W4's sizes (T 64, B 32, I 128, H 256, float32), with a first
    version of this backward (two products per step through W_hh): forward 19.2 → 12.7 ms, backward about
    even (19.8 → 20.5 ms; its weight-gradient products, 9 ms, are the reference's). A character-level GRU
    language model's whole training step (``CharRNN(65, 128, 256, cell="gru")``, batch 32 × 64), ten
    alternating rounds: 1.21× with this code (bench/RESULTS.md, 2026-11-30, session 6).
    """

    op_name = "gru_layer"

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        self.runs_reference = not one_dtype(x, h0, w_ih, w_hh, b_ih, b_hh)  # (mixed dtypes: see one_dtype)
        if self.runs_reference:
            return super().forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        xp = get_array_module(x)
        T, B = x.shape[:2]
        H = h0.shape[-1]
        dtype = h0.dtype
        sigmoid_scale = xp.full((3 * H, 1), 0.5, dtype=dtype)  # σ(a) = ½ + ½·tanh(½a) for r and z; n keeps a
        sigmoid_scale[2 * H:] = 1.0
        # pre-activations (T, 3H, B) (½ for r, z), every step's input projection and b_ih; then r, z, n
        gates = input_projections_gate_major(x, w_ih, b_ih, dtype, sigmoid_scale)
        w_hh_scaled = w_hh * sigmoid_scale
        b_hh_scaled = xp.zeros((3 * H, 1), dtype=dtype) if b_hh is None else b_hh[:, None] * sigmoid_scale
        hs = xp.empty((T + 1, B, H), dtype)  # hidden states stay batch-major: they are the outputs
        hn = xp.empty((T, H, B), dtype)      # W_hn hₜ + b_hn, which r multiplies
        hw = xp.empty((3 * H, B), dtype)     # one step's W_hh hₜ + b_hh (½ for r, z)
        hs[0] = h0
        for t in range(T):
            gate, h = gates[t], hs[t].T
            hw[...] = b_hh_scaled
            add_product(w_hh_scaled, h, hw)
            rz = gate[:2 * H]
            rz += hw[:2 * H]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            r, z, n = gate[:H], gate[H:2 * H], gate[2 * H:]
            hn[t] = hw[2 * H:]
            n += r * hn[t]
            xp.tanh(n, out=n)
            h_next = hs[t + 1].T
            xp.subtract(h, n, out=h_next)
            h_next *= z
            h_next += n
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs, gates, hn)
        return hs[1:], hs[T]

    def backward(self, g_out, g_last):
        if self.runs_reference:
            return super().backward(g_out, g_last)
        x, w_ih, w_hh, hs, gates, hn = self.saved
        xp = get_array_module(x)
        T, B, I = x.shape
        H = hs.shape[-1]
        r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]  # (T, H, B) each
        # The factors of every step, for all T at once (see GRULayer.backward for the formulas):
        # ∂n = dh·(1−z)(1−n²), ∂r = ∂n·hn·r(1−r), ∂z = dh·(hₜ − n)·z(1−z), and ∂hn = ∂n·r.
        from_dh_to_n = (1 - z) * (1 - n * n)
        from_dn_to_r = hn * r * (1 - r)
        from_dh_to_z = (hs[:-1].transpose(0, 2, 1) - n) * z * (1 - z)
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # (H, 3H): a contiguous operand is BLAS's faster case
        d_hw = xp.empty_like(gates)  # ∂ of W_hh hₜ + b_hh (T, 3H, B): ∂a_r, ∂a_z, ∂hn
        d_n = xp.empty_like(hn)      # ∂ of n's pre-activation (T, H, B): W_in xₜ + b_in's gradient
        dh = xp.array(g_last.T, dtype=hs.dtype, order="C")  # (H, B), a C-ordered copy: BLAS adds into it
        for t in range(T - 1, -1, -1):
            dh += g_out[t].T
            d_hw_t = d_hw[t]
            xp.multiply(dh, from_dh_to_n[t], out=d_n[t])
            xp.multiply(d_n[t], from_dn_to_r[t], out=d_hw_t[:H])
            xp.multiply(dh, from_dh_to_z[t], out=d_hw_t[H:2 * H])
            xp.multiply(d_n[t], r[t], out=d_hw_t[2 * H:])
            dh *= z[t]                      # through hₜ₊₁ = … + z ⊙ hₜ
            add_product(w_hh_t, d_hw_t, dh)  # … and through W_hh hₜ
        d_hw, d_n = stacked_steps(d_hw), stacked_steps(d_n)  # (3H, T·B), (H, T·B)
        d_rz = d_hw[:2 * H]  # r and z: the input side's gradient is the recurrent side's
        needs = self.needs_input_grad
        x2 = x.reshape(T * B, I) if needs[2] else None  # a copy when x is a transposed (batch-first) view
        grads = [(d_rz.T @ w_ih[:2 * H] + d_n.T @ w_ih[2 * H:]).reshape(T, B, I) if needs[0] else None,
                 xp.ascontiguousarray(dh.T), xp.concatenate([d_rz @ x2, d_n @ x2]) if needs[2] else None,
                 d_hw @ hs[:-1].reshape(T * B, H) if needs[3] else None]
        if self.has_bias:
            d_b_hh = row_sums(d_hw)
            grads += [xp.concatenate([d_b_hh[:2 * H], row_sums(d_n)]), d_b_hh]
        return tuple(grads)
