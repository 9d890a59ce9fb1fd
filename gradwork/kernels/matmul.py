"""Fast matrix product: the same numbers as ``gradwork/ops/arithmetic.py``'s ``MatMul``, with each
gradient whose product sums over a dimension of length 1 — an outer product — made as a broadcast
product.

NumPy's ``matmul`` on a stack of matrices calls BLAS once per matrix. When the summed dimension has
length 1, every element of the result is one multiplication, and the broadcast product of the
(…, m, 1) and (…, 1, p) operands does them all in one pass. Word2vec's scores, (B, 1+k, D) @ (B, D, 1), have
such a gradient for the (B, 1+k, D) word vectors: for B = 1,024, k = 5, D = 100 it took 1,008 µs as a
stack of products and takes 321 µs as a broadcast product (best of 5 × 200 calls); the whole product's
forward and backward 958–997 → 389–403 µs; the W8 step 1.21× and 1.25× (``python bench/ab_kernel.py
gradwork/kernels/matmul.py --against reference W8``, medians of 12 and 16 alternating rounds;
bench/RESULTS.md, 2026-11-30, session 9). A sum of one term is that term: the same numbers bit for bit.
"""
from gradwork.backend import xp
from gradwork.ops._util import sum_to
from gradwork.ops.arithmetic import MatMul


class FastMatMul(MatMul):
    """Y = A B for A (…, m, p), B (…, p, n): dA = dY Bᵀ and dB = Aᵀ dY, as broadcast products when n = 1
    (dA) or m = 1 (dB). Operands of one dimension take the reference's backward."""

    op_name = "mat_mul"

    def backward(self, gy):
        a, b = self.saved
        if a.ndim < 2 or b.ndim < 2:
            return super().backward(gy)
        ga = gb = None
        if self.needs_input_grad[0]:
            b_t = xp.swapaxes(b, -1, -2)  # (…, n, p)
            ga = sum_to(gy * b_t if gy.shape[-1] == 1 else gy @ b_t, a.shape)
        if self.needs_input_grad[1]:
            a_t = xp.swapaxes(a, -1, -2)  # (…, p, m)
            gb = sum_to(a_t * gy if gy.shape[-2] == 1 else a_t @ gy, b.shape)
        return ga, gb
