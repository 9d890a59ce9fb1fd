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
from gradwork.ops import (abs, argmax, argmin, cat, chunk, clip, clone, cos, cumsum, exp, expand, flatten, flip,
                          gather, log, log1p, logsumexp, masked_fill, matmul, max, mean, min, norm, permute, prod,
                          relu, repeat, reshape, sigmoid, sin, softmax, split, sqrt, squeeze, stack, sum, tanh,
                          transpose, unbind, unsqueeze, var, where)
from gradwork import data, io, kernels, models, nn, optim, tools, train  # noqa: E402
from gradwork.io import load, save  # noqa: E402
from gradwork import onnx  # noqa: E402  (imports onnx itself only when export runs)
from gradwork import distributed  # noqa: E402  (imports mpi4py itself only when a run is distributed)

__version__ = "0.1.0"
