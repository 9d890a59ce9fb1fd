"""Mean average precision (mAP) of an object detector, VOC/COCO-style, and its precision–recall plot.

The layout is torchmetrics' (``MeanAveragePrecision``): one dict per image,

    predictions[i] = {"boxes": (k, 4) xyxy, "scores": (k,), "labels": (k,) int}
    targets[i]     = {"boxes": (g, 4) xyxy, "labels": (g,) int}

How a prediction counts. In each image and class, predictions are taken in decreasing score; each
one is matched to the not-yet-matched ground-truth box of its class with the highest IoU, if that
IoU is ≥ ``iou_threshold`` (a true positive); otherwise it is a false positive (a second box on an
already found object is a false positive). Each ground truth is matched at most once.

The precision–recall curve of a class ranks its predictions from all images by score; after the
first r of them,

    precision(r) = TP(r) / r,    recall(r) = TP(r) / G    (G = ground-truth boxes of the class)

Average precision (all-point interpolation, VOC 2010+ and COCO's rule without the 101-point
sampling) is the area under that curve once precision is made monotone from the right,

    p̂(r) = max_{r' ≥ r} precision(r'),    AP = Σ_k (recall_k − recall_{k−1}) · p̂(recall_k)

so a zig-zag of the raw curve never lowers AP below what a lower score threshold would reach. mAP is
the mean of AP over the classes that have at least one ground-truth box; a class that only appears
in predictions is left out (it has no recall), a class with ground truth but no prediction has AP 0.
"""
import numpy as np

from gradwork.errors import ConfigError, LabelError, ShapeError
from gradwork.vision.boxes import _array, _as_scores, _pairwise_iou, as_boxes


def _labels(x, n, where):
    a = _array(x)
    if a.shape != (n,):
        raise ShapeError(f"{where}['labels'] must have shape ({n},), one per box; got shape {a.shape}")
    if a.size and not (np.issubdtype(a.dtype, np.integer) or np.array_equal(a, np.round(a))):
        raise LabelError(f"{where}['labels'] must be integer class indices; got {a.dtype} values")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise LabelError(f"{where}['labels'] holds the negative class {a.min()}; classes are 0, 1, 2, …")
    return a


def _field(d, key, where):
    if not isinstance(d, dict) or key not in d:
        keys = list(d) if isinstance(d, dict) else type(d).__name__
        raise ConfigError(f"{where} must be a dict with a {key!r} entry; got {keys}")
    return d[key]


def _check(predictions, targets, num_classes):
    """Validated per-image arrays: [(boxes, scores, labels)], [(boxes, labels)]."""
    if not isinstance(predictions, (list, tuple)) or not isinstance(targets, (list, tuple)):
        raise ConfigError("predictions and targets must be lists with one dict per image")
    if len(predictions) != len(targets):
        raise ShapeError(f"predictions and targets must describe the same images: got {len(predictions)} "
                         f"prediction dicts and {len(targets)} target dicts")
    if not predictions:
        raise ShapeError("predictions and targets are empty lists: give at least one image")
    preds, gts = [], []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        where = f"predictions[{i}]"
        boxes = as_boxes(_field(p, "boxes", where), f"{where}['boxes']")
        scores = _as_scores(_field(p, "scores", where), len(boxes), f"{where}['scores']").astype(np.float64)
        preds.append((boxes, scores, _labels(_field(p, "labels", where), len(boxes), where)))
        where = f"targets[{i}]"
        boxes = as_boxes(_field(t, "boxes", where), f"{where}['boxes']")
        gts.append((boxes, _labels(_field(t, "labels", where), len(boxes), where)))
    if num_classes is not None:
        top = max([lab.max() for *_, lab in preds + gts if lab.size], default=-1)
        if top >= num_classes:
            raise LabelError(f"a label {top} is outside [0, {num_classes}): num_classes={num_classes}")
    return preds, gts


def _match_image(boxes, scores, gt_boxes, iou_threshold):
    """True-positive flags of one image's predictions of one class (the greedy matching above)."""
    order = np.argsort(-scores, kind="stable")
    iou = _pairwise_iou(boxes[order], gt_boxes)            # (k, g), rows in decreasing score
    matched = np.zeros(len(gt_boxes), dtype=bool)
    tp = np.zeros(len(boxes), dtype=bool)
    # Sequential by nature: whether a prediction is a hit depends on what the better ones took.
    for rank, row in enumerate(iou):
        row = np.where(matched, -1.0, row)                 # a found object cannot be found twice
        if row.size and row.max() >= iou_threshold:
            best = int(np.argmax(row))
            matched[best] = True
            tp[order[rank]] = True
    return tp


