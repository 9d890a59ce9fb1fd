"""Logistic (softmax) regression: one linear layer whose logits go into cross-entropy."""
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.ops.shape import flatten


class LogisticRegression(Module):
    """z = W x + b, trained with cross-entropy (softmax regression; binary with ``num_classes=1``
    and ``binary_cross_entropy_with_logits``). Inputs (N, …) are flattened to (N, in_features)."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.linear = Linear(in_features, num_classes)

    def forward(self, x):
        if x.ndim != 2:
            x = flatten(x, 1)
        return self.linear(x)
