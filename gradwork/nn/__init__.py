"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``, ``functional``."""
from gradwork.nn import functional, init
from gradwork.nn.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Step, Tanh
from gradwork.nn.containers import ModuleList, Sequential
from gradwork.nn.dropout import Dropout
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Identity, Linear
from gradwork.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
