"""Fast softmax cross-entropy for class labels: the same numbers as ``gradwork/ops/classification_losses.py``'s
``CrossEntropy`` to rounding, with fewer passes over the logits and none of them a row at a time.

For logits z (M, C) and labels y, with m_n = max_c z_nc, e = exp(z − m) and s_n = Σ_c e_nc:

    loss_n = log s_n − (z_n,y_n − m_n)         (the reference: −log_softmax(z)[n, y_n], the same number)
    ∂loss_n/∂z_n = e_n / s_n − onehot(y_n)     (softmax − one-hot, times the mean's 1/M)

* **The row maxima down the columns** (``layout.row_maxima``): NumPy's ``max(axis=1)`` pays a fixed cost
  per row, most of the time for a few classes.
* **The row sums as one BLAS product** (``layout.row_sums``), the same reason.
* **Only what the loss needs in forward**: log s (M values) and the label's shifted logit, not the whole
  log-softmax matrix (two passes: the log-softmax, then ``exp`` of it again in backward); e and s are kept,
  and backward's softmax is e scaled per row, one pass.
* **Rows of 64 classes and more as one compiled loop** (``softmax_loops.cross_entropy_forward``, float32,
  with Numba): e, s and the loss in one pass over each row, the exponential vectorised with it. Shorter
  rows keep the NumPy passes, faster there (``LOOP_MIN_CLASSES``).

Forward and backward of the op, float32, against the reference (medians of 9 alternating rounds;
bench/RESULTS.md, 2026-12-01, session 17): (128, 10), W1's, 27.8 → 19.1 µs; (1,000, 10) 108 → 47 µs; with
the loop (2,048, 65), W4's, 391 → 256 µs, (32, 1,000) 68 → 38 µs, (512, 1,024) 891 → 428 µs. The sums are
taken in another order (BLAS's, or the loop's) and the loop's exponential is its own (within an ulp of
NumPy's), so the numbers are equal to rounding.

Only the common case runs here: class indices, no class weights, no label smoothing, no ignored labels
(``F.cross_entropy``'s plain mean or per-example losses), float32 and float64. Everything else — probabilities
as targets, weights, smoothing, ``ignore_index`` in use, an empty batch, float16 — is the reference's.
"""
import numpy as np

from gradwork.backend import get_array_module
from gradwork.kernels.layout import row_maxima, row_sums
from gradwork.kernels.softmax import as_rows, run_rows
from gradwork.ops.classification_losses import CrossEntropy


#: Rows of fewer classes keep the NumPy passes below, faster there than the compiled loop, whose rows are too
#: short to vectorise well (forward + backward, float32, NumPy → loop: (1,000, 16) 83.5 → 85.3 µs, (1,000, 32)
#: 114 → 117, (1,000, 64) 190 → 172, (256, 128) 94 → 84, (32, 1,000) 75 → 64).
LOOP_MIN_CLASSES = 64


class FastCrossEntropy(CrossEntropy):
    """Softmax cross-entropy of logits (M, C) against M class labels, from e = exp(z − max) and its row
    sums; see the module docstring."""

    op_name = "cross_entropy"

    def applies(self, z):
        """Whether this kernel computes the op: class labels, nothing weighted, smoothed or ignored, at
        least one example, float32 or float64 logits (float16's mean is the reference's, summed in float32:
        a float16 sum of a large batch's losses would overflow)."""
        return (self.target.ndim == 1 and self.weight is None and not self.label_smoothing
                and self.kept is None and len(z) > 0 and z.dtype in (np.float32, np.float64))

    def forward(self, z):
        self.from_exponentials = self.applies(z)
        if not self.from_exponentials:
            return super().forward(z)
        if z.shape[1] >= LOOP_MIN_CLASSES and as_rows(z, -1) is not None:  # one compiled loop over the rows
            exponentials, sums, loss = np.empty_like(z), np.empty(len(z), z.dtype), np.empty(len(z), z.dtype)
            run_rows("cross_entropy_forward", z, row_maxima(z), self.target.astype(np.intp, copy=False),
                     exponentials, sums, loss)
        else:
            xp = get_array_module(z)
            shifted = z - row_maxima(z)[:, None]
            exponentials = xp.exp(shifted)
            sums = row_sums(exponentials)
            loss = xp.log(sums) - shifted[xp.arange(len(z)), self.target]
        self.save_for_backward(exponentials, sums)
        return loss.sum() / len(loss) if self.mean else loss

    def backward(self, gy):
        if not self.from_exponentials:
            return super().backward(gy)
        exponentials, sums = self.saved
        xp = get_array_module(exponentials)
        scale = gy / len(exponentials) if self.mean else gy  # each row's factor: the mean's 1/M, or its own gy
        grad = exponentials * (scale / sums)[:, None]          # softmax, scaled
        grad[xp.arange(len(grad)), self.target] -= scale      # − the one-hot label
        return grad
