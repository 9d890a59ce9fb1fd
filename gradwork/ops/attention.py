"""Scaled dot-product attention, the core of the Transformer.

    Attention(Q, K, V) = softmax(Q Kᵀ / √d + M) V

Q (…, L, d) holds one query per target position, K (…, S, d) and V (…, S, dv) one key and value per
source position. Each output row is a weighted average of the values, weighted by how well the
query matches each key. M is 0 where a query may look and −∞ where it may not (a padding token, or
a later position under a causal mask), so those weights are exactly 0.

This is the course's version, composed of differentiable ops. The fast path (the default, see
``gradwork.kernels``) runs the same formula as one fused op, ``gradwork.kernels.attention``, with the same
numbers; ``gw.kernels.use("reference")`` steps through the composition below.
"""
import math

from gradwork import kernels
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_array_module, is_device_array, to_device_of, xp
from gradwork.errors import ShapeError
from gradwork.ops.activations import softmax
from gradwork.ops.arithmetic import matmul
from gradwork.ops.dropout import dropout
from gradwork.ops.shape import transpose


def causal_mask(length, source_length=None):
    """(L, S) boolean array, True on and below the diagonal: position t may attend to 0..t only."""
    source_length = length if source_length is None else source_length
    return xp.tril(xp.ones((length, source_length), dtype=bool))  # on the host; mask_to_bias moves it


def mask_to_bias(mask, scores_shape, dtype, what="attention"):
    """A boolean mask (True = may attend) or an additive float mask → an additive bias array that
    broadcasts to ``scores_shape`` (…, L, S); a clear error when it cannot."""
    mask = getattr(mask, "data", mask)
    mask = mask if is_device_array(mask) else xp.asarray(mask)
    try:
        xp.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        raise ShapeError(f"{what}: the mask of shape {mask.shape} does not fit the attention scores of shape "
                         f"{scores_shape} (…, target length L, source length S); give an (L, S) mask or one "
                         f"that broadcasts to {scores_shape}") from None
    if mask.dtype == bool:
        module = get_array_module(mask)
        return module.where(mask, module.zeros((), dtype), module.array(-xp.inf, dtype))
    return mask.astype(dtype, copy=False)


def scaled_dot_product_attention(query, key, value, mask=None, causal=False, dropout_p=0.0, training=True,
                                 return_weights=False):
    """softmax(Q Kᵀ / √d + M) V.

    Args:
        query (…, L, d), key (…, S, d), value (…, S, dv): leading axes (batch, heads) broadcast.
        mask: boolean, True where a query may attend to a key (PyTorch's ``attn_mask`` convention for
            this function), or a float array added to the scores; any shape broadcasting to (…, L, S).
        causal: forbid attending to later positions (position t sees 0..t).
        dropout_p: dropout on the attention weights while ``training``.
        return_weights: also return the weights (…, L, S), e.g. to draw them as a heat map.

    Returns the output (…, L, dv), and the weights when ``return_weights``.
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value "
                         f"{value.shape} do not fit: need query (…, L, d), key (…, S, d), value (…, S, dv)")
    length, source_length = query.shape[-2], key.shape[-2]
    try:
        scores_shape = xp.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2]) + (length, source_length)
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the leading (batch, heads) axes of query {query.shape}, "
                         f"key {key.shape} and value {value.shape} do not broadcast together") from None
    dtype = xp.result_type(query.dtype, key.dtype, 1.0)  # the scores' dtype: integer inputs give float scores
    biases = []  # the masks as additive biases M: 0 where a query may look, −∞ where not
    if mask is not None:
        biases.append(mask_to_bias(mask, scores_shape, dtype, "scaled_dot_product_attention"))
    if causal:
        biases.append(mask_to_bias(causal_mask(length, source_length), scores_shape, dtype))
    biases = [Tensor(to_device_of(bias, query.data)) for bias in biases]
    fused = kernels.choose(scaled_dot_product_attention)  # the fast path: one op (gradwork.kernels.attention)
    if fused is not scaled_dot_product_attention and not (dropout_p and training) \
            and fused.applies(query, key, value, *biases):
        return fused(return_weights)(query, key, value, *biases)
    scores = matmul(query, transpose(key, -2, -1)) * (1.0 / math.sqrt(query.shape[-1]))
    for bias in biases:
        scores = scores + bias
    weights = softmax(scores, axis=-1)
    attended = dropout(weights, dropout_p, training) if dropout_p else weights
    output = matmul(attended, value)
    return (output, weights) if return_weights else output
