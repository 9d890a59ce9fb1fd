"""gradwork: a deep-learning framework written from first principles on NumPy.

    import gradwork as gw
    x = gw.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()           # x.grad == [[2., 4.]]
"""
from gradwork.backend import get_default_dtype, manual_seed, set_default_dtype
from gradwork.autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from gradwork.autograd.factories import (arange, eye, full, ones, ones_like, rand, randn, tensor, zeros,
                                         zeros_like)
from gradwork.ops import (abs, argmax, argmin, cat, clip, exp, flatten, log, matmul, max, mean, min, permute,
                          relu, reshape, sigmoid, softmax, sqrt, squeeze, stack, sum, tanh, transpose, unsqueeze,
                          var, where)
from gradwork import data, io, models, nn, optim, tools, train  # noqa: E402
from gradwork.io import load, save  # noqa: E402

__version__ = "0.1.0"
