"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences, and the one-step cells
``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameter names, shapes, gate order and initialisation are PyTorch's: for layer k,
``weight_ih_l{k}`` (G·H, I), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G·H,),
with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), and the suffix ``_reverse`` for the
backward direction of a bidirectional layer. Every weight starts U(−1/√H, 1/√H).

Shapes (``batch_first=False``, PyTorch's default): input (T, B, I) → output (T, B, D·H) with D = 2 when
bidirectional, and the final state h_n (num_layers·D, B, H) (LSTM: the pair (h_n, c_n)). With
``batch_first=True`` input and output are (B, T, ·); the states stay (layers·D, B, H). An unbatched
input (T, I) gives an unbatched output.

Truncated back-propagation through time: carry the returned state into the next chunk after
``.detach()`` so the gradient stops at the chunk boundary.
"""
import math

from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_default_dtype, xp
from gradwork.errors import ShapeError
from gradwork.nn import init
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops import recurrent
from gradwork.ops.activations import relu, sigmoid, tanh
from gradwork.ops.dropout import dropout
from gradwork.ops.linear import linear
from gradwork.ops.shape import cat, getitem, stack, transpose, unsqueeze

REVERSED = slice(None, None, -1)


def _check_size(cls, name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{cls}: {name} must be a positive integer, got {value!r}")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, and the loop over
    layers (each layer's output is the next one's input, with dropout in between)."""

    gates = 1  # pre-activations per hidden unit: 1 for the Elman RNN, 4 for the LSTM, 3 for the GRU

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__()
        cls = type(self).__name__
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            _check_size(cls, name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{cls}: dropout is a probability in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.num_directions = 2 if bidirectional else 1
        gate_size = self.gates * hidden_size
        dtype = dtype or get_default_dtype()
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(xp.empty((gate_size, layer_input), dtype)))
                setattr(self, f"weight_hh{suffix}", Parameter(xp.empty((gate_size, hidden_size), dtype)))
                if bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(xp.empty(gate_size, dtype)))
                    setattr(self, f"bias_hh{suffix}", Parameter(xp.empty(gate_size, dtype)))
        self.reset_parameters()

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, suffix):
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [getattr(self, name + suffix) for name in names]

    def _check_input(self, x):
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
            raise ShapeError(f"{type(self).__name__}: expected input {layout} or unbatched (T, input_size) with "
                             f"input_size={self.input_size}, got shape {x.shape}")

    def _initial_state(self, hx, batch, dtype, what="hx"):
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return Tensor(xp.zeros(shape, dtype))
        hx = as_tensor(hx)
        if hx.shape != shape:
            raise ShapeError(f"{type(self).__name__}: initial state {what} must have shape (num_layers·directions, "
                             f"batch, hidden_size) = {shape}, got {hx.shape}")
        return hx

    def forward(self, x, hx=None):
        x = as_tensor(x)
        self._check_input(x)
        unbatched = x.ndim == 2
        if unbatched:
            x = unsqueeze(x, 1)
            hx = None if hx is None else _map_state(hx, lambda h: unsqueeze(h, 1))
        elif self.batch_first:
            x = transpose(x, 0, 1)  # the ops run time-first
        output, state = self._run_layers(x, hx)
        if unbatched:
            return getitem(output, (slice(None), 0)), _map_state(state, lambda h: getitem(h, (slice(None), 0)))
        if self.batch_first:
            output = transpose(output, 0, 1)
        return output, state

    def _run_layers(self, x, hx):
        batch = x.shape[1]
        states = self._initial_states(hx, batch, x.dtype)  # one tuple of (layers·D, B, H) tensors
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:
                x = dropout(x, self.dropout, True)
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                index = layer * self.num_directions + direction
                initial = [getitem(s, index) for s in states]
                source = getitem(x, REVERSED) if direction == 1 else x
                out, *last = self._layer(source, initial, self._weights(suffix))
                outputs.append(getitem(out, REVERSED) if direction == 1 else out)
                for kept, value in zip(finals, last):
                    kept.append(value)
            x = outputs[0] if len(outputs) == 1 else cat(outputs, axis=-1)
        final = tuple(stack(kept, axis=0) for kept in finals)
        return x, final[0] if len(final) == 1 else final

    def _initial_states(self, hx, batch, dtype):
        return (self._initial_state(hx, batch, dtype),)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


