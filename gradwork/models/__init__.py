"""Reference architectures, built only from ``gradwork.nn``, and a registry to build them by name.

Each entry of ``MODELS`` lists the options its model takes, with their defaults. ``build_model``
refuses any other option, naming the models that do take it: an option is never silently dropped,
nor replaced by a default (``dropout=0`` means no dropout, also where the default is 0.5).
"""
import math
import os
from dataclasses import dataclass, field

from gradwork import backend
from gradwork.errors import ConfigError
from gradwork.models.alexnet import AlexNet
from gradwork.models.char_rnn import CharRNN
from gradwork.models.ensemble import Ensemble
from gradwork.models.gaussian_classifier import GaussianClassifier
from gradwork.models.lenet import LeNet5
from gradwork.models.logistic_regression import LogisticRegression
from gradwork.models.mlp import MLP
from gradwork.models.resnet import BasicBlock, ResNet, resnet18, resnet_small
from gradwork.models.simple_convnet import SimpleConvNet
from gradwork.models.transformer_classifier import TransformerClassifier
from gradwork.models.vgg import VGG16, VGGNet, vgg16
from gradwork.models.word2vec import Word2Vec

# Training holds each parameter about four times: the weight, its gradient and (Adam) two moments.
COPIES_TO_TRAIN = 4
GIB = 2 ** 30


def check_size(what, num_parameters, hint="choose smaller hidden sizes"):
    """Refuse a model that could not be trained in this machine's memory, before allocating it.

    NumPy would otherwise try, and fail deep inside an allocation (or swap the machine to a halt)."""
    itemsize = backend.xp.dtype(backend.get_default_dtype()).itemsize
    weights = num_parameters * itemsize
    available = _physical_memory()
    if weights * COPIES_TO_TRAIN > available:
        raise ConfigError(f"{what} would have {num_parameters:,} parameters: {weights / GIB:,.1f} GiB of weights, "
                          f"about {weights * COPIES_TO_TRAIN / GIB:,.1f} GiB to train (weights, gradients and "
                          f"optimizer state), more than this machine's {available / GIB:,.1f} GiB of memory; {hint}")


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: assume a modest machine
        return 16 * GIB


def _mlp(input_shape, num_classes, hidden, activation, dropout):
    sizes = [math.prod(input_shape), *hidden, num_classes]
    if all(isinstance(s, int) and s > 0 for s in sizes):  # MLP itself explains sizes that are not
        check_size(f"an MLP with hidden sizes {list(hidden)}", sum(a * b + b for a, b in zip(sizes, sizes[1:])))
    return MLP(sizes, activation=activation, dropout=dropout)


def _logistic(input_shape, num_classes):
    return LogisticRegression(math.prod(input_shape), num_classes)


def _image(build):
    """Adapt a builder of image models to the registry's (input_shape, num_classes, **options) call."""
    def make(input_shape, num_classes, **options):
        if len(input_shape) != 3:
            raise ConfigError(f"convolutional models need image inputs (C, H, W), got examples of shape {input_shape}")
        channels, height, _ = input_shape
        return build(channels, num_classes, height, **options)
    return make


@dataclass(frozen=True)
class Entry:
    """How to build one model: ``build(input_shape, num_classes, **options)``, and its options' defaults."""

    build: object
    options: dict = field(default_factory=dict)


MODELS = {
    "mlp": Entry(_mlp, {"hidden": (256, 128), "activation": "relu", "dropout": 0.0}),
    "logistic": Entry(_logistic),
    "lenet5": Entry(_image(lambda c, k, size, variant: LeNet5(c, k, size, variant)), {"variant": "modern"}),
    "simplecnn": Entry(_image(lambda c, k, size: SimpleConvNet(c, k, size))),
    "vggnet": Entry(_image(lambda c, k, size, batchnorm, dropout:
                           VGGNet(c, k, size, batchnorm=batchnorm, dropout=dropout)),
                    {"batchnorm": True, "dropout": 0.5}),
    "vgg16": Entry(_image(lambda c, k, size, batchnorm, dropout: VGG16(c, k, size, batchnorm=batchnorm,
                                                                       dropout=dropout)),
                   {"batchnorm": True, "dropout": 0.5}),
    "alexnet": Entry(_image(lambda c, k, size, dropout: AlexNet(c, k, size, dropout=dropout)), {"dropout": 0.5}),
    "resnet18": Entry(_image(lambda c, k, size: resnet18(c, k, small_input=size <= 64))),
    "resnet-small": Entry(_image(lambda c, k, size: resnet_small(c, k))),
}


def models_taking(option):
    """The names of the models that take ``option`` (e.g. "dropout")."""
    return [name for name, entry in MODELS.items() if option in entry.options]


def build_model(name, input_shape, num_classes, **options):
    """The model called ``name`` for inputs of ``input_shape`` (without the batch axis) and ``num_classes``.

    ``options`` are the model's own (``MODELS[name].options`` lists them with their defaults); any
    other option is an error that names the models taking it."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    entry = MODELS[name]
    for option in options:
        if option not in entry.options:
            takers = models_taking(option)
            raise ConfigError(f"{name} does not take the option {option!r} ("
                              + (f"models that take it: {', '.join(takers)}" if takers else "no model takes it")
                              + f"; {name} takes " + (", ".join(entry.options) or "no options") + ")")
    return entry.build(tuple(input_shape), num_classes, **{**entry.options, **options})
