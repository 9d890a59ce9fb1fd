"""Utilities that act on a module's parameters, as PyTorch's ``torch.nn.utils``: ``max_norm_``.

(Gradient clipping, the other classic of ``torch.nn.utils``, lives with the optimisers:
``gradwork.optim.clip_grad_norm_``.)
"""
from gradwork.nn.max_norm import max_norm_

__all__ = ["max_norm_"]
