"""Kullback–Leibler divergence between a target distribution and a predicted one (as PyTorch's
``kl_div``: the prediction comes as log-probabilities), e.g. for knowledge distillation.

    KL(t ‖ p) = Σ t·(log t − log p)

Cross-entropy with probability targets is this plus the target's entropy Σ −t log t, which does
not depend on the prediction: both have the same gradient.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.ops import reductions
from gradwork.ops._loss_util import check_reduction, float_target, reduce

KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


class KLDivergence(Function):
    """Pointwise KL term for log-probabilities x and target t:  t·(log t − x), with 0·log 0 = 0;
    with ``log_target`` the target comes as log t:  e^t·(t − x).  d/dx = −t (or −e^t)."""

    def __init__(self, target, log_target):
        self.target, self.log_target = target, log_target

    def forward(self, x):
        t = self.target
        if self.log_target:
            return xp.exp(t) * (t - x)
        with xp.errstate(divide="ignore", invalid="ignore"):  # t = 0: log 0 = −inf, and 0·(−inf) is replaced by 0
            t_log_t = xp.where(t == 0, t.dtype.type(0), t * xp.log(t))
        return t_log_t - t * x

    def backward(self, gy):
        t = self.target
        return -gy * (xp.exp(t) if self.log_target else t)


def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL divergence, pointwise  target·(log target − input),  with ``input`` the log-probabilities
    of the prediction (e.g. ``log_softmax``) and ``target`` probabilities of the same shape (their
    logs with ``log_target=True``).

    ``reduction``: 'batchmean' (sum / N: the true KL divergence per example, what you want),
    'sum', 'none', or 'mean' — PyTorch's default, the mean over *all* elements, which is the
    KL divergence divided by the number of classes as well.
    """
    name = "kl_div"
    check_reduction(reduction, name, KL_REDUCTIONS)
    input = as_tensor(input)
    loss = KLDivergence(float_target(target, input, name), log_target)(input)
    if reduction == "batchmean":
        total = reductions.sum(loss)
        return total / input.shape[0] if input.ndim else total
    return reduce(loss, reduction)
