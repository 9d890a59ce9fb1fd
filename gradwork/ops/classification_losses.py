"""Losses on class scores: cross-entropy (fused with log-softmax), negative log-likelihood and the
multi-class hinge loss of the SVM, plus cross-entropy over the tokens of a sequence.

Targets are class indices (or, for cross-entropy, class probabilities); they receive no gradient.
``weight`` (C,) rescales each class's loss; ``ignore_index`` marks labels to skip (e.g. padding).
With a class weight, PyTorch's 'mean' is a *weighted* mean: Σ_n w_{y_n}·l_n / Σ_n w_{y_n}.
"""
from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops import shape
from gradwork.ops._loss_util import (array_of, check_reduction, class_indices, class_weight, classes_last, reduce,
                                     weighted_mean)


def label_weights(labels, weight, kept):
    """w_{y_n}·kept_n for each label (what a class-weighted loss multiplies example n by, 0 when
    ignored), or None when that is 1 for every example."""
    if weight is None:
        return kept
    return weight[labels] if kept is None else weight[labels] * kept


class CrossEntropy(Function):
    """Softmax and cross-entropy in one op, for logits z of shape (M, C) (one row per example).

        loss_n = −Σ_c t_nc · log softmax(z_n)_c
        log softmax(z) = z − max z − log Σ exp(z − max z)   (log-sum-exp: logits of ±1e4 are fine)

    The target row t_n is the label as a one-hot vector (or the given class probabilities) q_n,
    smoothed by ε and rescaled per class by w:  t_nc = w_c·((1 − ε)·q_nc + ε/C);  t_n = 0 when the
    label is ignored.

    Its gradient is the famous  softmax(z_n)·Σ_c t_nc − t_n  (softmax − t for a distribution):
    computing it directly is faster and more accurate than back-propagating through a separate
    softmax and log. For class indices t is never built as an (M, C) array: the one-hot part is
    one number per row, added at the label's column.

    With ``mean`` the op returns the batch mean (1/M)·Σ_n loss_n, and its gradient carries the 1/M —
    the course's SoftmaxWithLoss, whose backward is (y − t) / batch_size. Otherwise it returns the M
    losses, for 'sum', 'none' and the weighted mean to reduce.
    """

    def __init__(self, target, weight=None, label_smoothing=0.0, kept=None, mean=False):
        self.weight = weight                    # (C,) class weights w, or None: all 1
        self.label_smoothing = label_smoothing  # ε
        self.kept = kept                        # (M,) 1 for labels that count, 0 for ignored ones; None: all count
        self.target = target                    # (M,) class indices, or (M, C) probabilities q
        self.mean = mean                        # return (1/M)·Σ_n loss_n instead of the M losses
        if target.ndim == 2:  # probabilities: build t once
            eps, num_classes = label_smoothing, target.shape[1]
            t = (1 - eps) * target + eps / num_classes if eps else target
            self.target = t if weight is None else t * weight

    def forward(self, z):
        loss = self.losses(z)
        return loss.mean() if self.mean else loss

    def losses(self, z):
        """loss_n for each of the M rows of z."""
        xp = get_array_module(z)
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        self.save_for_backward(log_p)
        t = self.target
        if t.ndim == 2:
            return -(t * log_p).sum(axis=1)
        loss = -log_p[xp.arange(len(t)), t]  # −log p of the label
        on_label = label_weights(t, self.weight, self.kept)
        if on_label is not None:
            loss *= on_label
        eps = self.label_smoothing
        if eps:  # the uniform part: −(ε/C)·Σ_c w_c log p_c
            spread = -(log_p.sum(axis=1) if self.weight is None else log_p @ self.weight)
            if self.kept is not None:
                spread *= self.kept
            loss = (1 - eps) * loss + eps / z.shape[1] * spread
        return loss

    def backward(self, gy):
        (log_p,) = self.saved
        xp = get_array_module(log_p)
        grad = xp.exp(log_p)  # softmax p
        t = self.target
        if t.ndim == 2:
            grad = grad * t.sum(axis=1, keepdims=True) - t
        else:
            eps, num_classes = self.label_smoothing, grad.shape[1]
            on_label = label_weights(t, self.weight, self.kept)
            on_label = (1 - eps) * (1 if on_label is None else on_label)  # t's one-hot part, per row
            if eps or self.weight is not None or self.kept is not None:
                # Σ_c t_nc = (one-hot part) + ε·(mean class weight), 0 for an ignored row
                spread = eps * (1 if self.weight is None else self.weight.mean())
                if self.kept is not None:
                    spread = spread * self.kept
                grad *= xp.asarray(on_label + spread).reshape(-1, 1)
                if eps:
                    uniform = eps / num_classes * (1 if self.weight is None else self.weight)  # t's smoothing part
                    grad -= uniform if self.kept is None else self.kept[:, None] * uniform
            grad[xp.arange(len(t)), t] -= on_label
        grad *= gy / len(grad) if self.mean else gy[:, None]  # the mean's 1/M, or each example's own gradient
        return grad


