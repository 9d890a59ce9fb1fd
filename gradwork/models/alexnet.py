"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), in a variant for small images."""
from gradwork.models._features import flat_size, he_init
from gradwork.nn.activation import ReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.dropout import Dropout
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.pooling import MaxPool2d


class AlexNet(Module):
    """Five convolutions (the first two large, the last three 3×3) with overlapping 3×3/2 max-pools,
    then three fully connected layers with dropout — AlexNet's shape, scaled down for 28–32 pixel
    images: the 11×11/4 first layer becomes 5×5/1 and the widths are divided by ``shrink`` (4 by
    default: 16, 48, 96, 64, 64 channels; fc 1024, 1024)."""

    def __init__(self, in_channels=3, num_classes=10, input_size=32, shrink=4, dropout=0.5):
        super().__init__()
        c = [max(64 // shrink, 8), 192 // shrink, 384 // shrink, 256 // shrink, 256 // shrink]
        fc = 4096 // shrink
        self.features = Sequential(
            Conv2d(in_channels, c[0], 5, padding=2), ReLU(), MaxPool2d(3, 2),
            Conv2d(c[0], c[1], 5, padding=2), ReLU(), MaxPool2d(3, 2),
            Conv2d(c[1], c[2], 3, padding=1), ReLU(),
            Conv2d(c[2], c[3], 3, padding=1), ReLU(),
            Conv2d(c[3], c[4], 3, padding=1), ReLU(), MaxPool2d(3, 2), Flatten())
        n = flat_size(self.features, (in_channels, input_size, input_size), "AlexNet")
        self.classifier = Sequential(Dropout(dropout), Linear(n, fc), ReLU(), Dropout(dropout), Linear(fc, fc), ReLU(),
                                     Linear(fc, num_classes))
        he_init(self)

    def forward(self, x):
        return self.classifier(self.features(x))
