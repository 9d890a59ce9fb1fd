"""``Dropout`` layer."""
from gradwork.nn.module import Module
from gradwork.ops.dropout import dropout, dropout2d


class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by
    1/(1 − p); in evaluation mode, the identity. Shape: any → same."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is a probability in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Module):
    """Channel dropout: in training, zero whole feature maps of (N, C, H, W) with probability ``p``
    and scale the rest by 1/(1 − p); the identity in evaluation mode."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p is a probability in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout2d(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