class NegativeLogLikelihood(Function):
    """loss = −w_y·x[n, y, d1, …] for log-probabilities x (N, C, d1, …) and labels y (N, d1, …):
    the log-probability of the label, taken along the class axis. Its gradient is −w_y at the
    label and 0 elsewhere. With ``mean`` the op returns the mean of the M = N·d1·… losses, and its
    gradient carries the 1/M (as CrossEntropy's does)."""

    def __init__(self, target, on_label=None, mean=False):
        self.target = target[:, None]  # y with a class axis of length 1, as take_along_axis wants
        self.on_label = on_label       # w_y, 0 for ignored labels; None: all 1
        self.mean = mean               # return (1/M)·Σ loss instead of the M losses

    def forward(self, x):
        self.input_shape, self.dtype = x.shape, x.dtype
        loss = -xp.take_along_axis(x, self.target, axis=1)[:, 0]
        if self.on_label is not None:
            loss = loss * self.on_label
        return loss.mean() if self.mean else loss

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.input_shape, self.dtype)
        if self.mean:  # each of the M losses gets 1/M of the gradient
            gy = xp.broadcast_to(gy / self.target.size, self.target.shape[:1] + self.target.shape[2:])
        g = -gy if self.on_label is None else -gy * self.on_label
        xp.put_along_axis(gx, self.target, g[:, None], axis=1)
        return gx


class MultiMargin(Function):
    """The multi-class SVM (hinge) loss, for scores x (N, C) and labels y (N,), in PyTorch's form:

        loss_n = w_{y_n}/C · Σ_{j≠y_n} max(0, margin − x_{n,y_n} + x_{n,j})^p        p ∈ {1, 2}

    (CS231n writes the same sum without the 1/C: L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ); the two
    differ by the constant factor C, which only rescales the learning rate.)

    Every wrong class j whose score comes within ``margin`` of the right one adds to the loss.
    Gradient: each such j gets  w_y/C·p·h_j^(p−1)  (h_j the violated margin) and the right class
    gets minus their sum — raise the right score, lower the offending ones.
    """

    def __init__(self, target, p, margin, on_label=None):
        self.target, self.p, self.margin = target, p, margin
        self.on_label = on_label  # w_y per example, or None: all 1

    def forward(self, x):
        xp = get_array_module(x)
        rows, y = xp.arange(len(self.target)), self.target
        violation = self.margin - x[rows, y][:, None] + x
        violation[rows, y] = 0  # the right class is not compared with itself
        hinge = xp.maximum(violation, 0)
        self.save_for_backward(hinge)
        loss = (hinge if self.p == 1 else hinge * hinge).sum(axis=1) / x.shape[1]
        return loss if self.on_label is None else loss * self.on_label

    def backward(self, gy):
        (hinge,) = self.saved
        xp = get_array_module(hinge)
        rows, y = xp.arange(len(self.target)), self.target
        grad = (hinge > 0).astype(hinge.dtype) if self.p == 1 else 2 * hinge
        scale = gy / hinge.shape[1] if self.on_label is None else gy * self.on_label / hinge.shape[1]
        grad *= scale[:, None]
        grad[rows, y] = -grad.sum(axis=1)  # grad[rows, y] was 0, so the sum runs over j ≠ y
        return grad


