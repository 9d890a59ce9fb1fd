"""Reference architectures, built only from ``gradwork.nn``, and a registry to build them by name."""
import math

from gradwork.errors import ConfigError
from gradwork.models.alexnet import AlexNet
from gradwork.models.char_rnn import CharRNN
from gradwork.models.lenet import LeNet5
from gradwork.models.logistic_regression import LogisticRegression
from gradwork.models.mlp import MLP
from gradwork.models.resnet import BasicBlock, ResNet, resnet18, resnet_small
from gradwork.models.simple_convnet import SimpleConvNet
from gradwork.models.transformer_classifier import TransformerClassifier
from gradwork.models.vgg import VGG16, VGGNet
from gradwork.models.word2vec import Word2Vec


def _mlp(input_shape, num_classes, hidden=(256, 128), activation="relu", dropout=0.0, **_):
    return MLP([math.prod(input_shape), *hidden, num_classes], activation=activation, dropout=dropout)


def _logistic(input_shape, num_classes, **_):
    return LogisticRegression(math.prod(input_shape), num_classes)


def _image(build):
    """Adapt a builder of image models to the registry's (input_shape, num_classes, **options) call."""
    def make(input_shape, num_classes, **options):
        if len(input_shape) != 3:
            raise ConfigError(f"convolutional models need image inputs (C, H, W), got examples of shape {input_shape}")
        channels, height, _ = input_shape
        return build(channels, num_classes, height, **options)
    return make


MODELS = {
    "mlp": _mlp,
    "logistic": _logistic,
    "lenet5": _image(lambda c, k, size, variant="modern", **_: LeNet5(c, k, size, variant)),
    "simplecnn": _image(lambda c, k, size, **_: SimpleConvNet(c, k, size)),
    "vggnet": _image(lambda c, k, size, batchnorm=True, dropout=0.5, **_:
                     VGGNet(c, k, size, batchnorm=batchnorm, dropout=dropout or 0.5)),
    "vgg16": _image(lambda c, k, size, batchnorm=True, **_: VGG16(c, k, size, batchnorm=batchnorm)),
    "alexnet": _image(lambda c, k, size, **_: AlexNet(c, k, size)),
    "resnet18": _image(lambda c, k, size, **_: resnet18(c, k, small_input=size <= 64)),
    "resnet-small": _image(lambda c, k, size, **_: resnet_small(c, k)),
}


def build_model(name, input_shape, num_classes, **options):
    """The model called ``name`` for inputs of ``input_shape`` (without the batch axis) and ``num_classes``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name](tuple(input_shape), num_classes, **options)
