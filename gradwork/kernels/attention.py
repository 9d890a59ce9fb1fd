"""Fused attention: softmax(Q Kᵀ/√d + M) V as one op, forward and backward — the same numbers as the
composition in ``gradwork/ops/attention.py`` (matmul → scale → + mask → softmax → matmul), in fewer
passes over the (…, L, S) scores.

What is different from the reference, and why it gives the same result:

* **One Function instead of five**: forward makes the scores once, adds the masks to them in place and
  turns them into the weights P in one new array, where the reference makes and keeps an (…, L, S)
  array at every step (scaled scores, masked scores, weights). For backward it keeps Q/√d, K, V, P and
  the output; backward works in place on one (…, L, S) array (and one more, dP ⊙ P, when the weights
  are an output too).
* **The scale 1/√d is applied to Q** (L·d values) instead of the scores (L·S values): (Q/√d) Kᵀ = (Q Kᵀ)/√d.
* **Kᵀ and Vᵀ as contiguous copies** before their products: NumPy's stacked matmul on a transposed view
  took 0.56 ms against 0.31 ms on a copy for W7's (32, 4, 64, 32) heads; the copy costs 0.09 ms.
* **Softmax shifted by each head's largest score** instead of each row's. Any shift gives the same
  softmax; the row maximum is only there so that exp cannot overflow, and the head's maximum, at least
  as large, does that too. It is one reduction along L·S values per head (0.04 ms) instead of one along
  S values per row (0.49 ms: NumPy pays a fixed cost per row). A row whose scores all lie far below the
  head's maximum could lose precision to underflow, so every row whose Σ exp falls below e⁻²⁰ — rows
  whose sum is NaN included (a NaN or +∞ score in the head, or a row with every key masked) — is
  computed again with its own maximum, as the reference computes every row. Above that bound the
  largest term is at least e⁻²⁰/S, so every term within a factor e^−(67 − ln S) of the largest (e⁻⁶³
  for S = 64) is a normal float32 number; the weights below that (under 1e-24 for S up to 100,000)
  are far below float32's resolution of their sum. Only float32 and float64 take this path: in float16
  e⁻²⁰ is below the smallest number.
* **rowsum(dP ⊙ P) = rowsum(dO ⊙ O)** in backward (dP = dO Vᵀ, O = P V): the sum over dv values per
  row, not over S — FlashAttention's identity. When the weights are an output too, their gradient
  joins dP and the sum is taken over dP ⊙ P directly.

Measured with ``python bench/attention.py`` (batch 32, 4 heads, head size 32, forward + backward,
medians of 7 alternating rounds): 64 tokens 5.64 ms as the composition, 4.34 ms fused (1.30×;
PyTorch 3.35 ms); 256 tokens 66.0 → 52.8 ms (1.25×; PyTorch 31.0 ms). The W7 Transformer step, A/B in one
process: 1.03× (bench/RESULTS.md, 2026-11-30). What is left is mostly the four stacked products of
backward and the two of forward, small ones (L×32 by 32×S) that OpenBLAS runs well below its peak.
Used without attention dropout (or in eval mode), for query, key and value of one dtype and the same
leading (batch, heads) shape; otherwise the reference composition runs.
"""
import math

from gradwork.autograd.function import Function
from gradwork.backend import get_array_module, xp
from gradwork.kernels.layout import row_sums

# A row whose Σ exp(s − head max) is below this was shifted too far down: recomputed with its own maximum.
SMALLEST_SAFE_SUM = math.exp(-20)


def softmax_rows(scores):
    """softmax along the last axis of ``scores`` (…, L, S) (contiguous, not empty), as a new array; see
    the module docstring for the shift by each head's maximum and the rows computed again with their own."""
    xp = get_array_module(scores)
    source_length = scores.shape[-1]
    heads = scores.reshape(-1, scores.shape[-2] * source_length)  # one row per (batch, head)
    weights = (heads - heads.max(axis=1, keepdims=True)).reshape(-1, source_length)
    xp.exp(weights, out=weights)
    sums = row_sums(weights)
    redo = ~(sums >= SMALLEST_SAFE_SUM)  # also NaN sums: a NaN or ±∞ score in the head
    if redo.any():
        rows = scores.reshape(-1, source_length)[redo]
        exact = xp.exp(rows - rows.max(axis=1, keepdims=True))
        weights[redo] = exact
        sums[redo] = exact.sum(axis=1)
    weights /= sums[:, None]
    return weights.reshape(scores.shape)


class FusedAttention(Function):
    """softmax(Q Kᵀ/√d + M) V: query (…, L, d), key (…, S, d), value (…, S, dv), then any number of
    additive masks broadcasting to (…, L, S) (no gradient). Returns the output (…, L, dv), and the
    weights (…, L, S) as a second output when ``return_weights``."""

    op_name = "scaled_dot_product_attention"

    @staticmethod
    def applies(query, key, value, *biases):
        """Whether the fused op can run: query, key and value all float32 or all float64, of one leading
        (batch, heads) shape, none of them empty, masks that broadcast to the scores' shape (the
        reference handles the rest)."""
        scores_shape = query.shape[:-1] + key.shape[-2:-1]
        return (query.dtype == key.dtype == value.dtype and query.dtype in (xp.float32, xp.float64)
                and query.ndim >= 2
                and query.shape[:-2] == key.shape[:-2] == value.shape[:-2]
                and 0 not in query.shape + key.shape + value.shape
                and all(bias.ndim <= len(scores_shape)
                        and all(b in (1, s) for b, s in zip(bias.shape[::-1], scores_shape[::-1])) for bias in biases))

    def __init__(self, return_weights=False):
        self.return_weights = return_weights

    def forward(self, query, key, value, *biases):
        xp = get_array_module(query)
        self.scale = 1.0 / math.sqrt(query.shape[-1])
        scaled_query = query * self.scale
        scores = xp.matmul(scaled_query, xp.ascontiguousarray(xp.swapaxes(key, -1, -2)))
        for bias in biases:
            scores += bias
        weights = softmax_rows(scores)
        output = xp.matmul(weights, value)
        self.save_for_backward(scaled_query, key, value, weights, output)
        return (output, weights) if self.return_weights else output

    def backward(self, g_output, g_weights=None):
        scaled_query, key, value, weights, output = self.saved
        xp = get_array_module(g_output)
        g_value = xp.matmul(xp.swapaxes(weights, -1, -2), g_output)  # dV = Pᵀ dO
        g_scores = xp.matmul(g_output, xp.ascontiguousarray(xp.swapaxes(value, -1, -2)))  # dP = dO Vᵀ
        source_length = weights.shape[-1]
        if g_weights is None:  # rowsum(dP ⊙ P) = rowsum(dO ⊙ O): dv values a row instead of S
            products, width = g_output * output, output.shape[-1]
        else:
            g_scores += g_weights
            products, width = g_scores * weights, source_length
        rows = g_scores.reshape(-1, source_length)
        rows -= row_sums(products.reshape(-1, width))[:, None]
        g_scores *= weights  # dS = P ⊙ (dP − rowsum(dP ⊙ P)), the softmax backward
        g_query = g_key = None  # S = (Q/√d) Kᵀ: dQ = dS K/√d, dK = dSᵀ (Q/√d)
        if self.needs_input_grad[0]:
            g_query = xp.matmul(g_scores, key)
            g_query *= self.scale
        if self.needs_input_grad[1]:
            g_key = xp.matmul(xp.swapaxes(g_scores, -1, -2), scaled_query)
        return (g_query, g_key, g_value) + (None,) * (len(self.needs_input_grad) - 3)
