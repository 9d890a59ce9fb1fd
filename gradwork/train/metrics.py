"""Classification metrics on model outputs: accuracy, top-k accuracy, confusion matrix.

They take arrays or tensors and return plain numbers (or an array), never a graph.
"""
import re

from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError


def _array(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def predictions(output, threshold=None):
    """Predicted classes: argmax over the class axis of (N, C) scores; for one score per example,
    score > threshold (0.5 when the scores look like probabilities in [0, 1], else 0 for logits)."""
    out = _array(output)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    scores = out.reshape(len(out), -1)[:, 0] if out.ndim else out.reshape(1)
    if threshold is None:
        threshold = 0.5 if scores.size and scores.min() >= 0 and scores.max() <= 1 else 0.0
    return (scores > threshold).astype(xp.int64)


def _labels(target, n):
    t = _array(target)
    if t.ndim == 2 and t.shape[1] > 1:  # one-hot or probabilities
        t = t.argmax(axis=1)
    t = t.reshape(-1)
    if t.dtype.kind in "fb":  # float labels (0.0/1.0, or soft binary targets): round to the nearest class
        t = xp.rint(t).astype(xp.int64)
    if len(t) != n:
        raise ShapeError(f"metric: {n} predictions but {len(t)} targets")
    return t


def accuracy(output, target, threshold=None):
    """Fraction of examples whose predicted class equals the target."""
    pred = predictions(output, threshold)
    return float((pred == _labels(target, len(pred))).mean()) if len(pred) else 0.0


def top_k_accuracy(output, target, k=5):
    """Fraction of examples whose target is among the k highest scores."""
    out = _array(output)
    if out.ndim != 2:
        raise ShapeError(f"top_k_accuracy: expected scores of shape (N, C), got {out.shape}")
    k = min(k, out.shape[1])
    top = xp.argpartition(-out, k - 1, axis=1)[:, :k]
    t = _labels(target, len(out))
    return float((top == t[:, None]).any(axis=1).mean()) if len(out) else 0.0


def token_accuracy(output, target):
    """Fraction of positions predicted right, for sequence outputs: scores (N, T, C) against
    classes (N, T). Every token counts once, wherever it is."""
    out, t = _array(output), _array(target)
    if out.ndim != 3 or t.shape != out.shape[:2]:
        raise ShapeError(f"token_accuracy: expected scores (N, T, C) and targets (N, T), got {out.shape} and {t.shape}")
    return float((out.argmax(axis=-1) == t).mean()) if t.size else 0.0


def confusion_matrix(target, output, num_classes=None):
    """Counts C[i, j] of examples of true class i predicted as class j (rows: truth, columns: prediction).

    ``output`` may be scores (N, C) or predicted labels (N,).
    """
    out = _array(output)
    pred = predictions(out) if out.ndim == 2 else out.astype(xp.int64)
    t = _labels(target, len(pred))
    if num_classes is None:
        num_classes = int(max(pred.max(initial=0), t.max(initial=0))) + 1
    matrix = xp.zeros((num_classes, num_classes), dtype=xp.int64)
    xp.add.at(matrix, (t, pred), 1)
    return matrix


def get_metric(name):
    """A metric function by name: "accuracy" (or "acc"), "top5_accuracy" (any k), "token_accuracy",
    or a callable."""
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    if name in ("accuracy", "acc"):
        return "accuracy", accuracy
    if name == "token_accuracy":
        return name, token_accuracy
    match = re.fullmatch(r"top_?(\d+)_accuracy", name)
    if match:
        k = int(match.group(1))
        return name, lambda output, target: top_k_accuracy(output, target, k)
    raise ConfigError(f"unknown metric {name!r}; use 'accuracy', 'top5_accuracy' (any k), 'token_accuracy' "
                      "or a function")