def _ranked_hits(preds, gts, iou_threshold):
    """Per class with ground truth or predictions: (scores, true-positive flags, number of ground
    truths), over all images."""
    classes = sorted({int(c) for _, _, lab in preds for c in lab} | {int(c) for _, lab in gts for c in lab})
    out = {}
    for c in classes:
        scores, hits, n_gt = [], [], 0
        for (boxes, s, lab), (gt_boxes, gt_lab) in zip(preds, gts):
            mine, gt_mine = lab == c, gt_lab == c
            n_gt += int(gt_mine.sum())
            scores.append(s[mine])
            hits.append(_match_image(boxes[mine], s[mine], gt_boxes[gt_mine], iou_threshold))
        out[c] = (np.concatenate(scores), np.concatenate(hits), n_gt)
    return out


def _curve(scores, hits, n_gt):
    """Raw precision and recall after each of the predictions ranked by decreasing score."""
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    ranks = np.arange(1, len(order) + 1)
    return tp / ranks, tp / n_gt


def average_precision(precision, recall):
    """Area under a precision–recall curve made monotone from the right (all-point interpolation):

        p̂_k = max_{j ≥ k} precision_j,    AP = Σ_k (recall_k − recall_{k−1}) · p̂_k,   recall_0 = 0

    ``precision`` and ``recall`` are the points in ranking order (recall not decreasing).
    """
    precision, recall = np.asarray(precision, np.float64), np.asarray(recall, np.float64)
    if precision.size == 0:
        return 0.0
    # The running maximum taken from the right end: the best precision at this recall or beyond.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def precision_recall_curves(predictions, targets, iou_threshold=0.5, num_classes=None):
    """{class: (precision, recall)} for every class with at least one ground-truth box: the raw
    points after each ranked prediction (empty arrays when the class has no prediction)."""
    preds, gts = _check(predictions, targets, num_classes)
    return {c: _curve(s, h, n) for c, (s, h, n) in _ranked_hits(preds, gts, iou_threshold).items() if n > 0}


def average_precision_per_class(predictions, targets, iou_threshold=0.5, num_classes=None):
    """{class: AP} for every class with at least one ground-truth box (see the module docstring)."""
    curves = precision_recall_curves(predictions, targets, iou_threshold, num_classes)
    return {c: average_precision(p, r) for c, (p, r) in curves.items()}


def mean_average_precision(predictions, targets, iou_threshold=0.5, num_classes=None):
    """mAP@``iou_threshold``: the mean over classes with ground truth of their average precision.

    ``predictions``: a list, one dict per image, {"boxes": (k, 4) xyxy, "scores": (k,), "labels": (k,)};
    ``targets``: a list of the same length, {"boxes": (g, 4) xyxy, "labels": (g,)}. ``num_classes``,
    if given, checks that every label is below it. Returns a float in [0, 1] (NaN when no image holds
    any ground-truth box: then no class has a recall).
    """
    ap = average_precision_per_class(predictions, targets, iou_threshold, num_classes)
    return float(np.mean(list(ap.values()))) if ap else float("nan")


def plot_precision_recall(curves, path=None, class_names=None):
    """Precision against recall for each class: the raw curve (thin) and the monotone envelope whose
    area (shaded) is the AP, with the AP in the legend.

    ``curves``: {class: (precision, recall)} as returned by :func:`precision_recall_curves`;
    ``class_names``: a list or dict mapping a class index to its name. Saves a PNG to ``path`` if
    given; returns the figure.
    """
    from gradwork.tools.viz._figure import (  # matplotlib only when a picture is asked for
        finish,
        plt,
    )

    if not curves:
        raise ConfigError("plot_precision_recall: no curves to draw (no class has a ground-truth box)")
    fig, ax = plt.subplots(figsize=(6, 5))
    colours = plt.get_cmap("tab10")
    for k, (c, (precision, recall)) in enumerate(sorted(curves.items())):
        name = class_names[c] if class_names is not None else f"class {c}"
        ap = average_precision(precision, recall)
        colour = colours(k % 10)
        if len(recall):
            envelope = np.maximum.accumulate(np.asarray(precision)[::-1])[::-1]
            ax.plot(recall, precision, color=colour, lw=0.8, alpha=0.45)
            x, y = np.concatenate([[0.0], recall]), np.concatenate([envelope[:1], envelope])
            ax.step(x, y, where="pre", color=colour, lw=1.8, label=f"{name}: AP {ap:.3f}")
            ax.fill_between(x, y, step="pre", color=colour, alpha=0.07)  # the shaded area is the AP
        else:
            ax.plot([], [], color=colour, label=f"{name}: AP 0 (no prediction)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    mean = np.mean([average_precision(p, r) for p, r in curves.values()])
    ax.set_title(f"precision–recall per class (mAP {mean:.3f})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return finish(fig, path)
