"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``, ``functional``."""
from gradwork.nn import functional, init, utils
from gradwork.nn.activation import (ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                                    Softplus, Step, Tanh)
from gradwork.nn.attention import MultiheadAttention
from gradwork.nn.cheb_conv import ChebConv
from gradwork.nn.containers import ModuleList, Sequential
from gradwork.nn.conv import Conv2d, ConvTranspose2d
from gradwork.nn.dropout import Dropout, Dropout2d
from gradwork.nn.embedding import Embedding
from gradwork.nn.flatten import Flatten
from gradwork.nn.graph_networks import GraphAttention, GraphConv, normalize_adjacency
from gradwork.nn.linear import Identity, Linear
from gradwork.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                              MultiMarginLoss, NLLLoss, SmoothL1Loss)
from gradwork.nn.module import Module
from gradwork.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from gradwork.nn.parameter import Parameter
from gradwork.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from gradwork.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from gradwork.nn.spatial_transformer import SpatialTransformer
from gradwork.nn.transformer import (LearnedPositionalEncoding, PositionalEncoding, TransformerEncoder,
                                     TransformerEncoderLayer)
