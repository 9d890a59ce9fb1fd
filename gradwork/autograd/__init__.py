"""The autograd engine: ``Tensor``, ``Function``, the backward pass and ``no_grad``."""
from gradwork.autograd.tensor import Tensor, as_tensor  # first: everything else builds on Tensor
from gradwork.autograd.function import Function
from gradwork.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Tensor", "Function", "as_tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]
