"""LeNet-5 (LeCun et al., 1998): the first convolutional network that mattered."""
from gradwork.errors import ConfigError
from gradwork.models._features import flat_size
from gradwork.nn.activation import ReLU, Tanh
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.flatten import Flatten
from gradwork.nn.linear import Identity, Linear
from gradwork.nn.module import Module
from gradwork.nn.pooling import AvgPool2d, MaxPool2d


class LeNet5(Module):
    """conv 5×5 ×6 → pool → conv 5×5 ×16 → pool → fc 120 → fc 84 → fc classes.

    ``variant="classic"``: tanh and average pooling, as in the paper; ``"modern"``: ReLU and max pooling.
    The first convolution pads by 2, so a 28×28 image is treated like the paper's 32×32 input.
    Small inputs (under 16 pixels, such as the 8×8 digits) skip the first pooling and pad the second
    convolution by 2 too: two poolings would leave 2×2 feature maps. 8×8: 6×8×8 → 16×8×8 → 16×4×4 → 256.

    Shapes for 28×28: (N, 1, 28, 28) → 6×28×28 → 6×14×14 → 16×10×10 → 16×5×5 → 400 → 120 → 84 → classes.
    """

    def __init__(self, in_channels=1, num_classes=10, input_size=28, variant="modern"):
        super().__init__()
        if variant not in ("classic", "modern"):
            raise ConfigError(f"LeNet5: variant must be 'classic' or 'modern', got {variant!r}")
        act, pool = (Tanh, AvgPool2d) if variant == "classic" else (ReLU, MaxPool2d)
        self.variant = variant
        small = input_size < 16
        self.features = Sequential(
            Conv2d(in_channels, 6, 5, padding=2), act(), Identity() if small else pool(2),
            Conv2d(6, 16, 5, padding=2 if small else 0), act(), pool(2), Flatten())
        n = flat_size(self.features, (in_channels, input_size, input_size), "LeNet5")
        self.classifier = Sequential(Linear(n, 120), act(), Linear(120, 84), act(), Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))

    def extra_repr(self):
        return f"variant={self.variant!r}"
