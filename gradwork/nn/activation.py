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


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return activations.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SiLU(Module):
    """x·σ(x) (swish)."""

    def forward(self, x):
        return activations.silu(x)


class Softplus(Module):
    """(1/β)·log(1 + e^(βx)), linear where βx > threshold: a smooth ReLU."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        if beta == 0:
            raise ValueError("Softplus: beta must not be 0")
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return activations.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return activations.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


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
