"""Fast fully connected layer: the same numbers as ``gradwork/ops/linear.py``'s ``LinearFunction``
(y = x Wᵀ + b), with the bias inside the matrix product and the bias gradient as a BLAS product.

* **Forward: the output starts as the bias, and BLAS adds x Wᵀ onto it** (``kernels.blas.gemm`` with
  β = 1) instead of ``y = x @ W.T`` followed by ``y += b``, a second pass over the whole output. Alone
  (medians of 9 alternating rounds): W1-infer's layers (1000 rows) 784→256 2.13 → 2.09 ms, 256→256
  0.74 → 0.71 ms; W7's (2048 rows) 128→512 2.08 → 1.76 ms, 128→384 1.22 → 1.09 ms. In whole steps, A/B
  against the reference op (``python bench/ab_kernel.py gradwork/kernels/linear.py --against reference``,
  10–16 rounds): W1-infer 1.00–1.02× while the machine runs fast and 1.10–1.13× in its slow phases, when
  every pass over a 1 MB array slows down (medians of five A/Bs 1.00–1.13×), W7 1.02–1.04×, W1 1.00×
  (its layers are below the size limit below) (bench/RESULTS.md, 2026-11-30, session 5). The bias is
  added inside the sum instead of after it: equal to rounding.
* **Backward: db = 1ᵀ·gy** (``kernels.layout.column_sums``) instead of ``gy.sum(axis=0)``: (2048, 512)
  97 → 45 µs, (1000, 256) 35 → 16 µs. The input and weight gradients are the reference's products.

Where NumPy's BLAS is not reachable (``blas.available``: another BLAS, a GPU array, mixed dtypes) the
forward is the reference's.
"""
from gradwork.backend import get_array_module
from gradwork.kernels import blas
from gradwork.kernels.layout import column_sums
from gradwork.ops.linear import LinearFunction, as_matrix


#: Outputs smaller than this (rows × out_features) keep the reference's ``y += b``: the BLAS call through
#: ctypes costs a few µs more, which the saved pass repays only from about 32K outputs on (measured:
#: 1,280 outputs 18 → 25 µs, 10,000 outputs 71 → 77 µs, 32,768 even, 262,144 outputs 399 → 375 µs).
BIAS_IN_PRODUCT_MIN_OUTPUTS = 65536


class FastLinear(LinearFunction):
    """y = x Wᵀ + b with x (*, in), W (out, in), b (out,) → y (*, out); the bias preloaded into the
    output and the product added onto it by BLAS."""

    op_name = "linear"

    def forward(self, x, weight, bias=None):
        if bias is None or x.size // max(x.shape[-1], 1) * weight.shape[0] < BIAS_IN_PRODUCT_MIN_OUTPUTS \
                or not blas.available(x, weight, bias) or x.shape[-1:] != weight.shape[1:]:
            return super().forward(x, weight, bias)  # (and the reference's message for a shape mismatch)
        self.save_for_backward(x, weight)
        rows = as_matrix(x)
        y = get_array_module(x).empty((rows.shape[0], weight.shape[0]), dtype=x.dtype)
        y[...] = bias
        blas.gemm(rows, weight.T, y, accumulate=True)
        return y.reshape(x.shape[:-1] + weight.shape[:1])

    bias_gradient = staticmethod(column_sums)  # db = 1ᵀ·gy; dx and dW are the reference's products
