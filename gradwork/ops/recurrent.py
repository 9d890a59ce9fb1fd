"""Recurrent layers over a whole sequence: the Elman RNN, the LSTM and the GRU, one direction each.

Each op takes the whole input sequence, time first: x (T, B, I), and the initial state (B, H).
Forward does the input projections of all T steps in one matrix product, then loops over time —
the only Python loop — with one whole-batch product h @ W_hhᵀ per step. Backward is
back-propagation through time written out: the same loop run backwards, accumulating the
gradient of the carried state, and the weight gradients summed over steps in one product each.

The equations and weight layouts are PyTorch's (``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H),
gates stacked in PyTorch's order: LSTM i, f, g, o; GRU r, z, n), so weights move between the two.
The module ``nn.LSTM`` builds layers and directions from these ops; ``nn.LSTMCell`` writes one step
with ordinary ops, which is the clearest place to read the equations.
"""
from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.ops.activations import sigmoid_array


def _input_projection(x, w_ih, b_ih, b_hh, fold_hh_bias=True):
    """x (T, B, I) @ W_ihᵀ + biases → (T, B, G·H): every time step in one product."""
    T, B, I = x.shape  # (sizes spelled out, not −1: an empty batch or sequence has nothing to divide by)
    xw = (x.reshape(T * B, I) @ w_ih.T).reshape(T, B, w_ih.shape[0])
    if b_ih is not None:
        xw += b_ih
        if fold_hh_bias:
            xw += b_hh
    return xw


def _input_and_weight_grads(needs, state_grads, x, w_ih, d_xw, h_prev, d_hw, has_bias):
    """Gradients of every input, in order (x, *states, W_ih, W_hh, [b_ih, b_hh]), from the gradients
    of the pre-activations: d_xw of the input projections and d_hw of the recurrent ones, (T, B, G·H).
    ``needs`` says which inputs want a gradient; the states' gradients come from the time loop."""
    T, B, I = x.shape
    d_xw2 = d_xw.reshape(T * B, d_xw.shape[-1])
    d_hw2 = d_hw.reshape(T * B, d_hw.shape[-1])
    k = 1 + len(state_grads)  # index of W_ih among the inputs
    grads = [(d_xw2 @ w_ih).reshape(x.shape) if needs[0] else None, *state_grads,
             d_xw2.T @ x.reshape(T * B, I) if needs[k] else None,
             d_hw2.T @ h_prev.reshape(T * B, h_prev.shape[-1]) if needs[k + 1] else None]
    if has_bias:
        grads += [d_xw2.sum(axis=0), d_hw2.sum(axis=0)]
    return tuple(grads)


class RNNLayer(Function):
    """Elman RNN: hₜ = act(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh), act = tanh or relu.

    Inputs x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), [b_ih (H,), b_hh (H,)].
    Outputs: every hidden state (T, B, H) and the last one (B, H).
    """

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        T = x.shape[0]
        pre = _input_projection(x, w_ih, b_ih, b_hh)
        xp = get_array_module(x)
        hs = xp.empty((T + 1,) + h0.shape, h0.dtype)  # hs[0] = h0, hs[t + 1] = hₜ
        hs[0] = h0
        for t in range(T):
            a = pre[t] + hs[t] @ w_hh.T
            hs[t + 1] = xp.tanh(a) if self.nonlinearity == "tanh" else xp.maximum(a, 0)
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs)
        return hs[1:], hs[T]

    def backward(self, g_out, g_last):
        x, w_ih, w_hh, hs = self.saved
        T = x.shape[0]
        d_pre = xp.empty_like(g_out)
        dh = g_last.copy()
        for t in range(T - 1, -1, -1):
            dh += g_out[t]
            h = hs[t + 1]
            d_pre[t] = dh * (1 - h * h) if self.nonlinearity == "tanh" else dh * (h > 0)
            dh = d_pre[t] @ w_hh
        return _input_and_weight_grads(self.needs_input_grad, [dh], x, w_ih, d_pre, hs[:-1], d_pre,
                                       self.has_bias)


