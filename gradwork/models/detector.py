"""TinyYOLO: a small one-scale detector — a few conv/BatchNorm/LeakyReLU blocks down to stride 8, then a
1×1 convolution predicting A anchors' boxes, objectness and classes at every cell (YOLOv3's head at one
scale; :mod:`gradwork.vision.yolo` decodes it and holds its loss).

Shapes for a 96×96 input and widths (8, 16, 32, 64): (N, 1, 96, 96) → 8×48×48 → 16×24×24 → 32×12×12 →
64×12×12 (three blocks at the grid's resolution, so that each cell sees ±35 pixels: the largest items,
48 pixels, fit in its view) → A·(5 + C)×12×12.
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


class TinyYOLO(Module):
    """A one-scale YOLO detector.

    The backbone halves the resolution after each of ``len(widths) − 1`` blocks (max-pool 2), so the
    stride is 2^(len(widths) − 1); the last width is used by ``head_blocks`` blocks at the grid's
    resolution. The head is a 1×1 convolution to A·(5 + C) channels per cell.

    Args:
        anchors: (A, 2) anchor (width, height) in pixels of the input; kept as a buffer, so a saved
            model carries the anchors it was trained with.
        num_classes: C. in_channels: 1 for grey images.

    Shape: input (N, in_channels, H, W) with H and W multiples of the stride → (N, A·(5 + C), H/stride, W/stride).
    """

    def __init__(self, anchors, num_classes=10, in_channels=1, widths=(8, 16, 32, 64), head_blocks=3):
        super().__init__()
        anchors = np.asarray(anchors, dtype=np.float32)
        if anchors.ndim != 2 or anchors.shape[1] != 2 or not len(anchors) or not (anchors > 0).all():
            raise ConfigError(f"TinyYOLO: anchors must be positive (width, height) pairs, shape (A, 2); got "
                              f"{anchors.tolist()}")
        widths = list(widths)
        if len(widths) < 2 or not all(isinstance(w, int) and w > 0 for w in widths):
            raise ConfigError(f"TinyYOLO: widths must be at least two positive integers, got {widths}")
        if isinstance(head_blocks, bool) or not isinstance(head_blocks, int) or head_blocks < 1:
            raise ConfigError(f"TinyYOLO: head_blocks must be a positive integer, got {head_blocks!r}")
        self.num_classes, self.num_anchors = num_classes, len(anchors)
        self.stride = 2 ** (len(widths) - 1)
        layers, channels = [], in_channels
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
