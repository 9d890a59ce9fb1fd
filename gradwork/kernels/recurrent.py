"""Fast LSTM layer: the same numbers as ``gradwork.ops.recurrent.LSTMLayer``, with less work inside
the loop over time — the one Python loop of a recurrent layer, run T times forward and T times back.

What is different from the reference, and why it gives the same result:

* **One tanh for all four gates.** σ(a) = ½ + ½·tanh(a/2), so the gates i, f, o (sigmoids) and g
  (tanh) come from one ``tanh`` over the whole (B, 4H) pre-activation, scaled per gate before and
  after: three in-place passes instead of the reference's stable-sigmoid formula per gate slice.
  The identity is exact; float32 results differ only by rounding (below ~1e-7 absolutely).
* **W_hhᵀ copied once, contiguous**, before the loop: ``h @ W_hhᵀ`` on the transposed *view* runs
  OpenBLAS's transposed-operand kernel, 154 µs a step against 133 µs on a contiguous copy (batch 32,
  hidden 256; 1.3 ms of a W4 step, bench/RESULTS.md 2026-11-30). The copy is 1 MB, made once a call.
* **tanh(c) kept from forward**, so backward does not recompute it.
* **Per-step factors computed for all steps at once.** Every derivative in the backward loop is a
  running gradient (dh or dc) times a factor that depends on the forward values only:
  ∂i = dc·g·i(1−i), ∂f = dc·c_prev·f(1−f), ∂g = dc·i·(1−g²), ∂o = dh·tanh(c)·o(1−o) and
  dc += dh·o·(1−tanh²(c)). The factors are computed for all T steps in a few whole-array passes
  before the loop, which is left with five small operations and the product with W_hh per step.

Measured on W4 (vocab 65, embed 128, hidden 256, seq 64, batch 32): see bench/RESULTS.md.
"""
from gradwork.autograd.function import Function
from gradwork.backend import get_array_module
from gradwork.kernels.layout import column_sums
from gradwork.ops.recurrent import _input_and_weight_grads, _input_projection


class FastLSTMLayer(Function):
    """``lstm_layer`` (``gradwork.ops.recurrent.LSTMLayer``) with one tanh for the four gates and the
    backward factors precomputed for every step."""

    op_name = "lstm_layer"

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        T, H = x.shape[0], h0.shape[-1]
        xp = get_array_module(x)
        xw = _input_projection(x, w_ih, b_ih, b_hh)  # (T, B, 4H): every input projection in one product
        dtype = h0.dtype
        # tanh(scale·a)·scale + shift gives σ(a) for i, f, o (scale ½, shift ½) and tanh(a) for g (1, 0).
        scale = xp.full(4 * H, 0.5, dtype=dtype)
        scale[2 * H:3 * H] = 1.0
        shift = xp.full(4 * H, 0.5, dtype=dtype)
        shift[2 * H:3 * H] = 0.0
        hs = xp.empty((T + 1,) + h0.shape, dtype)
        cs = xp.empty((T + 1,) + h0.shape, dtype)
        tanh_cs = xp.empty((T,) + h0.shape, dtype)
        gates = xp.empty_like(xw)
        hs[0], cs[0] = h0, c0
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # the same values; a contiguous operand is BLAS's faster case
        for t in range(T):
            gate = gates[t]
            xp.matmul(hs[t], w_hh_t, out=gate)
            gate += xw[t]
            gate *= scale
            xp.tanh(gate, out=gate)
            gate *= scale
            gate += shift
            i, f, g, o = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:3 * H], gate[:, 3 * H:]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            c += i * g
            xp.tanh(c, out=tanh_cs[t])
            xp.multiply(o, tanh_cs[t], out=hs[t + 1])
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs, cs, gates, tanh_cs)
        return hs[1:], hs[T], cs[T]

    def backward(self, g_out, g_h_last, g_c_last):
        x, w_ih, w_hh, hs, cs, gates, tanh_cs = self.saved
        xp = get_array_module(x)
        T, H = x.shape[0], hs.shape[-1]
        i, f, g, o = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
        # The factors of every step, for all T at once: (T, B, 3H) for dc → ∂i, ∂f, ∂g; (T, B, H) for the rest.
        from_dc = xp.empty(gates.shape[:2] + (3 * H,), gates.dtype)
        xp.multiply(g * i, 1 - i, out=from_dc[..., :H])
        xp.multiply(cs[:-1] * f, 1 - f, out=from_dc[..., H:2 * H])
        xp.multiply(i, 1 - g * g, out=from_dc[..., 2 * H:])
        from_dh_to_o = tanh_cs * o * (1 - o)
        from_dh_to_c = o * (1 - tanh_cs * tanh_cs)
        B = hs.shape[1]
        d_a = xp.empty_like(gates)
        dh, dc = g_h_last.copy(), g_c_last.copy()
        for t in range(T - 1, -1, -1):
            dh += g_out[t]
            dc += dh * from_dh_to_c[t]
            da = d_a[t]
            xp.multiply(from_dc[t].reshape(B, 3, H), dc[:, None, :], out=da[:, :3 * H].reshape(B, 3, H))
            xp.multiply(from_dh_to_o[t], dh, out=da[:, 3 * H:])
            dc *= f[t]                 # to the previous cell state
            dh = da @ w_hh             # to the previous hidden state
        grads = _input_and_weight_grads(self.needs_input_grad, [dh, dc], x, w_ih, d_a, hs[:-1], d_a, False)
        if not self.has_bias:
            return grads
        # b_ih and b_hh enter the same pre-activation, so both gradients are Σ d_a: one sum, as a BLAS
        # product (NumPy's sum(axis=0) over 2,048 × 1,024 rows: 0.18 ms, the product 0.07 ms).
        d_bias = column_sums(d_a.reshape(-1, d_a.shape[-1]))
        return grads + (d_bias, d_bias.copy())
