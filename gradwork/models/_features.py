"""Helpers shared by the convolutional models."""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import get_default_dtype, xp
from gradwork.errors import ConfigError
from gradwork.nn import init
from gradwork.nn.conv import Conv2d
from gradwork.nn.linear import Linear


def flat_size(features, input_shape, model_name):
    """Number of values ``features`` produces for one input of ``input_shape`` (C, H, W): found by
    running a zero image through it — the "keep track of your dimensions" arithmetic, done by the layers."""
    try:
        with features.evaluating():
            out = features(Tensor(xp.zeros((1,) + tuple(input_shape), get_default_dtype())))
    except ValueError as error:
        # Name the failing layer by its path in the model ("features.12"), not inside ``features``.
        origin = getattr(error, "layer_origin", None)
        layer = next((f"{path} ({type(m).__name__}): " for path, m in features.named_modules("features")
                      if m is origin), "")
        raise ConfigError(f"{model_name}: inputs of shape {tuple(input_shape)} do not fit this architecture: "
                          f"{layer}{getattr(error, 'bare_message', error)}") from None
    return out.numel()


def he_init(module):
    """He (Kaiming) normal initialisation for every convolution and linear layer, zero biases:
    the variance-preserving choice for ReLU networks."""
    for m in module.modules():
        if isinstance(m, (Conv2d, Linear)):
            init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