def _map_state(state, fn):
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


class RNN(RNNBase):
    """Elman RNN: hₜ = tanh(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh) (``nonlinearity="relu"`` for ReLU).

    ``forward(x, h0=None)`` → (output, h_n); see the module docstring for shapes.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _layer(self, x, initial, weights):
        return recurrent.rnn_layer(x, initial[0], *weights, nonlinearity=self.nonlinearity)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o; see ``ops.recurrent.LSTMLayer`` for the equations).

    ``forward(x, (h0, c0)=None)`` → (output, (h_n, c_n)); see the module docstring for shapes.
    """

    gates = 4

    def _initial_states(self, hx, batch, dtype):
        if hx is None:
            return self._initial_state(None, batch, dtype), self._initial_state(None, batch, dtype)
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ShapeError("LSTM: the initial state is a pair (h0, c0)")
        return self._initial_state(hx[0], batch, dtype, "h0"), self._initial_state(hx[1], batch, dtype, "c0")

    def _layer(self, x, initial, weights):
        return recurrent.lstm_layer(x, initial[0], initial[1], *weights)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; see ``ops.recurrent.GRULayer`` for the equations).

    ``forward(x, h0=None)`` → (output, h_n); see the module docstring for shapes.
    """

    gates = 3

    def _layer(self, x, initial, weights):
        return recurrent.gru_layer(x, initial[0], *weights)


class RNNCellBase(Module):
    """One time step. Parameters ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh``,
    all U(−1/√H, 1/√H). Written with ordinary ops, so each gate equation can be read as it is."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__()
        cls = type(self).__name__
        _check_size(cls, "input_size", input_size)
        _check_size(cls, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = dtype or get_default_dtype()
        n = self.gates * hidden_size
        self.weight_ih = Parameter(xp.empty((n, input_size), dtype))
        self.weight_hh = Parameter(xp.empty((n, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(xp.empty(n, dtype))
            self.bias_hh = Parameter(xp.empty(n, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _zeros(self, x):
        return Tensor(xp.zeros(x.shape[:-1] + (self.hidden_size,), x.dtype))

    def _projections(self, x, h):
        """(x W_ihᵀ + b_ih, h W_hhᵀ + b_hh), each (B, G·H)."""
        x = as_tensor(x)
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input (B, {self.input_size}), got {x.shape}")
        return linear(x, self.weight_ih, self.bias_ih), linear(h, self.weight_hh, self.bias_hh)

    def _gate(self, a, k):
        """The k-th block of H columns of a (B, G·H) pre-activation."""
        H = self.hidden_size
        return getitem(a, (Ellipsis, slice(k * H, (k + 1) * H)))

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu). ``forward(x, h=None)`` → h' (B, H)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None):
        h = self._zeros(as_tensor(x)) if h is None else h
        xw, hw = self._projections(x, h)
        return tanh(xw + hw) if self.nonlinearity == "tanh" else relu(xw + hw)


class LSTMCell(RNNCellBase):
    """One LSTM step. ``forward(x, (h, c)=None)`` → (h', c'), each (B, H)::

        i = σ(·), f = σ(·), g = tanh(·), o = σ(·)   of  x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')
    """

    gates = 4

    def forward(self, x, state=None):
        if state is None:
            state = (self._zeros(as_tensor(x)), self._zeros(as_tensor(x)))
        h, c = state
        xw, hw = self._projections(x, h)
        a = xw + hw
        i, f = sigmoid(self._gate(a, 0)), sigmoid(self._gate(a, 1))
        g, o = tanh(self._gate(a, 2)), sigmoid(self._gate(a, 3))
        c_next = f * c + i * g
        return o * tanh(c_next), c_next


class GRUCell(RNNCellBase):
    """One GRU step. ``forward(x, h=None)`` → h' (B, H)::

        r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)
        z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
        n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
        h' = (1 − z) ⊙ n + z ⊙ h
    """

    gates = 3

    def forward(self, x, h=None):
        h = self._zeros(as_tensor(x)) if h is None else h
        xw, hw = self._projections(x, h)
        r = sigmoid(self._gate(xw, 0) + self._gate(hw, 0))
        z = sigmoid(self._gate(xw, 1) + self._gate(hw, 1))
        n = tanh(self._gate(xw, 2) + r * self._gate(hw, 2))
        return (1 - z) * n + z * h
