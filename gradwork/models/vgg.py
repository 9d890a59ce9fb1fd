"""VGG-style networks (Simonyan & Zisserman, 2014): stacks of 3×3 convolutions and 2×2 max-pools.

Two 3×3 convolutions see a 5×5 window with fewer weights than one 5×5 convolution, and an extra
non-linearity in between: depth from small kernels.
"""
import re

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
VGG16_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)


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
    fc 512 → dropout → fc 512 → dropout → fc classes (the ImageNet version has two fc 4096 layers).

    ``widths`` (the five blocks' channels) and ``hidden`` (the classifier's width) shrink it for
    experiments. ``weights=PATH`` loads pretrained weights: a gradwork checkpoint's or PyTorch state
    dict of this model, or torchvision's ``vgg16`` (``batchnorm=False``) / ``vgg16_bn``
    (``batchnorm=True``) in any format :func:`gradwork.io.load_state_dict_file` reads.

    torchvision's names are mapped to gradwork's: ``features.<i>.*`` → ``features.0.<i>.*`` (the
    layer indices are the same: conv, [BatchNorm], ReLU, and a pool after each block). torchvision's
    ``vgg16_bn`` has a bias in each convolution before its BatchNorm; gradwork's has none, so the
    bias is folded into the BatchNorm's running mean (``running_mean - bias``), which gives exactly
    the same outputs in evaluation and training. torchvision's classifier (25088 → 4096 → 4096 →
    1000) does not fit this small-image one, so with a torchvision file the classifier keeps its fresh
    initialisation (a warning says so): transfer learning trains a new head on the pretrained
    features. Make the file on a machine with torchvision::

        import torch, torchvision
        torch.save(torchvision.models.vgg16_bn(weights="IMAGENET1K_V1").state_dict(), "vgg16_bn.pt")

    then freeze the features and train the new head::

        model = VGG16(num_classes=10, weights="vgg16_bn.pt")
        model.features.freeze()
        optimizer = gw.optim.Adam(p for p in model.parameters() if p.requires_grad)

    (in training mode, BatchNorm still updates its running statistics: call ``model.features.eval()``
    after every ``model.train()`` to keep them too.) ImageNet weights expect images normalised with
    ImageNet's mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225).
    """

    def __init__(self, in_channels=3, num_classes=10, input_size=32, batchnorm=True, dropout=0.5,
                 widths=(64, 128, 256, 512, 512), hidden=512, weights=None):
        super().__init__()
        if input_size < 32:
            raise ConfigError(f"VGG16 needs inputs of at least 32×32 (five 2×2 poolings); got {input_size}×"
                              f"{input_size}. Use the smaller 'vggnet' for 28×28 images.")
        if len(widths) != 5:
            raise ConfigError(f"VGG16 has five blocks: widths needs five channel counts, got {tuple(widths)}")
        config = [item for w, n in zip(widths, VGG16_CONVS_PER_BLOCK) for item in (w,) * n + ("M",)]
        self.features = Sequential(make_layers(config, in_channels, batchnorm), AdaptiveAvgPool2d(1), Flatten())
        self.classifier = Sequential(Linear(widths[-1], hidden), ReLU(), Dropout(dropout), Linear(hidden, hidden),
                                     ReLU(), Dropout(dropout), Linear(hidden, num_classes))
        he_init(self)
        if weights is not None:
            from gradwork.io.state_dict_file import load_pretrained  # io sits above models: imported when used
            load_pretrained(self, weights, rename=torchvision_name, head="classifier.", fix=fold_conv_bias)

    def forward(self, x):
        return self.classifier(self.features(x))


def vgg16(in_channels=3, num_classes=10, input_size=32, batchnorm=True, dropout=0.5, weights=None, **options):
    """:class:`VGG16`, by PyTorch's lower-case name; ``weights=PATH`` loads pretrained weights."""
    return VGG16(in_channels, num_classes, input_size, batchnorm, dropout, weights=weights, **options)


def torchvision_name(key):
    """torchvision's ``features.<i>.<name>`` is gradwork's ``features.0.<i>.<name>``; other names are kept."""
    match = re.fullmatch(r"features\.(\d+)\.(\w+)", key)
    return f"features.0.{match[1]}.{match[2]}" if match else key


def fold_conv_bias(state, model):
    """A convolution bias before a BatchNorm that gradwork's model lacks: BN(conv + b) uses the mean
    of conv + b, so b moves into the running mean (mean − b) and cancels in the batch mean — exact."""
    layers = model.features[0]
    state = dict(state)
    for index, layer in enumerate(layers):
        key = f"features.0.{index}.bias"
        if (isinstance(layer, Conv2d) and layer.bias is None and key in state and index + 1 < len(layers)
                and isinstance(layers[index + 1], BatchNorm2d)):
            mean_key = f"features.0.{index + 1}.running_mean"
            bias = state.pop(key)
            if mean_key in state and tuple(state[mean_key].shape) == tuple(bias.shape):
                state[mean_key] = state[mean_key] - bias
            else:
                state[key] = bias  # leave it: load_state_dict names what does not fit
    return state
