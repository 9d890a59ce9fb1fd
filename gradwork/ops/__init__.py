"""Every differentiable primitive, one file per family. ``gradwork.nn.functional`` is their public face."""
from gradwork.ops.activations import (elu, gelu, hardtanh, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,
                                     softplus, step, tanh)
from gradwork.ops.arithmetic import add, div, matmul, mul, neg, pow, sub
from gradwork.ops.device import to_device
from gradwork.ops.dropout import dropout
from gradwork.ops.elementwise import abs, cast, clip, clone, cos, exp, log, log1p, sin, sqrt, where
from gradwork.ops.indexing import gather, index_put, masked_fill
from gradwork.ops.linear import linear
from gradwork.ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                                 kl_div, l1_loss, mse_loss, multi_margin_loss, nll_loss, smooth_l1_loss)
from gradwork.ops.padding import pad
from gradwork.ops.penalties import l1_penalty, l2_penalty
from gradwork.ops.reductions import argmax, argmin, cumsum, logsumexp, max, mean, min, norm, prod, sum, var
from gradwork.ops.shape import (cat, chunk, expand, flatten, flip, getitem, permute, repeat, reshape, split, squeeze,
                                stack, transpose, unbind, unsqueeze)
