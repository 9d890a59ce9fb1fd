"""Losses as modules: each holds its options and calls the function of the same name."""
from gradwork.nn.module import Module
from gradwork.ops import losses


class CrossEntropyLoss(Module):
    """Softmax cross-entropy on logits (N, C) against class indices (N,) or probabilities (N, C)."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input, target):
        return losses.cross_entropy(input, target, self.reduction, self.label_smoothing)


class NLLLoss(Module):
    """Negative log-likelihood on log-probabilities (N, C) against class indices (N,)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return losses.nll_loss(input, target, self.reduction)


class MSELoss(Module):
    """Mean squared error."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return losses.mse_loss(input, target, self.reduction)


class BCELoss(Module):
    """Binary cross-entropy on probabilities."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return losses.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(Module):
    """Sigmoid + binary cross-entropy on logits, fused and stable."""

    def __init__(self, reduction="mean", pos_weight=None):
        super().__init__()
        self.reduction, self.pos_weight = reduction, pos_weight

    def forward(self, input, target):
        return losses.binary_cross_entropy_with_logits(input, target, self.reduction, self.pos_weight)
