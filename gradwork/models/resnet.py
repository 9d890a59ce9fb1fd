"""Residual networks (He et al., 2016): each block learns a correction F(x) added to its input.

    out = ReLU(F(x) + shortcut(x)),   F = conv 3×3 → BN → ReLU → conv 3×3 → BN

The shortcut is the identity, or a 1×1 convolution (+ BN) when the block changes the number of
channels or the resolution. Because the identity is always available, a deep stack is never
worse at fitting than a shallow one, and gradients flow straight through the additions.
"""
import re

from gradwork.nn import init
from gradwork.nn.activation import ReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.normalization import BatchNorm2d
from gradwork.nn.pooling import AdaptiveAvgPool2d, MaxPool2d
from gradwork.ops.activations import relu


class BasicBlock(Module):
    """Two 3×3 convolutions with BatchNorm, plus the shortcut; the skip is added before the final ReLU."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                       BatchNorm2d(out_channels))
        else:
            self.shortcut = None

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.shortcut is None else self.shortcut(x)
        return relu(out + skip)


class ResNet(Module):
    """A stem, stages of ``BasicBlock``s (the first block of each later stage halves the resolution
    and changes the width), global average pooling and one linear layer.

    ``small_input`` (images up to 64 pixels): a 3×3 stem with no pooling, as for CIFAR; otherwise
    the ImageNet stem, 7×7/2 convolution and 3×3/2 max-pool. ``zero_init_residual`` starts every
    block's last BatchNorm at γ = 0, so each block begins as the identity (then ReLU).
    """

    def __init__(self, blocks_per_stage=(2, 2, 2, 2), widths=(64, 128, 256, 512), in_channels=3, num_classes=10,
                 small_input=True, zero_init_residual=False):
        super().__init__()
        if small_input:
            stem = [Conv2d(in_channels, widths[0], 3, padding=1, bias=False), BatchNorm2d(widths[0]), ReLU()]
        else:
            stem = [Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False), BatchNorm2d(widths[0]), ReLU(),
                    MaxPool2d(3, 2, padding=1)]
        self.stem = Sequential(*stem)
        stages, channels = [], widths[0]
        for i, (count, width) in enumerate(zip(blocks_per_stage, widths)):
            blocks = []
            for j in range(count):
                blocks.append(BasicBlock(channels, width, stride=2 if (i > 0 and j == 0) else 1))
                channels = width
            stages.append(Sequential(*blocks))
        self.stages = Sequential(*stages)
        self.head = Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear(channels, num_classes))
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def resnet18(in_channels=3, num_classes=10, small_input=True, weights=None, widths=(64, 128, 256, 512)):
    """ResNet-18: four stages of two blocks, 64–512 channels (11 million parameters).

    ``weights=PATH`` loads pretrained weights — this model's own state dict, or torchvision's
    ``resnet18`` (use ``small_input=False``: torchvision's stem is the ImageNet one, 7×7/2 and a
    max-pool) — in any format :func:`gradwork.io.load_state_dict_file` reads. torchvision's names are
    mapped to gradwork's (:func:`torchvision_name`): ``conv1``/``bn1`` → ``stem.0``/``stem.1``,
    ``layer<k>.<j>`` → ``stages.<k-1>.<j>``, ``downsample`` → ``shortcut``, ``fc`` → ``head.2``;
    the blocks' own names (conv1, bn1, conv2, bn2) are the same. The final layer loads only if it
    fits ``num_classes``; otherwise it keeps its fresh initialisation (a warning says so) for
    transfer learning. ``widths`` shrinks the model for experiments. Make the file on a machine
    with torchvision::

        import torch, torchvision
        torch.save(torchvision.models.resnet18(weights="IMAGENET1K_V1").state_dict(), "resnet18.pt")

    then freeze everything but the new head and train it::

        model = resnet18(num_classes=10, small_input=False, weights="resnet18.pt")
        model.freeze()
        model.head.unfreeze()
        optimizer = gw.optim.SGD((p for p in model.parameters() if p.requires_grad), lr=0.01)

    (in training mode BatchNorm still updates its running statistics: call ``model.stem.eval()`` and
    ``model.stages.eval()`` after each ``model.train()`` to keep them fixed too.) ImageNet weights
    expect images normalised with mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225).
    """
    model = ResNet((2, 2, 2, 2), tuple(widths), in_channels, num_classes, small_input)
    if weights is not None:
        from gradwork.io.state_dict_file import load_pretrained  # io sits above models: imported when used
        load_pretrained(model, weights, rename=torchvision_name, head="head.")
    return model


def torchvision_name(key):
    """torchvision's ResNet names as gradwork's (``layer2.0.downsample.1.weight`` →
    ``stages.1.0.shortcut.1.weight``); gradwork's own names are kept."""
    if key.startswith("conv1."):
        return "stem.0." + key[len("conv1."):]
    if key.startswith("bn1."):
        return "stem.1." + key[len("bn1."):]
    if key.startswith("fc."):
        return "head.2." + key[len("fc."):]
    match = re.fullmatch(r"layer(\d+)\.(\d+)\.(.+)", key)
    if match and int(match[1]) >= 1:
        rest = match[3].replace("downsample.", "shortcut.", 1) if match[3].startswith("downsample.") else match[3]
        return f"stages.{int(match[1]) - 1}.{match[2]}.{rest}"
    return key


def resnet_small(in_channels=3, num_classes=10, blocks=3):
    """The CIFAR ResNet of the paper (ResNet-20 with 3 blocks per stage): three stages of 16, 32 and
    64 channels (0.27 million parameters)."""
    return ResNet((blocks,) * 3, (16, 32, 64), in_channels, num_classes, small_input=True)
