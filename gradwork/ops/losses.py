"""Loss functions: cross-entropy (fused with log-softmax), negative log-likelihood, mean squared
error, binary cross-entropy on probabilities and on logits.

Each takes ``reduction='mean'`` (average over examples), ``'sum'`` or ``'none'`` (one loss per
example). Targets may be arrays, lists or tensors; they receive no gradient.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import xp
from gradwork.errors import LabelError, ShapeError
from gradwork.ops import reductions, shape

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """Softmax and cross-entropy in one op, for logits of shape (N, C).

    loss_n = −Σ_c t_nc · log softmax(z_n)_c,  with log softmax(z) = z − max z − log Σ exp(z − max z)
    (log-sum-exp: no exp of a large number, so logits of ±1e4 are fine).

    Its gradient is the famous  softmax(z) − t  (times Σ_c t_nc, which is 1 for a distribution):
    computing it directly is faster and more accurate than back-propagating through a separate
    softmax and log.
    """

    def __init__(self, target, label_smoothing=0.0):
        self.target = target  # (N,) class indices, or (N, C) probabilities
        self.label_smoothing = label_smoothing

    def forward(self, z):
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        t = self.target
        if t.ndim == 1:
            loss = -log_p[xp.arange(len(t)), t]
            if self.label_smoothing:
                eps = self.label_smoothing
                loss = (1 - eps) * loss - eps * log_p.mean(axis=1)
        else:
            loss = -(t * log_p).sum(axis=1)
        self.save_for_backward(log_p)
        return loss

    def backward(self, gy):
        (log_p,) = self.saved
        grad = xp.exp(log_p)  # softmax
        t = self.target
        if t.ndim == 1:
            eps = self.label_smoothing
            if eps:
                grad -= eps / grad.shape[1]
            grad[xp.arange(len(t)), t] -= 1 - eps
        else:
            grad = grad * t.sum(axis=1, keepdims=True) - t
        grad *= gy[:, None]
        return grad


class NLLLoss(Function):
    """loss_n = −x[n, t_n] for log-probabilities x of shape (N, C)."""

    def __init__(self, target):
        self.target = target

    def forward(self, x):
        self.input_shape = x.shape
        self.dtype = x.dtype
        return -x[xp.arange(len(self.target)), self.target]

    def backward(self, gy):  # −1 at the target class, 0 elsewhere
        gx = xp.zeros(self.input_shape, self.dtype)
        gx[xp.arange(len(self.target)), self.target] = -gy
        return gx


class BinaryCrossEntropy(Function):
    """loss = −[y·log p + (1 − y)·log(1 − p)] for probabilities p; logs are clamped at −100
    (as PyTorch does) so p = 0 or 1 gives a large finite loss, not inf."""

    def __init__(self, target):
        self.target = target

    def forward(self, p):
        y = self.target
        self.save_for_backward(p)
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_q = xp.maximum(xp.log1p(-p), -100)
        return -(y * log_p + (1 - y) * log_q)

    def backward(self, gy):  # dL/dp = (p − y) / (p(1 − p))
        (p,) = self.saved
        return gy * (p - self.target) / xp.maximum(p * (1 - p), 1e-12)


class BinaryCrossEntropyWithLogits(Function):
    """Sigmoid and binary cross-entropy in one op, on logits x:
    loss = max(x, 0) − x·y + log(1 + e^−|x|)   (no overflow for any x);  dL/dx = σ(x) − y."""

    def __init__(self, target, pos_weight=None):
        self.target = target
        self.pos_weight = pos_weight

    def forward(self, x):
        y = self.target
        self.save_for_backward(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^−x) = −log σ(x)
        if self.pos_weight is None:
            return (1 - y) * x + softplus_neg
        weight = 1 + (self.pos_weight - 1) * y
        return (1 - y) * x + weight * softplus_neg

    def backward(self, gy):
        (x,) = self.saved
        y = self.target
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if self.pos_weight is None:
            return gy * (sig - y)
        weight = 1 + (self.pos_weight - 1) * y
        return gy * ((1 - y) - weight * (1 - sig))


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return reductions.mean(loss)
    if reduction == "sum":
        return reductions.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _float_target(target, like, name):
    t = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if t.shape != like.shape:
        raise ShapeError(f"{name}: target shape {t.shape} differs from input shape {like.shape}; "
                         "make them equal (e.g. reshape the target) — broadcasting here is almost always a bug")
    return t.astype(like.dtype, copy=False)


def class_indices(target, num_classes, n, name):
    """Validate integer class labels: shape (n,), values in [0, num_classes)."""
    t = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if t.dtype.kind == "f" and t.size and xp.all(t == xp.round(t)):
        t = t.astype(xp.int64)
    if t.dtype.kind not in "iu":
        raise LabelError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    if t.shape != (n,):
        raise ShapeError(f"{name}: expected {n} labels of shape ({n},) for input with {n} rows, got shape {t.shape}")
    if t.size:
        low, high = int(t.min()), int(t.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise LabelError(f"{name}: label {bad} is outside [0, {num_classes}) for an input with "
                             f"{num_classes} classes; labels must be 0 … {num_classes - 1}")
    return t


def _classes_last(x, name):
    """(N, C, d1, …) → (N·d1·…, C), so the class axis is last and rows are examples."""
    if x.ndim < 2:
        raise ShapeError(f"{name}: expected input of shape (N, C) or (N, C, d1, …), got {x.shape}")
    if x.ndim == 2:
        return x
    dims = (0,) + tuple(range(2, x.ndim)) + (1,)
    return shape.reshape(shape.permute(x, dims), (-1, x.shape[1]))


def cross_entropy(input, target, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy between logits ``input`` (N, C) and ``target``.

    ``target`` holds class indices (N,) in [0, C), or class probabilities of the same shape as
    ``input``. For input (N, C, d1, …) the target is (N, d1, …). ``label_smoothing`` ε mixes the
    one-hot target with the uniform distribution: (1 − ε)·onehot + ε/C.
    """
    input = as_tensor(input)
    t = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if input.ndim == 1:  # one example: logits (C,), target a class index or (C,) probabilities
        loss = cross_entropy(shape.unsqueeze(input, 0), t[None], "none", label_smoothing)
        return _reduce(shape.reshape(loss, ()), reduction, "cross_entropy")
    spatial = input.shape[2:]
    logits = _classes_last(input, "cross_entropy")
    if t.dtype.kind == "f" and t.shape == input.shape:
        t = _float_target(t, input, "cross_entropy")
        if input.ndim > 2:
            t = xp.moveaxis(t, 1, -1).reshape(-1, input.shape[1])
    else:
        if t.shape != (input.shape[0],) + spatial:
            raise ShapeError(f"cross_entropy: for input of shape {input.shape} the target must be class indices of "
                             f"shape {(input.shape[0],) + spatial} or probabilities of shape {input.shape}; "
                             f"got {t.shape}")
        t = class_indices(t.reshape(-1), input.shape[1], logits.shape[0], "cross_entropy")
    loss = CrossEntropy(t, label_smoothing)(logits)
    if spatial and reduction == "none":
        loss = shape.reshape(loss, (input.shape[0],) + spatial)
    return _reduce(loss, reduction, "cross_entropy")


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities ``input`` (N, C)."""
    input = as_tensor(input)
    if input.ndim != 2:
        raise ShapeError(f"nll_loss: expected log-probabilities of shape (N, C), got {input.shape}")
    t = class_indices(target, input.shape[1], input.shape[0], "nll_loss")
    return _reduce(NLLLoss(t)(input), reduction, "nll_loss")


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (input − target)²; shapes must match."""
    input = as_tensor(input)
    diff = input - _float_target(target, input, "mse_loss")
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy(input, target, reduction="mean"):
    """Binary cross-entropy on probabilities in [0, 1] (e.g. after a sigmoid)."""
    input = as_tensor(input)
    if input.data.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError("binary_cross_entropy: input must be probabilities in [0, 1]; "
                         "for raw scores use binary_cross_entropy_with_logits")
    t = _float_target(target, input, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy(t)(input), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy fused and stable, on logits. ``pos_weight`` scales positives."""
    input = as_tensor(input)
    t = _float_target(target, input, "binary_cross_entropy_with_logits")
    if pos_weight is not None:
        pos_weight = xp.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight, dtype=input.dtype)
    return _reduce(BinaryCrossEntropyWithLogits(t, pos_weight)(input), reduction, "binary_cross_entropy_with_logits")


def token_cross_entropy(input, target, reduction="mean"):
    """Cross-entropy of sequence outputs with the class axis last, as sequence models produce them:
    logits (N, T, C) against class indices (N, T); every token is one example."""
    input = as_tensor(input)
    t = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if input.ndim != 3 or t.shape != input.shape[:2]:
        raise ShapeError(f"token_cross_entropy: expected logits (N, T, C) and targets (N, T), got {input.shape} "
                         f"and {t.shape}")
    return cross_entropy(shape.reshape(input, (-1, input.shape[-1])), t.reshape(-1), reduction)
