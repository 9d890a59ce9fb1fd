"""Fully connected layer ``Linear`` and the do-nothing ``Identity``."""
import math

from gradwork.backend import get_default_dtype, xp
from gradwork.nn import init
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.linear import linear


class Linear(Module):
    """y = x Wᵀ + b.

    Shapes: input (*, in_features) → output (*, out_features).
    Parameters: ``weight`` (out_features, in_features) — the course's W[l] of shape n[l] × n[l−1] —
    and ``bias`` (out_features,).
    Default init (PyTorch's): weight and bias ~ U(−1/√in_features, 1/√in_features)
    (``kaiming_uniform_`` with a = √5). Use ``nn.init`` for Xavier or He.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(xp.empty((out_features, in_features), dtype))
        self.bias = Parameter(xp.empty(out_features, dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head)."""

    def forward(self, x):
        return x
