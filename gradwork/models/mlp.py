"""Multi-layer perceptron: fully connected layers with a non-linearity between them."""
from gradwork.errors import ConfigError
from gradwork.nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from gradwork.nn.containers import Sequential
from gradwork.nn.dropout import Dropout
from gradwork.nn.linear import Identity, Linear
from gradwork.nn.module import Module
from gradwork.ops.shape import flatten

ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh, "linear": Identity}


class MLP(Module):
    """sizes = [in, h1, …, out]: Linear → activation (→ dropout) for every hidden layer, then a final
    Linear that outputs logits (the softmax lives in the loss).

    Inputs of any shape (N, …) are flattened to (N, in) first, so images go in directly.
    Parameters are named ``layers.<i>.weight`` / ``layers.<i>.bias`` (PyTorch's Sequential names).

    With ``activation="linear"`` the whole network is one linear map however deep it is — the
    course's reason for non-linear activations.
    """

    def __init__(self, sizes, activation="relu", dropout=0.0):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or s <= 0 for s in sizes):
            raise ConfigError(f"MLP: sizes must be at least [inputs, outputs] of positive integers, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"MLP: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        self.sizes, self.activation, self.dropout = sizes, activation, dropout
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
                if dropout:
                    layers.append(Dropout(dropout))
        self.layers = Sequential(*layers)

    def forward(self, x):
        if x.ndim != 2:
            x = flatten(x, 1)
        return self.layers(x)

    def extra_repr(self):
        return f"sizes={self.sizes}, activation={self.activation!r}, dropout={self.dropout}"