def _ignored(labels, ignore_index, dtype):
    """(labels with the ignored ones replaced by class 0, the 0/1 mask of kept labels or None)."""
    kept = labels != ignore_index
    if kept.all():
        return labels, None
    return xp.where(kept, labels, 0), kept.astype(dtype)


def _reduce_labelled(loss, reduction, on_label):
    """Reduce per-label losses the PyTorch way: 'mean' is Σ loss / Σ w_{y_n} over kept labels."""
    if reduction == "mean" and on_label is not None:
        return weighted_mean(loss, on_label.sum())
    return reduce(loss, reduction)


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy between logits ``input`` (N, C) and ``target``.

    ``target`` holds class indices (N,) in [0, C), or class probabilities of the same shape as
    ``input``. For input (N, C, d1, …) the target is (N, d1, …) (or probabilities (N, C, d1, …));
    for one example, logits (C,) and a class index () or probabilities (C,).

    ``weight`` (C,) rescales each class: loss_n = −Σ_c w_c·t_nc·log p_nc. Labels equal to
    ``ignore_index`` give loss 0 and do not count in the mean (not allowed, as in PyTorch, when
    ≥ 0 with probability targets). ``label_smoothing`` ε mixes the target with the uniform
    distribution: (1 − ε)·t + ε/C, for both target forms. ``reduction`` 'mean' averages over
    examples — a weighted mean Σ_n loss_n / Σ_n w_{y_n} for class indices with a weight or ignored
    labels — 'sum' adds them up, 'none' returns one loss per example (shape of the target).
    """
    name = "cross_entropy"
    check_reduction(reduction, name)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ConfigError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input = as_tensor(input)
    t = array_of(target, input)
    if input.ndim == 1:  # one example: logits (C,), target a class index or (C,) probabilities
        loss = cross_entropy(shape.unsqueeze(input, 0), t[None], weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)
        return shape.reshape(loss, ()) if reduction == "none" else loss
    logits = classes_last(input, name)
    num_classes, spatial = input.shape[1], input.shape[2:]
    w = class_weight(weight, num_classes, input, name)
    if t.dtype.kind == "f" and t.shape == input.shape:  # class probabilities
        if ignore_index >= 0:
            raise ConfigError(f"{name}: ignore_index={ignore_index} cannot be used with class-probability targets "
                              "(as in PyTorch); leave it at its default -100")
        q = t.astype(input.dtype, copy=False)
        if spatial:
            q = xp.moveaxis(q, 1, -1).reshape(-1, num_classes)
        target, kept, on_label = q, None, None  # the mean is over examples, whatever the class weights
    else:
        if t.shape != (input.shape[0],) + spatial:
            raise ShapeError(f"{name}: for input of shape {input.shape} the target must be class indices of "
                             f"shape {(input.shape[0],) + spatial} or probabilities of shape {input.shape}; "
                             f"got {t.shape}")
        labels = class_indices(t, num_classes, t.shape, name, ignore_index).reshape(-1)
        target, kept = _ignored(labels, ignore_index, input.dtype)
        on_label = label_weights(target, w, kept)
    # The plain mean over examples is taken inside the op, as the course's SoftmaxWithLoss takes it (and
    # one op fewer in the graph); a weighted mean, 'sum' and 'none' start from the per-example losses.
    mean_inside = reduction == "mean" and on_label is None
    loss = kernels.choose(CrossEntropy)(target, w, label_smoothing, kept, mean=mean_inside)(logits)
    if mean_inside:
        return loss
    if reduction == "none":
        return shape.reshape(loss, (input.shape[0],) + spatial) if spatial else loss
    return _reduce_labelled(loss, reduction, on_label)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: loss_n = −w_{y_n}·input[n, y_n] for log-probabilities ``input``
    (N, C) (e.g. from ``log_softmax``) and class indices ``target`` (N,); input (N, C, d1, …) takes
    target (N, d1, …), input (C,) a target ().

    ``weight``, ``ignore_index`` and ``reduction`` as in :func:`cross_entropy` ('mean' is the
    weighted mean Σ_n loss_n / Σ_n w_{y_n} over the labels that are not ignored).
    """
    name = "nll_loss"
    check_reduction(reduction, name)
    input = as_tensor(input)
    if input.ndim == 1:  # one example
        loss = nll_loss(shape.unsqueeze(input, 0), array_of(target)[None], weight, ignore_index=ignore_index,
                        reduction=reduction)
        return shape.reshape(loss, ()) if reduction == "none" else loss
    if input.ndim < 2:
        raise ShapeError(f"{name}: expected log-probabilities of shape (N, C) or (N, C, d1, …), got {input.shape}")
    num_classes = input.shape[1]
    labels = class_indices(array_of(target, input), num_classes, (input.shape[0],) + input.shape[2:], name,
                           ignore_index)
    labels, kept = _ignored(labels, ignore_index, input.dtype)
    on_label = label_weights(labels, class_weight(weight, num_classes, input, name), kept)
    mean_inside = reduction == "mean" and on_label is None  # the plain mean: inside the op, as cross_entropy's
    loss = NegativeLogLikelihood(labels, on_label, mean=mean_inside)(input)
    return loss if mean_inside else _reduce_labelled(loss, reduction, on_label)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, *, reduction="mean"):
    """Multi-class hinge loss (the SVM loss of CS231n, divided by C as in PyTorch) of scores ``input`` (N, C) or (C,) against
    class indices ``target`` (N,) or ():

        loss_n = weight[y_n] · Σ_{j≠y_n} max(0, margin − x_{n,y_n} + x_{n,j})^p / C

    ``p`` is 1 (hinge) or 2 (squared hinge). 'mean' is the plain mean over examples (a class weight
    scales losses here, it does not change the denominator — unlike cross_entropy).
    """
    name = "multi_margin_loss"
    check_reduction(reduction, name)
    if p not in (1, 2) or isinstance(p, bool):
        raise ConfigError(f"{name}: p must be 1 (hinge) or 2 (squared hinge), got {p!r}")
    input = as_tensor(input)
    if input.ndim == 1:  # one example
        loss = multi_margin_loss(shape.unsqueeze(input, 0), array_of(target)[None], p, margin, weight,
                                 reduction=reduction)
        return shape.reshape(loss, ()) if reduction == "none" else loss
    if input.ndim != 2:
        raise ShapeError(f"{name}: expected scores of shape (N, C) or (C,), got {input.shape}")
    num_classes = input.shape[1]
    labels = class_indices(array_of(target, input), num_classes, input.shape[:1], name)
    on_label = label_weights(labels, class_weight(weight, num_classes, input, name), None)
    return reduce(MultiMargin(labels, p, margin, on_label)(input), reduction)


def token_cross_entropy(input, target, reduction="mean", *, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Cross-entropy of sequence outputs with the class axis last, as sequence models produce them:
    logits (N, T, C) against class indices (N, T); every token is one example ('none' gives the
    N·T token losses as one row). The other options
    are those of :func:`cross_entropy` (``ignore_index`` skips padding tokens)."""
    input = as_tensor(input)
    t = array_of(target, input)
    if input.ndim != 3 or t.shape != input.shape[:2]:
        raise ShapeError(f"token_cross_entropy: expected logits (N, T, C) and targets (N, T), got {input.shape} "
                         f"and {t.shape}")
    return cross_entropy(shape.reshape(input, (-1, input.shape[-1])), t.reshape(-1), weight,
                         ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
