"""The functional form of every layer and loss (``import gradwork.nn.functional as F``).

These are the ops themselves; the modules in ``gradwork.nn`` hold weights and options and call them.
"""
from gradwork.ops.activations import (elu, gelu, hardtanh, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,
                                     softplus, step, tanh)
from gradwork.ops.attention import causal_mask, scaled_dot_product_attention
from gradwork.ops.conv import conv2d, conv_transpose2d
from gradwork.ops.dropout import dropout, dropout2d
from gradwork.ops.embedding import embedding, one_hot
from gradwork.ops.grid_sample import affine_grid, grid_sample
from gradwork.ops.linear import linear
from gradwork.ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                                 kl_div, l1_loss, mse_loss, multi_margin_loss, nll_loss, smooth_l1_loss,
                                 token_cross_entropy)
from gradwork.ops.normalization import batch_norm, layer_norm
from gradwork.ops.padding import pad
from gradwork.ops.penalties import l1_penalty, l2_penalty
from gradwork.ops.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from gradwork.ops.recurrent import gru_layer, lstm_layer, rnn_layer
from gradwork.ops.shape import flatten

__all__ = ["linear", "relu", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "sigmoid", "tanh", "step", "softmax",
           "log_softmax", "dropout", "pad",
           "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "multi_margin_loss",
           "l1_penalty", "l2_penalty", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "batch_norm", "layer_norm", "dropout2d", "flatten", "gelu", "embedding", "one_hot",
           "scaled_dot_product_attention", "causal_mask", "token_cross_entropy", "rnn_layer", "lstm_layer", "gru_layer",
           "affine_grid", "grid_sample"]
