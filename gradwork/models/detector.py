"""TinyYOLO: a small one-scale detector — a space-to-depth stem, a few conv/BatchNorm/LeakyReLU blocks down
to stride 8, then a 1×1 convolution predicting A anchors' boxes, objectness and classes at every cell
(YOLOv3's head at one scale; :mod:`gradwork.vision.yolo` decodes it and holds its loss).

Shapes for a 96×96 grey input with the defaults (patch 4, widths (32, 64), three head blocks):
(N, 1, 96, 96) → space to depth → 16×24×24 → conv 32×24×24 → max-pool 32×12×12 → three conv blocks
64×12×12 (each cell then sees ±30 pixels: the largest items, 48 pixels, fit in its view) →
A·(5 + C)×12×12.

Why the stem: on 2 CPU cores the full-resolution layers cost most of the time (a 3×3 convolution,
BatchNorm and activation over 96×96 maps), yet hold few channels. Moving each 4×4 patch of pixels
into 16 channels (YOLOv5's "Focus" layer, PyTorch's ``pixel_unshuffle``; ConvNeXt's patchify stem
does the same with a strided convolution) loses no pixel and makes the network about 2.5× faster.
"""
import math

import numpy as np

from gradwork.errors import ConfigError
from gradwork.nn.activation import LeakyReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.module import Module
from gradwork.nn.normalization import BatchNorm2d
from gradwork.nn.pooling import MaxPool2d

#: The prior probability of an object at a slot, to which the objectness logits are initialised
#: (as RetinaNet does): with 0.5 the first steps would be spent learning that most slots are empty.
OBJECT_PRIOR = 0.01


def conv_block(in_channels, out_channels):
    """conv 3×3 (padding 1, no bias: BatchNorm's shift replaces it) → BatchNorm → LeakyReLU(0.1), as in YOLO."""
    return [Conv2d(in_channels, out_channels, 3, padding=1, bias=False), BatchNorm2d(out_channels), LeakyReLU(0.1)]


class SpaceToDepth(Module):
    """Each r×r patch of pixels becomes r² channels: (N, C, H, W) → (N, C·r², H/r, W/r), channel
    c·r² + i·r + j holding pixel (i, j) of the patch — PyTorch's ``nn.PixelUnshuffle(r)``."""

    def __init__(self, r):
        super().__init__()
        self.r = r

    def forward(self, x):
        n, c, h, w = x.shape
        r = self.r
        if h % r or w % r:
            raise ConfigError(f"SpaceToDepth({r}): the input's height and width must be multiples of {r}, got "
                              f"{h}×{w}")
        return x.reshape(n, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)


class TinyYOLO(Module):
    """A one-scale YOLO detector.

    The stem moves ``patch``×``patch`` pixels into channels; then each width but the last is a conv
    block followed by a max-pool, and the last width is used by ``head_blocks`` blocks at the grid's
    resolution. The stride is ``patch · 2^(len(widths) − 1)``. The head is a 1×1 convolution to
    A·(5 + C) channels per cell, its objectness biases set so that σ(objectness) starts at
    :data:`OBJECT_PRIOR`.

    Args:
        anchors: (A, 2) anchor (width, height) in pixels of the input; kept as a buffer, so a saved
            model carries the anchors it was trained with.
        num_classes: C. in_channels: 1 for grey images. patch: 1 for no stem.

    Shape: input (N, in_channels, H, W), H and W multiples of the stride → (N, A·(5 + C), H/stride, W/stride).
    """

    def __init__(self, anchors, num_classes=10, in_channels=1, patch=4, widths=(32, 64), head_blocks=3):
        super().__init__()
        anchors = np.asarray(anchors, dtype=np.float32)
        if anchors.ndim != 2 or anchors.shape[1] != 2 or not len(anchors) or not (anchors > 0).all():
            raise ConfigError(f"TinyYOLO: anchors must be positive (width, height) pairs, shape (A, 2); got "
                              f"{anchors.tolist()}")
        widths = list(widths)
        if not widths or not all(isinstance(w, int) and w > 0 for w in widths):
            raise ConfigError(f"TinyYOLO: widths must be positive integers, got {widths}")
        for value, name in ((patch, "patch"), (head_blocks, "head_blocks")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"TinyYOLO: {name} must be a positive integer, got {value!r}")
        self.num_classes, self.num_anchors = num_classes, len(anchors)
        self.stride = patch * 2 ** (len(widths) - 1)
        layers, channels = [SpaceToDepth(patch)] if patch > 1 else [], in_channels * patch * patch
        for width in widths[:-1]:
            layers += conv_block(channels, width) + [MaxPool2d(2)]
            channels = width
        for _ in range(head_blocks):
            layers += conv_block(channels, widths[-1])
            channels = widths[-1]
        self.backbone = Sequential(*layers)
        self.head = Conv2d(channels, self.num_anchors * (5 + num_classes), 1)
        self.register_buffer("anchors", anchors)
        self._start_objectness_at_the_prior()

    def _start_objectness_at_the_prior(self):
        bias = self.head.bias.data.reshape(self.num_anchors, 5 + self.num_classes)
        bias[:, 4] = -math.log((1 - OBJECT_PRIOR) / OBJECT_PRIOR)  # σ(bias) = OBJECT_PRIOR

    def forward(self, x):
        return self.head(self.backbone(x))
