"""Activation layers: thin modules around the functions in ``gradwork.ops.activations``."""
from gradwork.nn.module import Module
from gradwork.ops import activations


class ReLU(Module):
    """max(x, 0). Default choice for hidden layers: no saturation for x > 0."""

    def forward(self, x):
        return activations.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise: dead units still get a gradient."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return activations.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """σ(x) = 1/(1 + e⁻ˣ): outputs in (0, 1); saturates for large |x|."""

    def forward(self, x):
        return activations.sigmoid(x)


class Tanh(Module):
    """tanh(x): outputs in (−1, 1), zero-centred."""

    def forward(self, x):
        return activations.tanh(x)


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF: the Transformer's smooth ReLU. ``approximate="tanh"`` for
    the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return activations.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}" if self.approximate != "none" else ""


class Step(Module):
    """The perceptron's step: 1 where x > 0, else 0 (zero gradient everywhere)."""

    def forward(self, x):
        return activations.step(x)


class Softmax(Module):
    """exp(x)/Σexp(x) along ``dim``. For training, feed logits to ``CrossEntropyLoss`` instead."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return activations.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along ``dim`` (pair it with ``NLLLoss``)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return activations.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
