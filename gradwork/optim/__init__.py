"""Optimisers (SGD, Adagrad, RMSprop, Adam, AdamW, SparseAdam, LBFGS), learning-rate schedules and gradient clipping.

The schedules live where PyTorch keeps them, in ``optim.lr_scheduler``: ``StepLR``, ``MultiStepLR``,
``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR``, ``LambdaLR``, ``OneCycleLR``,
``ReduceLROnPlateau``, and the course's ``InverseTimeDecay`` and ``LinearWarmup``.
"""
from gradwork.optim import lr_scheduler
from gradwork.optim.adagrad import Adagrad
from gradwork.optim.adam import Adam
from gradwork.optim.adamw import AdamW
from gradwork.optim.clip_grad import clip_grad_norm_, clip_grad_value_
from gradwork.optim.lbfgs import LBFGS
from gradwork.optim.optimizer import Optimizer
from gradwork.optim.rmsprop import RMSprop
from gradwork.optim.sgd import SGD
from gradwork.optim.sparse_adam import SparseAdam
