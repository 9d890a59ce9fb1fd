"""``MultiheadAttention``: h attention heads side by side, each on its own slice of the embedding.

    head_i = Attention(Q W_qᵢ, K W_kᵢ, V W_vᵢ),   output = concat(head_1 … head_h) W_oᵀ + b_o

with d = embed_dim / num_heads per head. The parameter layout is PyTorch's: the three input
projections stacked in ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), and ``out_proj`` a
Linear(E, E), so weights load from a PyTorch state dict by name.
"""
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_default_dtype, to_host, xp
from gradwork.errors import ShapeError
from gradwork.nn import init
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.attention import causal_mask, mask_to_bias, scaled_dot_product_attention
from gradwork.ops.linear import linear
from gradwork.ops.shape import getitem, permute, reshape, transpose, unbind


class MultiheadAttention(Module):
    """Multi-head attention (PyTorch's ``nn.MultiheadAttention``).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` → (output, weights or None).

    Shapes (``batch_first=False``): query (L, B, E), key and value (S, B, E) → output (L, B, E);
    with ``batch_first=True`` (B, L, E) and (B, S, E). Weights: (B, L, S) averaged over heads, or
    (B, heads, L, S). Masks follow PyTorch's convention for this module: ``attn_mask`` (L, S) or
    (B·heads, L, S) is True (or −∞) where attending is *not* allowed; ``key_padding_mask`` (B, S) is
    True at padding positions of the source.

    Init (PyTorch's): ``in_proj_weight`` Xavier-uniform, biases 0, ``out_proj.weight`` as Linear.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False, dtype=None):
        super().__init__()
        if not isinstance(embed_dim, int) or embed_dim <= 0 or not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive integers, "
                             f"got {embed_dim!r} and {num_heads!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads}): each head gets embed_dim / num_heads features; try num_heads in "
                             f"{[h for h in range(1, embed_dim + 1) if embed_dim % h == 0][:8]}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        dtype = dtype or get_default_dtype()
        self.in_proj_weight = Parameter(xp.empty((3 * embed_dim, embed_dim), dtype))
        if bias:
            self.in_proj_bias = Parameter(xp.zeros(3 * embed_dim, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, x, k):
        """The k-th input projection (0: query, 1: key, 2: value) of x (B, T, E) → (B, heads, T, d)."""
        E = self.embed_dim
        rows = slice(k * E, (k + 1) * E)
        weight = getitem(self.in_proj_weight, rows)
        bias = getitem(self.in_proj_bias, rows) if self.in_proj_bias is not None else None
        y = linear(x, weight, bias)
        B, T = x.shape[0], x.shape[1]
        return permute(reshape(y, B, T, self.num_heads, self.head_dim), 0, 2, 1, 3)

    def _project_self(self, x):
        """Self-attention (query, key and value one tensor): the three projections as one product with
        the whole ``in_proj_weight``, as PyTorch does, cut into q, k, v (B, heads, T, d). One product of
        3E columns instead of three of E (and one gradient product each way): the W7 Transformer step
        1.06× (A/B in one process, bench/RESULTS.md, 2026-11-30)."""
        B, T = x.shape[0], x.shape[1]
        y = linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3E): [q | k | v]
        return unbind(permute(reshape(y, B, T, 3, self.num_heads, self.head_dim), 2, 0, 3, 1, 4), 0)

    def _mask_bias(self, batch, length, source_length, attn_mask, key_padding_mask, is_causal, dtype):
        """One additive mask (B or 1, heads or 1, L, S): 0 where attending is allowed, −∞ where not. Built on
        the host; ``scaled_dot_product_attention`` moves it to the device of the scores."""
        bias = xp.zeros((1, 1, length, source_length), dtype)
        if attn_mask is not None:
            mask = xp.asarray(to_host(getattr(attn_mask, "data", attn_mask)))
            if mask.shape == (batch * self.num_heads, length, source_length):
                mask = mask.reshape(batch, self.num_heads, length, source_length)
            elif mask.shape != (length, source_length):
                raise ShapeError(f"MultiheadAttention: attn_mask must have shape (L, S) = {(length, source_length)} "
                                 f"or (batch·heads, L, S) = {(batch * self.num_heads, length, source_length)}, "
                                 f"got {mask.shape}")
            bias = bias + mask_to_bias(~mask if mask.dtype == bool else mask, bias.shape, dtype)
        if key_padding_mask is not None:
            mask = xp.asarray(to_host(getattr(key_padding_mask, "data", key_padding_mask)))
            if mask.shape != (batch, source_length):
                raise ShapeError(f"MultiheadAttention: key_padding_mask must have shape (batch, S) = "
                                 f"{(batch, source_length)}, got {mask.shape}")
            mask = mask[:, None, None, :]
            bias = bias + mask_to_bias(~mask if mask.dtype == bool else mask, mask.shape, dtype)
        if is_causal:
            bias = bias + mask_to_bias(causal_mask(length, source_length), bias.shape, dtype)
        return bias

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        self_attention = query is key and key is value  # one input: one projection product (_project_self)
        query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != self.embed_dim:
                layout = "(B, T, E)" if self.batch_first else "(T, B, E)"
                raise ShapeError(f"MultiheadAttention: {name} must be {layout} with E = {self.embed_dim}, "
                                 f"got shape {t.shape}")
        if not self.batch_first:  # work batch-first inside
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        B, L, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != B:
            raise ShapeError(f"MultiheadAttention: key {key.shape} and value {value.shape} must have the same batch "
                             f"and length, and the batch of the query")
        mask = None
        if attn_mask is not None or key_padding_mask is not None or is_causal:
            mask = self._mask_bias(B, L, S, attn_mask, key_padding_mask, is_causal, query.dtype)
        if self_attention:
            q, k, v = self._project_self(query)
        else:
            q, k, v = self._project(query, 0), self._project(key, 1), self._project(value, 2)
        attended = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=self.dropout, training=self.training,
                                                return_weights=need_weights)
        heads, weights = attended if need_weights else (attended, None)
        joined = reshape(permute(heads, 0, 2, 1, 3), B, L, self.embed_dim)  # concat(head_1 … head_h)
        output = self.out_proj(joined)
        if not self.batch_first:
            output = transpose(output, 0, 1)
        if not need_weights:
            return output, None
        return output, (weights.mean(axis=1) if average_attn_weights else weights)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
