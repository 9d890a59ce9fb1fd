"""VGG-style networks (Simonyan & Zisserman, 2014): stacks of 3×3 convolutions and 2×2 max-pools.

Two 3×3 convolutions see a 5×5 window with fewer weights than one 5×5 convolution, and an extra
non-linearity in between: depth from small kernels.
"""
from gradwork.errors import ConfigError
from gradwork.models._features import flat_size, he_init
from gradwork.nn.activation import ReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.dropout import Dropout
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.normalization import BatchNorm2d
from gradwork.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

VGG16_LAYERS = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def make_layers(config, in_channels, batchnorm):
    """Conv 3×3 (padding 1: size kept) [→ BatchNorm] → ReLU for each number; 2×2 max-pool for "M".
    With BatchNorm the convolution needs no bias (BatchNorm's β does its job)."""
    layers = []
    for item in config:
        if item == "M":
            layers.append(MaxPool2d(2))
            continue
        layers.append(Conv2d(in_channels, item, 3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(BatchNorm2d(item))
        layers.append(ReLU())
        in_channels = item
    return Sequential(*layers)


class VGGNet(Module):
    """A deep VGG-style net for small images: for each width c in ``widths``, two 3×3 convolutions
    of c channels and a max-pool; then fc ``hidden`` → dropout → fc classes. He initialisation;
    BatchNorm after every convolution when ``batchnorm`` (the default).

    Shapes for 28×28 and widths (32, 64, 128): 32×28×28 → 32×14×14 → 64×14×14 → 64×7×7 → 128×7×7
    → 128×3×3 → 1152 → hidden → classes.
    """

    def __init__(self, in_channels=1, num_classes=10, input_size=28, widths=(32, 64, 128), hidden=256,
                 dropout=0.5, batchnorm=True):
        super().__init__()
        config = [item for w in widths for item in (w, w, "M")]
        self.features = Sequential(make_layers(config, in_channels, batchnorm), Flatten())
        n = flat_size(self.features, (in_channels, input_size, input_size), "VGGNet")
        self.classifier = Sequential(Linear(n, hidden), ReLU(), Dropout(dropout), Linear(hidden, num_classes))
        he_init(self)

    def forward(self, x):
        return self.classifier(self.features(x))


class VGG16(Module):
    """VGG-16: 13 convolutions in five blocks (64, 128, 256, 512, 512 channels), for 32×32 inputs and
    larger (five pools halve 32 to 1). The classifier is the small-image one: global average pool →
    fc 512 → dropout → fc 512 → dropout → fc classes (the ImageNet version has two fc 4096 layers)."""

    def __init__(self, in_channels=3, num_classes=10, input_size=32, batchnorm=True, dropout=0.5):
        super().__init__()
        if input_size < 32:
            raise ConfigError(f"VGG16 needs inputs of at least 32×32 (five 2×2 poolings); got {input_size}×"
                              f"{input_size}. Use the smaller 'vggnet' for 28×28 images.")
        self.features = Sequential(make_layers(VGG16_LAYERS, in_channels, batchnorm), AdaptiveAvgPool2d(1), Flatten())
        self.classifier = Sequential(Linear(512, 512), ReLU(), Dropout(dropout), Linear(512, 512), ReLU(),
                                     Dropout(dropout), Linear(512, num_classes))
        he_init(self)

    def forward(self, x):
        return self.classifier(self.features(x))
