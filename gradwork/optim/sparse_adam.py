"""SparseAdam: Adam that updates only the rows a batch used ("lazy" Adam), for sparse gradients."""
import math

from gradwork import kernels
from gradwork.autograd.sparse import SparseGrad
from gradwork.backend import xp
from gradwork.optim.optimizer import Optimizer


class SparseAdam(Optimizer):
    """Adam for an ``Embedding(sparse=True)``, PyTorch's ``torch.optim.SparseAdam`` exactly. For the rows
    r the gradient holds (every other row, and its moments, stay as they are)::

        t = t + 1                                       (one count per step, for the whole table)
        m[r] = β1·m[r] + (1 − β1)·g[r]
        v[r] = β2·v[r] + (1 − β2)·g[r]²
        θ[r] = θ[r] − lr · √(1 − β2ᵗ)/(1 − β1ᵗ) · m[r] / (√v[r] + eps)

    Dense Adam would also decay m and v of the rows the batch did not use, and so keep moving them
    (by lr·m̂/√v̂, with m̂ ≠ 0 long after their last gradient): a step would cost the whole table. Lazy
    Adam leaves those rows alone — another algorithm, nearly the same for rows used often, and the
    one that makes a step cost the rows used. Note eps is added to √v without bias correction (unlike
    ``Adam``: √v̂ + eps), as in PyTorch's SparseAdam. There is no weight decay (it would touch every row).

    Takes only sparse gradients; a dense one is refused (use ``Adam``), as in PyTorch.
    """

    accepts_sparse_grads = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if not lr > 0:
            raise ValueError(f"SparseAdam: lr must be positive, got {lr}")
        if not eps > 0:
            raise ValueError(f"SparseAdam: eps must be positive, got {eps}")
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"SparseAdam: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps))

    def update(self, param, grad, state, group):
        if not isinstance(grad, SparseGrad):
            raise RuntimeError("SparseAdam does not support dense gradients (a parameter of shape "
                               f"{param.shape} has one); use optim.Adam for it, or Embedding(..., sparse=True)")
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        if not len(grad.indices):
            return
        t, (beta1, beta2) = state["step"], group["betas"]
        step_size = group["lr"] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        kernels.choose(update_rows)(param, state["exp_avg"], state["exp_avg_sq"], grad.indices, grad.values,
                                    beta1, beta2, step_size, group["eps"])


def update_rows(param, exp_avg, exp_avg_sq, rows, g, beta1, beta2, step_size, eps):
    """Lazy Adam's update of the rows ``rows`` (distinct) of ``param`` and its moments, in place, given
    their gradient ``g`` (len(rows), *row_shape) and the bias-corrected ``step_size``.

    This is the course's version; on the fast path (``gw.kernels``) one compiled loop makes the same
    update row by row when Numba is installed (``kernels/sparse_adam.py``).
    """
    # Gather the used rows (copies; the indices are distinct), update them, write them back.
    m = xp.take(exp_avg, rows, axis=0)
    v = xp.take(exp_avg_sq, rows, axis=0)
    m += (1 - beta1) * (g - m)          # = β1·m + (1 − β1)·g, written as PyTorch computes it
    v += (1 - beta2) * (g * g - v)
    exp_avg[rows] = m
    exp_avg_sq[rows] = v
    step = xp.sqrt(v)
    step += eps
    xp.divide(m, step, out=step)       # m / (√v + eps), in one buffer
    param[rows] = xp.take(param, rows, axis=0) - step_size * step
