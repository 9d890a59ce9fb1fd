"""Losses as modules: each holds its options and calls the function of the same idea in
``gradwork.ops.losses`` (whose family files — classification_losses.py, binary_losses.py,
regression_losses.py, divergence_losses.py — hold the formulas). A class ``weight`` or ``pos_weight`` is
kept as a buffer, as in PyTorch: it is in the state dict and follows ``.double()``."""
from gradwork.nn.module import Module
from gradwork.ops import losses


class _Loss(Module):
    """Shows the options in the repr: ``CrossEntropyLoss(reduction='sum', label_smoothing=0.1)``."""

    options = ()

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.options)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits (N, C) against class indices (N,) or probabilities (N, C);
    (N, C, d1, …) against (N, d1, …). See :func:`gradwork.ops.losses.cross_entropy`."""

    options = ("ignore_index", "reduction", "label_smoothing")

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, input, target):
        return losses.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                                    reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood on log-probabilities (N, C) (or (N, C, d1, …)) against class indices."""

    options = ("ignore_index", "reduction")

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        return losses.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """Multi-class hinge (SVM) loss on scores (N, C) against class indices (N,)."""

    options = ("p", "margin", "reduction")

    def __init__(self, p=1, margin=1.0, weight=None, *, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.p, self.margin, self.reduction = p, margin, reduction

    def forward(self, input, target):
        return losses.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error."""

    options = ("reduction",)

    def __init__(self, *, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return losses.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error."""

    options = ("reduction",)

    def __init__(self, *, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return losses.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1: quadratic for |input − target| < beta, linear beyond."""

    options = ("reduction", "beta")

    def __init__(self, *, reduction="mean", beta=1.0):
        super().__init__()
        self.reduction, self.beta = reduction, beta

    def forward(self, input, target):
        return losses.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss: quadratic for |input − target| < delta, linear (slope delta) beyond."""

    options = ("reduction", "delta")

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        self.reduction, self.delta = reduction, delta

    def forward(self, input, target):
        return losses.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL divergence of a target distribution from predicted log-probabilities."""

    options = ("reduction", "log_target")

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__()
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):
        return losses.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities; ``weight`` rescales each element (broadcast to the input)."""

    options = ("reduction",)

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.reduction = reduction

    def forward(self, input, target):
        return losses.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy on logits, fused and stable; ``pos_weight`` scales positives."""

    options = ("reduction",)

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)
        self.reduction = reduction

    def forward(self, input, target):
        return losses.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                       pos_weight=self.pos_weight)
