"""The functional form of every layer and loss (``import gradwork.nn.functional as F``).

These are the ops themselves; the modules in ``gradwork.nn`` hold weights and options and call them.
"""
from gradwork.ops.activations import leaky_relu, log_softmax, relu, sigmoid, softmax, step, tanh
from gradwork.ops.dropout import dropout
from gradwork.ops.linear import linear
from gradwork.ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                                 mse_loss, nll_loss)
from gradwork.ops.penalties import l1_penalty, l2_penalty

__all__ = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "step", "softmax", "log_softmax", "dropout",
           "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "l1_penalty", "l2_penalty"]
