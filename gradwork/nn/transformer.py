"""The Transformer encoder: position encodings, ``TransformerEncoderLayer`` and ``TransformerEncoder``.

Attention by itself does not know the order of its inputs (permuting the sequence permutes the
output), so a position signal is added to the token embeddings first: the fixed sinusoids of
"Attention is all you need" (``PositionalEncoding``) or a learned vector per position
(``LearnedPositionalEncoding``).
"""
import copy
import math

from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_default_dtype, xp
from gradwork.errors import ShapeError
from gradwork.nn.activation import GELU, ReLU
from gradwork.nn.attention import MultiheadAttention
from gradwork.nn.containers import ModuleList
from gradwork.nn.dropout import Dropout
from gradwork.nn.embedding import Embedding
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.normalization import LayerNorm
from gradwork.ops.dropout import dropout


def _check_length(who, length, max_len):
    if length > max_len:
        raise ShapeError(f"{who}: the sequence has {length} positions but the encoding was built for at most "
                         f"max_len={max_len}; create it with max_len >= {length}")


class PositionalEncoding(Module):
    """x + PE, with PE[pos, 2i] = sin(pos / 10000^(2i/d)) and PE[pos, 2i+1] = cos(pos / 10000^(2i/d)),
    then dropout. Input and output (B, T, d) (``batch_first=True``, the default here) or (T, B, d).
    The table (max_len, d) is a buffer: saved with the model, never trained."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=True, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.dropout, self.batch_first = d_model, max_len, dropout, batch_first
        position = xp.arange(max_len)[:, None]
        frequency = xp.exp(xp.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        table = xp.zeros((max_len, d_model), dtype or get_default_dtype())
        table[:, 0::2] = xp.sin(position * frequency)
        table[:, 1::2] = xp.cos(position * frequency[: d_model // 2])
        self.register_buffer("pe", table)

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(f"PositionalEncoding: expected {'(B, T, d)' if self.batch_first else '(T, B, d)'} with "
                             f"d = {self.d_model}, got shape {x.shape}")
        length = x.shape[1] if self.batch_first else x.shape[0]
        _check_length("PositionalEncoding", length, self.max_len)
        table = self.pe[:length]
        y = x + Tensor(table if self.batch_first else table[:, None, :])
        return dropout(y, self.dropout, self.training) if self.dropout else y

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEncoding(Module):
    """x + P[position], with P a trained ``Embedding(max_len, d)`` (BERT's and GPT's choice).
    Input and output (B, T, d) (``batch_first=True``) or (T, B, d)."""

    def __init__(self, d_model, max_len=512, dropout=0.0, batch_first=True, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.dropout, self.batch_first = d_model, max_len, dropout, batch_first
        self.position = Embedding(max_len, d_model, dtype=dtype)
        self.position.weight.data *= 0.02  # small, as in GPT-2: the tokens dominate at the start

    def forward(self, x):
        x = as_tensor(x)
        length = x.shape[1] if self.batch_first else x.shape[0]
        _check_length("LearnedPositionalEncoding", length, self.max_len)
        positions = self.position(xp.arange(length))
        if not self.batch_first:
            positions = positions.unsqueeze(1)
        y = x + positions
        return dropout(y, self.dropout, self.training) if self.dropout else y


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each wrapped in a residual connection and LayerNorm
    (PyTorch's ``nn.TransformerEncoderLayer``, same sub-module names)::

        post-norm (norm_first=False):  x = norm1(x + drop(SA(x)));   x = norm2(x + drop(FF(x)))
        pre-norm  (norm_first=True):   x = x + drop(SA(norm1(x)));   x = x + drop(FF(norm2(x)))
        FF(x) = linear2(dropout(act(linear1(x))))

    Shapes: (T, B, d) or, with ``batch_first=True``, (B, T, d) → same. Pre-norm trains more stably
    in deep stacks; post-norm is the original paper's.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=None):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(f"TransformerEncoderLayer: activation must be 'relu' or 'gelu', got {activation!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = ReLU() if activation == "relu" else GELU()
        self.norm_first = norm_first

    def _self_attention(self, x, mask, padding, is_causal, need_weights=False):
        out, weights = self.self_attn(x, x, x, key_padding_mask=padding, attn_mask=mask, is_causal=is_causal,
                                      need_weights=need_weights, average_attn_weights=False)
        return self.dropout1(out), weights

    def _feed_forward(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = as_tensor(src)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)[0]
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal)[0])
        return self.norm2(x + self._feed_forward(x))

    def attention_weights(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """The self-attention weights (B, heads, T, T) this layer computes for ``src``."""
        x = as_tensor(src)
        if self.norm_first:
            x = self.norm1(x)
        return self._self_attention(x, src_mask, src_key_padding_mask, is_causal, need_weights=True)[1]


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn (each copy has its own weights,
    starting equal, as in PyTorch), then an optional final ``norm`` (use one with pre-norm layers)."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"TransformerEncoder: num_layers must be a positive integer, got {num_layers!r}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return self.norm(x) if self.norm is not None else x

    def attention_weights(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        """One (B, heads, T, T) array of self-attention weights per layer, for ``src``."""
        weights, x = [], src
        for layer in self.layers:
            weights.append(layer.attention_weights(x, mask, src_key_padding_mask, is_causal).data)
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return weights
