"""``TransformerClassifier``: token embedding + positions → Transformer encoder → a linear head,
per token (sequence labelling, e.g. reversing or sorting a sequence) or per sequence (mean-pooled)."""
import math

from gradwork.errors import ConfigError
from gradwork.nn.embedding import Embedding
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.normalization import LayerNorm
from gradwork.nn.transformer import (LearnedPositionalEncoding, PositionalEncoding, TransformerEncoder,
                                     TransformerEncoderLayer)


class TransformerClassifier(Module):
    """ids (B, T) → logits (B, T, num_classes) when ``per_token``, else (B, num_classes).

    Sub-modules: ``embedding`` Embedding(vocab_size, d_model) (scaled by √d_model, as in the paper),
    ``positions`` (sinusoidal or learned), ``encoder`` TransformerEncoder of ``num_layers`` pre-norm
    layers (batch_first) with a final LayerNorm, ``head`` Linear(d_model, num_classes).
    """

    def __init__(self, vocab_size, num_classes, d_model=64, nhead=4, num_layers=2, dim_feedforward=128,
                 dropout=0.0, max_len=128, positions="sinusoidal", per_token=True, activation="relu"):
        super().__init__()
        if positions not in ("sinusoidal", "learned"):
            raise ConfigError(f"TransformerClassifier: positions must be 'sinusoidal' or 'learned', got {positions!r}")
        self.d_model, self.per_token = d_model, per_token
        self.embedding = Embedding(vocab_size, d_model)
        encoding = PositionalEncoding if positions == "sinusoidal" else LearnedPositionalEncoding
        self.positions = encoding(d_model, max_len=max_len, dropout=dropout)
        layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation=activation,
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, num_layers, norm=LayerNorm(d_model))
        self.head = Linear(d_model, num_classes)

    def _encode_input(self, ids):
        return self.positions(self.embedding(ids) * math.sqrt(self.d_model))

    def forward(self, ids, padding_mask=None):
        h = self.encoder(self._encode_input(ids), src_key_padding_mask=padding_mask)
        return self.head(h if self.per_token else h.mean(axis=1))

    def attention_weights(self, ids, padding_mask=None):
        """Self-attention weights of every layer for ``ids``: a list of (B, heads, T, T) arrays
        (row t: how much position t looked at each position). Eval mode, no graph."""
        with self.evaluating():
            return self.encoder.attention_weights(self._encode_input(ids), src_key_padding_mask=padding_mask)
