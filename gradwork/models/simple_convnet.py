"""SimpleConvNet: the smallest convolutional network worth training (one conv layer)."""
from gradwork.models._features import flat_size
from gradwork.nn.activation import ReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.pooling import MaxPool2d


class SimpleConvNet(Module):
    """conv 5×5 ×30 → ReLU → max-pool 2 → fc 100 → ReLU → fc classes.

    Shapes for 28×28: (N, 1, 28, 28) → 30×24×24 → 30×12×12 → 4320 → 100 → classes.
    """

    def __init__(self, in_channels=1, num_classes=10, input_size=28, filters=30, hidden=100):
        super().__init__()
        self.features = Sequential(Conv2d(in_channels, filters, 5), ReLU(), MaxPool2d(2), Flatten())
        n = flat_size(self.features, (in_channels, input_size, input_size), "SimpleConvNet")
        self.classifier = Sequential(Linear(n, hidden), ReLU(), Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