class LSTMLayer(Function):
    """Long short-term memory, PyTorch's equations (gates stacked i, f, g, o)::

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f = σ(W_if x + b_if + W_hf h + b_hf)      forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   candidate cell
        o = σ(W_io x + b_io + W_ho h + b_ho)      output gate
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Inputs x (T, B, I), h0 (B, H), c0 (B, H), W_ih (4H, I), W_hh (4H, H), [b_ih (4H,), b_hh (4H,)].
    Outputs: every hidden state (T, B, H), the last hidden state and the last cell state (B, H).
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        T, H = x.shape[0], h0.shape[-1]
        xw = _input_projection(x, w_ih, b_ih, b_hh)
        xp = get_array_module(x)
        hs = xp.empty((T + 1,) + h0.shape, h0.dtype)
        cs = xp.empty((T + 1,) + h0.shape, h0.dtype)
        gates = xp.empty_like(xw)  # activated i, f, g, o of every step, for backward
        hs[0], cs[0] = h0, c0
        for t in range(T):
            a = xw[t] + hs[t] @ w_hh.T
            gate = gates[t]
            gate[:, :2 * H] = sigmoid_array(a[:, :2 * H])
            gate[:, 2 * H:3 * H] = xp.tanh(a[:, 2 * H:3 * H])
            gate[:, 3 * H:] = sigmoid_array(a[:, 3 * H:])
            i, f, g, o = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:3 * H], gate[:, 3 * H:]
            cs[t + 1] = f * cs[t] + i * g
            hs[t + 1] = o * xp.tanh(cs[t + 1])
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs, cs, gates)
        return hs[1:], hs[T], cs[T]

    def backward(self, g_out, g_h_last, g_c_last):
        x, w_ih, w_hh, hs, cs, gates = self.saved
        T, H = x.shape[0], hs.shape[-1]
        d_a = xp.empty_like(gates)
        dh, dc = g_h_last.copy(), g_c_last.copy()
        for t in range(T - 1, -1, -1):
            dh += g_out[t]
            gate = gates[t]
            i, f, g, o = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:3 * H], gate[:, 3 * H:]
            tanh_c = xp.tanh(cs[t + 1])
            dc += dh * o * (1 - tanh_c * tanh_c)  # through h = o ⊙ tanh(c)
            da = d_a[t]
            da[:, :H] = dc * g * i * (1 - i)                   # input gate
            da[:, H:2 * H] = dc * cs[t] * f * (1 - f)          # forget gate
            da[:, 2 * H:3 * H] = dc * i * (1 - g * g)          # candidate
            da[:, 3 * H:] = dh * tanh_c * o * (1 - o)          # output gate
            dc = dc * f                                        # to the previous cell state
            dh = da @ w_hh                                     # to the previous hidden state
        return _input_and_weight_grads(self.needs_input_grad, [dh, dc], x, w_ih, d_a, hs[:-1], d_a,
                                       self.has_bias)


class GRULayer(Function):
    """Gated recurrent unit, PyTorch's equations (gates stacked r, z, n)::

        r = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     candidate
        h' = (1 − z) ⊙ n + z ⊙ h

    Inputs x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), [b_ih (3H,), b_hh (3H,)].
    Outputs: every hidden state (T, B, H) and the last one (B, H).
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        T, H = x.shape[0], h0.shape[-1]
        xw = _input_projection(x, w_ih, b_ih, b_hh, fold_hh_bias=False)
        xp = get_array_module(x)
        hs = xp.empty((T + 1,) + h0.shape, h0.dtype)
        gates = xp.empty_like(xw)            # r, z, n of every step
        hn = xp.empty((T,) + h0.shape, h0.dtype)  # W_hn h + b_hn, which r multiplies
        hs[0] = h0
        for t in range(T):
            hw = hs[t] @ w_hh.T
            if b_hh is not None:
                hw += b_hh
            gate = gates[t]
            gate[:, :2 * H] = sigmoid_array(xw[t, :, :2 * H] + hw[:, :2 * H])
            r, z = gate[:, :H], gate[:, H:2 * H]
            hn[t] = hw[:, 2 * H:]
            gate[:, 2 * H:] = xp.tanh(xw[t, :, 2 * H:] + r * hn[t])
            n = gate[:, 2 * H:]
            hs[t + 1] = (1 - z) * n + z * hs[t]
        self.has_bias = b_ih is not None
        self.save_for_backward(x, w_ih, w_hh, hs, gates, hn)
        return hs[1:], hs[T]

    def backward(self, g_out, g_last):
        x, w_ih, w_hh, hs, gates, hn = self.saved
        T, H = x.shape[0], hs.shape[-1]
        d_xw = xp.empty_like(gates)
        d_hw = xp.empty_like(gates)
        dh = g_last.copy()
        for t in range(T - 1, -1, -1):
            dh += g_out[t]
            gate = gates[t]
            r, z, n = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:]
            d_n = dh * (1 - z) * (1 - n * n)                   # before the tanh
            d_r = d_n * hn[t] * r * (1 - r)
            d_z = dh * (hs[t] - n) * z * (1 - z)
            d_xw[t, :, :H], d_xw[t, :, H:2 * H], d_xw[t, :, 2 * H:] = d_r, d_z, d_n
            d_hw[t, :, :H], d_hw[t, :, H:2 * H], d_hw[t, :, 2 * H:] = d_r, d_z, d_n * r
            dh = dh * z + d_hw[t] @ w_hh
        return _input_and_weight_grads(self.needs_input_grad, [dh], x, w_ih, d_xw, hs[:-1], d_hw,
                                       self.has_bias)


def _biases(b_ih, b_hh):
    return () if b_ih is None else (b_ih, b_hh)


def rnn_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One direction of one Elman RNN layer over x (T, B, I) → (outputs (T, B, H), h_T (B, H))."""
    return RNNLayer(nonlinearity)(x, h0, w_ih, w_hh, *_biases(b_ih, b_hh))


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """One direction of one LSTM layer over x (T, B, I) → (outputs (T, B, H), h_T, c_T)."""
    return kernels.choose(LSTMLayer)()(x, h0, c0, w_ih, w_hh, *_biases(b_ih, b_hh))


def gru_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """One direction of one GRU layer over x (T, B, I) → (outputs (T, B, H), h_T (B, H))."""
    return kernels.choose(GRULayer)()(x, h0, w_ih, w_hh, *_biases(b_ih, b_hh))
