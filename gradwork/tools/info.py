"""Information theory and clustering metrics on plain arrays, safe at zero probabilities.

Natural logarithms (nats) unless ``base`` is given (``base=2`` for bits). By convention
0·log 0 = 0, so a zero probability contributes nothing; where q = 0 but p > 0 the divergence is
infinite, as it mathematically is.
"""
import math

from gradwork.backend import xp


def _distribution(p, name):
    p = xp.asarray(p, dtype=xp.float64)
    if p.size == 0:
        raise ValueError(f"{name}: the distribution is empty")
    if (p < 0).any():
        raise ValueError(f"{name}: probabilities must be non-negative, got a minimum of {p.min()}")
    total = p.sum(axis=-1, keepdims=True)
    if (total <= 0).any():
        raise ValueError(f"{name}: a distribution sums to 0; give counts or probabilities")
    return p / total  # counts are accepted too: normalise


def _log(x, base):
    return xp.log(x) / (math.log(base) if base else 1.0)


def _xlogy(x, y, base):
    """x·log y, with 0·log y = 0 (also for y = 0)."""
    x, y = xp.broadcast_arrays(xp.asarray(x, dtype=xp.float64), xp.asarray(y, dtype=xp.float64))
    out = xp.zeros(x.shape)
    nonzero = x > 0
    with xp.errstate(divide="ignore"):  # log 0 = −inf where x > 0: an infinite divergence, as it should be
        out[nonzero] = x[nonzero] * _log(y[nonzero], base)
    return out


def entropy(p, base=None):
    """H(p) = −Σ p log p: the average surprise of a draw from p (last axis is the distribution)."""
    p = _distribution(p, "entropy")
    return -_xlogy(p, p, base).sum(axis=-1)


def cross_entropy(p, q, base=None):
    """H(p, q) = −Σ p log q: the average surprise of draws from p coded with q; H(p, q) ≥ H(p)."""
    p, q = _distribution(p, "cross_entropy"), _distribution(q, "cross_entropy")
    return -_xlogy(p, q, base).sum(axis=-1)


def kl_divergence(p, q, base=None):
    """KL(p ‖ q) = Σ p log(p / q) = H(p, q) − H(p) ≥ 0, zero only when p = q; not symmetric."""
    p, q = _distribution(p, "kl_divergence"), _distribution(q, "kl_divergence")
    with xp.errstate(divide="ignore", invalid="ignore"):
        ratio = xp.where(p > 0, p / q, 1.0)
    return _xlogy(p, ratio, base).sum(axis=-1)


def js_divergence(p, q, base=None):
    """JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m) with m = (p + q)/2: symmetric, finite, at most log 2."""
    p, q = _distribution(p, "js_divergence"), _distribution(q, "js_divergence")
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


def _contingency(a, b):
    a, b = xp.asarray(a).reshape(-1), xp.asarray(b).reshape(-1)
    if len(a) != len(b):
        raise ValueError(f"the two labelings have different lengths: {len(a)} and {len(b)}")
    if len(a) == 0:
        raise ValueError("the labelings are empty")
    _, ai = xp.unique(a, return_inverse=True)
    _, bi = xp.unique(b, return_inverse=True)
    table = xp.zeros((ai.max() + 1, bi.max() + 1), dtype=xp.int64)
    xp.add.at(table, (ai, bi), 1)
    return table


def mutual_information(x, y, base=None):
    """I(X; Y) = Σ p(x, y) log p(x, y) / (p(x) p(y)) of two discrete variables given as paired samples:
    how much knowing one tells about the other (0 when independent)."""
    joint = _contingency(x, y) / len(xp.asarray(x).reshape(-1))
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    with xp.errstate(divide="ignore", invalid="ignore"):
        ratio = xp.where(joint > 0, joint / outer, 1.0)
    return float(_xlogy(joint, ratio, base).sum())


def _pairs(n):
    return n * (n - 1) / 2


def rand_index(labels_true, labels_pred):
    """Fraction of pairs of points on which two clusterings agree (same cluster in both, or different
    in both). 1 for identical clusterings; the cluster names do not matter."""
    table = _contingency(labels_true, labels_pred)
    n = table.sum()
    if n < 2:
        return 1.0
    same_both = _pairs(table).sum()
    same_true, same_pred = _pairs(table.sum(axis=1)).sum(), _pairs(table.sum(axis=0)).sum()
    agree = _pairs(n) + 2 * same_both - same_true - same_pred
    return float(agree / _pairs(n))


def adjusted_rand_index(labels_true, labels_pred):
    """Rand index corrected for chance: (RI − E[RI]) / (max RI − E[RI]); 0 for random labelings,
    1 for identical ones (Hubert & Arabie)."""
    table = _contingency(labels_true, labels_pred)
    n = table.sum()
    index = _pairs(table).sum()
    rows, cols = _pairs(table.sum(axis=1)).sum(), _pairs(table.sum(axis=0)).sum()
    expected = rows * cols / _pairs(n) if n > 1 else 0.0
    maximum = (rows + cols) / 2
    if maximum == expected:  # both labelings put everything in one cluster, or all apart
        return 1.0
    return float((index - expected) / (maximum - expected))


def cosine_similarity(a, b, axis=-1, eps=1e-12):
    """a·b / (‖a‖ ‖b‖) along ``axis``; 0 where a vector is zero (instead of a division by zero)."""
    a, b = xp.asarray(a, dtype=xp.float64), xp.asarray(b, dtype=xp.float64)
    norms = xp.linalg.norm(a, axis=axis) * xp.linalg.norm(b, axis=axis)
    return (a * b).sum(axis=axis) / xp.maximum(norms, eps)
