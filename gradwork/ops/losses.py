"""Every loss function, gathered from the files of its family:

    classification_losses  cross_entropy (fused with log-softmax), nll_loss, multi_margin_loss,
                           token_cross_entropy
    binary_losses          binary_cross_entropy, binary_cross_entropy_with_logits
    regression_losses      mse_loss, l1_loss, smooth_l1_loss, huber_loss
    divergence_losses      kl_div

Signatures, defaults and reductions are PyTorch's (without its deprecated ``size_average`` and
``reduce``): ``reduction='mean'`` averages, ``'sum'`` adds up, ``'none'`` gives one loss per
example or element. Arguments PyTorch takes positionally after the target (``weight``; ``p``,
``margin``, ``weight`` of multi_margin_loss) are positional here too; the rest are keyword-only,
so that no call can silently bind a value to the wrong option. Targets may be arrays, lists or
tensors; they receive no gradient.
"""
from gradwork.ops._loss_util import REDUCTIONS, class_indices
from gradwork.ops.binary_losses import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, binary_cross_entropy,
                                        binary_cross_entropy_with_logits)
from gradwork.ops.classification_losses import (CrossEntropy, MultiMargin, NegativeLogLikelihood, cross_entropy,
                                                multi_margin_loss, nll_loss, token_cross_entropy)
from gradwork.ops.divergence_losses import KLDivergence, kl_div
from gradwork.ops.regression_losses import SmoothL1, huber_loss, l1_loss, mse_loss, smooth_l1_loss

__all__ = ["cross_entropy", "nll_loss", "multi_margin_loss", "token_cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
           "CrossEntropy", "NegativeLogLikelihood", "MultiMargin", "BinaryCrossEntropy",
           "BinaryCrossEntropyWithLogits", "SmoothL1", "KLDivergence", "REDUCTIONS", "class_indices"]
