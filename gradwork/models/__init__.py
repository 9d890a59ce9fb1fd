"""Reference architectures, built only from ``gradwork.nn``, and a registry to build them by name."""
import math

from gradwork.errors import ConfigError
from gradwork.models.logistic_regression import LogisticRegression
from gradwork.models.mlp import MLP


def _mlp(input_shape, num_classes, hidden=(256, 128), activation="relu", dropout=0.0, **_):
    return MLP([math.prod(input_shape), *hidden, num_classes], activation=activation, dropout=dropout)


def _logistic(input_shape, num_classes, **_):
    return LogisticRegression(math.prod(input_shape), num_classes)


MODELS = {"mlp": _mlp, "logistic": _logistic}


def build_model(name, input_shape, num_classes, **options):
    """The model called ``name`` for inputs of ``input_shape`` (without the batch axis) and ``num_classes``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name](tuple(input_shape), num_classes, **options)
