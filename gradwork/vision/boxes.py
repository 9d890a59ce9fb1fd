"""Bounding boxes: area, intersection over union, format conversion, non-maximum suppression.

The names and semantics are torchvision's (``torchvision.ops``), on NumPy arrays: every function
accepts a NumPy array, a list or a gradwork ``Tensor`` (its ``.data`` is used; boxes carry no
gradient here) and returns NumPy. A set of boxes is an array of shape (N, 4); unless a function says
otherwise, a box is ``(x1, y1, x2, y2)`` with ``x1 ≤ x2`` and ``y1 ≤ y2`` ("xyxy"). The other formats
are ``(x, y, w, h)`` ("xywh", top-left corner and size) and ``(cx, cy, w, h)`` ("cxcywh", centre and
size).

Floating boxes keep their dtype; integer boxes are computed in float32 (gradwork's default).

Bad boxes raise gradwork's own errors: :class:`~gradwork.errors.ShapeError` for data that are not
valid boxes (not of shape (N, 4), a negative width or height — the first bad row is named —, NaN or
infinite coordinates, a score per box missing), :class:`~gradwork.errors.ConfigError` for a bad
setting (an unknown format name, an image size that is not two positive numbers).

One difference from torchvision: the IoU of two boxes whose union has zero area (two identical
degenerate boxes) is 0 here, where torchvision returns NaN (0 / 0).
"""
import numpy as np

from gradwork.autograd import Tensor
from gradwork.errors import ConfigError, ShapeError

FORMATS = ("xyxy", "xywh", "cxcywh")


def _array(x):
    """A NumPy array from an array, a list or a gradwork Tensor (its ``.data``)."""
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _float(a):
    """``a`` as floats: floating dtypes kept, everything else (ints, bools) in float32."""
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float32)


def as_boxes(boxes, name="boxes", fmt="xyxy"):
    """Check that ``boxes`` are N valid boxes in format ``fmt`` and return them as a float array
    of shape (N, 4).

    Valid means: shape (N, 4) (N may be 0; an empty list counts as (0, 4)), finite coordinates, and a width and height that are not
    negative (``x2 ≥ x1, y2 ≥ y1`` for "xyxy"; ``w ≥ 0, h ≥ 0`` for the other formats).
    """
    _check_format(fmt)
    a = _float(_array(boxes))
    if a.shape == (0,):
        a = a.reshape(0, 4)                  # [] is "no boxes", as an image without objects has
    if a.ndim != 2 or a.shape[1] != 4:
        raise ShapeError(f"{name} must have shape (N, 4), one box per row; got shape {a.shape}"
                         + (" (a single box? write it as [[x1, y1, x2, y2]])" if a.shape == (4,) else ""))
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ShapeError(f"{name} row {row} holds a NaN or infinite coordinate: {a[row].tolist()}")
    if fmt == "xyxy":
        bad = (a[:, 2] < a[:, 0]) | (a[:, 3] < a[:, 1])
        what = "x2 < x1 or y2 < y1 (boxes are (x1, y1, x2, y2) with the corner of the smaller coordinates first)"
    else:
        bad = (a[:, 2] < 0) | (a[:, 3] < 0)
        what = f"a negative width or height (format {fmt!r})"
    if bad.any():
        row = int(np.argmax(bad))
        raise ShapeError(f"{name} row {row} has {what}: {a[row].tolist()}")
    return a


def _check_format(fmt):
    if fmt not in FORMATS:
        raise ConfigError(f"unknown box format {fmt!r}; use one of {', '.join(map(repr, FORMATS))}")


def _as_scores(scores, n, name="scores"):
    s = _float(_array(scores))
    if s.shape != (n,):
        raise ShapeError(f"{name} must have shape ({n},), one per box; got shape {s.shape}")
    if np.isnan(s).any():
        raise ShapeError(f"{name} entry {int(np.argmax(np.isnan(s)))} is NaN")
    return s


