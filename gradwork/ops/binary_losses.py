"""Binary cross-entropy, on probabilities and (fused with the sigmoid) on logits.

Each element is one yes/no prediction; the target y ∈ [0, 1] has the input's shape and receives
no gradient. ``weight`` rescales each element's loss and broadcasts to the input's shape (a (C,)
weight scales each of C outputs); 'mean' is the plain mean over elements, weighted or not.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import xp
from gradwork.ops._loss_util import check_reduction, elementwise_weight, float_target, reduce


class BinaryCrossEntropy(Function):
    """loss = −w·[y·log p + (1 − y)·log(1 − p)] for probabilities p; logs are clamped at −100
    (as PyTorch does) so p = 0 or 1 gives a large finite loss, not inf."""

    def __init__(self, target, weight=None):
        self.target, self.weight = target, weight

    def forward(self, p):
        y = self.target
        self.save_for_backward(p)
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_q = xp.maximum(xp.log1p(-p), -100)
        loss = -(y * log_p + (1 - y) * log_q)
        return loss if self.weight is None else loss * self.weight

    def backward(self, gy):  # dL/dp = w·(p − y) / (p(1 − p))
        (p,) = self.saved
        grad = gy * (p - self.target) / xp.maximum(p * (1 - p), 1e-12)
        return grad if self.weight is None else grad * self.weight


class BinaryCrossEntropyWithLogits(Function):
    """Sigmoid and binary cross-entropy in one op, on logits x:

        loss = w·[(1 − y)·x + (1 + (pos_weight − 1)·y)·log(1 + e^−x)]
             = w·[(1 − y)·x + l·softplus(−x)],   softplus(−x) = max(−x, 0) + log(1 + e^−|x|)

    (no overflow for any x). ``pos_weight`` scales the loss of positive targets (> 1 raises
    recall). dL/dx = w·[(1 − y) − l·(1 − σ(x))], which is w·(σ(x) − y) without pos_weight.
    """

    def __init__(self, target, weight=None, pos_weight=None):
        self.target, self.weight, self.pos_weight = target, weight, pos_weight

    def forward(self, x):
        y = self.target
        self.save_for_backward(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^−x) = −log σ(x)
        if self.pos_weight is None:
            loss = (1 - y) * x + softplus_neg
        else:
            loss = (1 - y) * x + (1 + (self.pos_weight - 1) * y) * softplus_neg
        return loss if self.weight is None else loss * self.weight

    def backward(self, gy):
        (x,) = self.saved
        y = self.target
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if self.pos_weight is None:
            grad = gy * (sig - y)
        else:
            grad = gy * ((1 - y) - (1 + (self.pos_weight - 1) * y) * (1 - sig))
        return grad if self.weight is None else grad * self.weight


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """Binary cross-entropy on probabilities in [0, 1] (e.g. after a sigmoid):
    loss = −weight·[y·log p + (1 − y)·log(1 − p)]."""
    name = "binary_cross_entropy"
    check_reduction(reduction, name)
    input = as_tensor(input)
    if input.data.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError(f"{name}: input must be probabilities in [0, 1]; "
                         "for raw scores use binary_cross_entropy_with_logits")
    t = float_target(target, input, name)
    w = elementwise_weight(weight, input, name)
    return reduce(BinaryCrossEntropy(t, w)(input), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy fused and stable, on logits. ``weight`` scales each element's
    loss, ``pos_weight`` (e.g. (C,): one per output) the loss of the positive targets; both
    broadcast to the input's shape."""
    name = "binary_cross_entropy_with_logits"
    check_reduction(reduction, name)
    input = as_tensor(input)
    t = float_target(target, input, name)
    w = elementwise_weight(weight, input, name)
    pos_weight = elementwise_weight(pos_weight, input, name, what="pos_weight")
    return reduce(BinaryCrossEntropyWithLogits(t, w, pos_weight)(input), reduction)