def box_area(boxes):
    """Area of each box: ``(x2 − x1) · (y2 − y1)``.

    Shape: boxes (N, 4) xyxy → (N,).
    """
    b = as_boxes(boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _pairwise_iou(b1, b2):
    """IoU of every row of ``b1`` (N, 4) with every row of ``b2`` (M, 4), inputs already checked."""
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    # The intersection is the box between the larger top-left and the smaller bottom-right corner;
    # when those cross, the boxes do not overlap and its width or height is clipped to 0.
    top_left = np.maximum(b1[:, None, :2], b2[None, :, :2])          # (N, M, 2)
    bottom_right = np.minimum(b1[:, None, 2:], b2[None, :, 2:])      # (N, M, 2)
    wh = np.clip(bottom_right - top_left, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    # IoU = 0 where the union is empty (two identical points or lines) rather than 0 / 0.
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_iou(boxes1, boxes2):
    """Intersection over union of every pair of boxes:

        IoU(A, B) = |A ∩ B| / |A ∪ B| = |A ∩ B| / (|A| + |B| − |A ∩ B|)

    between 0 (disjoint) and 1 (the same box). The Jaccard index of the two regions.

    Shape: boxes1 (N, 4), boxes2 (M, 4), both xyxy → (N, M); entry (i, j) is IoU(boxes1[i], boxes2[j]).
    """
    b1 = as_boxes(boxes1, "boxes1")
    b2 = as_boxes(boxes2, "boxes2")
    dtype = np.result_type(b1, b2)
    return _pairwise_iou(b1.astype(dtype, copy=False), b2.astype(dtype, copy=False))


def box_convert(boxes, in_fmt, out_fmt):
    """Convert boxes between "xyxy" (corners), "xywh" (top-left corner, width, height) and "cxcywh"
    (centre, width, height):

        xywh → xyxy:    (x, y, x + w, y + h)
        cxcywh → xyxy:  (cx − w/2, cy − h/2, cx + w/2, cy + h/2)
        xyxy → xywh:    (x1, y1, x2 − x1, y2 − y1)
        xyxy → cxcywh:  ((x1 + x2)/2, (y1 + y2)/2, x2 − x1, y2 − y1)

    Shape: (N, 4) → (N, 4).
    """
    _check_format(out_fmt)
    b = as_boxes(boxes, fmt=in_fmt)
    if in_fmt == out_fmt:
        return b.copy()
    # Every conversion goes through xyxy: two small formulas per format instead of six.
    if in_fmt == "xywh":
        b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    elif in_fmt == "cxcywh":
        b = np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)
    if out_fmt == "xywh":
        b = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    elif out_fmt == "cxcywh":
        b = np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], axis=1)
    return b


def nms(boxes, scores, iou_threshold):
    """Non-maximum suppression: keep the highest-scoring box, drop every remaining box whose IoU
    with it is strictly above ``iou_threshold``, and repeat with the best box left.

    Returns the indices (int64) of the kept boxes in decreasing order of score (ties keep the input
    order). All boxes are treated as one class; see :func:`batched_nms` for one NMS per class.

    Shape: boxes (N, 4) xyxy, scores (N,) → (K,) with K ≤ N.
    """
    b = as_boxes(boxes)
    s = _as_scores(scores, len(b))
    x1, y1, x2, y2 = b.T
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-s, kind="stable")
    keep = []
    # One pass per KEPT box, each comparing it with all remaining boxes at once; the textbook
    # version compares pairs in a double Python loop (O(N²) Python steps).
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        inter = w * h
        union = area[best] + area[rest] - inter
        # IoU ≤ threshold keeps a box; written as inter ≤ threshold · union, an empty union (IoU 0
        # by this module's rule) needs no special case.
        order = rest[inter <= iou_threshold * union]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, idxs, iou_threshold):
    """Non-maximum suppression within each class: a box can only suppress boxes of the same class
    (``idxs``, one integer category per box).

    Returns the indices (int64) of the kept boxes in decreasing order of score.

    The trick (torchvision's): shift the boxes of class c by c · span, with span wider than the
    whole set of boxes, so boxes of different classes never overlap, and run one :func:`nms` over
    all of them — the same result as a loop over classes. (torchvision takes span = max + 1, which
    lets classes overlap when coordinates are negative; max − min + 1 does not.) The shifts are
    computed in float64 so large offsets lose no precision.

    Shape: boxes (N, 4) xyxy, scores (N,), idxs (N,) → (K,).
    """
    b = as_boxes(boxes)
    s = _as_scores(scores, len(b))
    c = _array(idxs)
    if c.shape != (len(b),):
        raise ShapeError(f"idxs must have shape ({len(b)},), one class index per box; got shape {c.shape}")
    if len(b) == 0:
        return np.zeros(0, dtype=np.int64)
    if not (np.issubdtype(c.dtype, np.integer) or np.array_equal(c, np.round(c))):
        raise ShapeError("idxs must be integer class indices")
    span = float(b.max() - b.min()) + 1.0                      # wider than any box
    shifted = b.astype(np.float64) + (c.astype(np.float64) * span)[:, None]
    return nms(shifted, s, iou_threshold)


def clip_boxes_to_image(boxes, size):
    """Clip boxes to an image of ``size = (height, width)``: x to [0, width], y to [0, height].

    Shape: (N, 4) xyxy → (N, 4), same dtype.
    """
    b = as_boxes(boxes)
    if len(size) != 2 or not all(np.isfinite(v) and v > 0 for v in size):
        raise ConfigError(f"size must be (height, width), two positive numbers; got {tuple(size)}")
    height, width = size
    out = b.copy()
    out[:, 0::2] = np.clip(b[:, 0::2], 0, width)
    out[:, 1::2] = np.clip(b[:, 1::2], 0, height)
    return out


def remove_small_boxes(boxes, min_size):
    """Indices (int64) of the boxes whose width and height are both at least ``min_size``.

    Shape: (N, 4) xyxy → (K,).
    """
    b = as_boxes(boxes)
    keep = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
    return np.flatnonzero(keep).astype(np.int64)
