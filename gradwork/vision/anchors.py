"""SSD-style anchor boxes (d2l's "Anchor Boxes" chapter): generate anchors on a feature map, match
them to ground-truth boxes, encode the matches as offsets for a network to regress, and decode a
network's offsets back into detections.

Coordinates are normalised to the image: x and y in [0, 1], boxes in xyxy. Class 0 is the
background in every class label this module produces; object class k (0-based in the data) becomes
k + 1.

The pipeline, with A anchors and C object classes:

    anchors = multibox_prior((H, W), sizes, ratios)                  (1, A, 4)
    offsets, masks, classes = multibox_target(anchors, labels)       training targets, (B, A·4), (B, A·4), (B, A)
    ... a network predicts class probabilities (B, C + 1, A) and offsets (B, A·4) ...
    detections = multibox_detection(cls_probs, offset_preds, anchors)   (B, A, 6)
"""
import numpy as np

from gradwork.autograd import Tensor
from gradwork.errors import ConfigError, ShapeError
from gradwork.vision.boxes import (
    _array,
    _pairwise_iou,
    as_boxes,
    batched_nms,
    box_convert,
)

VARIANCES = (0.1, 0.1, 0.2, 0.2)
# The largest log-scale a decoded width or height may take (torchvision's bbox_xform_clip): a box at
# most 1000/16 ≈ 62× its anchor, so a wild prediction cannot overflow exp() into infinity.
_MAX_LOG_SCALE = float(np.log(1000.0 / 16))


def _feature_hw(feature_map_or_hw):
    if isinstance(feature_map_or_hw, (tuple, list)) and len(feature_map_or_hw) == 2:
        h, w = feature_map_or_hw
    else:
        shape = feature_map_or_hw.shape if isinstance(feature_map_or_hw, Tensor) else np.shape(feature_map_or_hw)
        if len(shape) < 2:
            raise ShapeError(f"multibox_prior takes a feature map (…, H, W) or a size (H, W); got shape {shape}")
        h, w = shape[-2:]
    if not (float(h).is_integer() and float(w).is_integer() and h > 0 and w > 0):
        raise ConfigError(f"the feature map size (H, W) must be two positive integers; got ({h}, {w})")
    return int(h), int(w)


def _positive_list(values, name):
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.all(np.isfinite(v) & (v > 0)):
        raise ConfigError(f"{name} must be a non-empty list of positive numbers; got {values!r}")
    return v


def multibox_prior(feature_map_or_hw, sizes, ratios):
    """Anchor boxes centred on every cell of an H × W feature map (d2l's ``multibox_prior``).

    With sizes s_1 … s_n (fractions of the image) and aspect ratios r_1 … r_m (width / height), each
    cell gets n + m − 1 anchors: (s_i, r_1) for every i, then (s_1, r_j) for j ≥ 2 — not all n·m
    pairs. An anchor of size s and ratio r centred on cell (y, x) is

        centre = ((x + ½) / W, (y + ½) / H)
        width  = s · √r · H / W,    height = s / √r

    (the H / W factor makes the anchor of ratio 1 square in pixels on an image shaped like the map).

    ``feature_map_or_hw``: an array or Tensor (…, H, W), or a size (H, W).
    Returns float32 (1, H·W·(n + m − 1), 4) normalised xyxy, location by location (row y, then
    column x), so ``.reshape(H, W, n + m − 1, 4)`` indexes anchors by cell.
    """
    h, w = _feature_hw(feature_map_or_hw)
    sizes, ratios = _positive_list(sizes, "sizes"), _positive_list(ratios, "ratios")
    # Per-cell anchor shapes (K,): every size with the first ratio, then the first size with the rest.
    s = np.concatenate([sizes, np.full(len(ratios) - 1, sizes[0])])
    r = np.concatenate([np.full(len(sizes), ratios[0]), ratios[1:]])
    half_w = s * np.sqrt(r) * h / w / 2
    half_h = s / np.sqrt(r) / 2
    cy = ((np.arange(h) + 0.5) / h)[:, None, None]                 # (H, 1, 1)
    cx = ((np.arange(w) + 0.5) / w)[None, :, None]                 # (1, W, 1)
    anchors = np.stack(np.broadcast_arrays(cx - half_w, cy - half_h, cx + half_w, cy + half_h), axis=-1)
    return anchors.reshape(1, -1, 4).astype(np.float32)             # (H, W, K, 4) → (1, H·W·K, 4)


def _anchor_rows(anchors):
    a = _array(anchors)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]                                                     # multibox_prior's (1, A, 4)
    return as_boxes(a, "anchors")


def assign_anchor_to_bbox(ground_truth, anchors, iou_threshold=0.5):
    """Match anchors to ground-truth boxes by IoU (d2l's rule). Returns (A,) int64: the index of the
    ground truth each anchor is assigned to, or −1 (background).

    1. Every anchor takes the ground truth it overlaps most, if that IoU is ≥ ``iou_threshold``.
    2. Then, so that every ground truth gets at least one anchor: take the largest entry of the
       anchor × ground-truth IoU matrix, assign that pair, discard its row and column, and repeat
       once per ground truth. These pairs override step 1. A ground truth that overlaps no anchor
       at all (IoU 0 everywhere) stays unmatched rather than taking an arbitrary anchor.

    Shape: ground_truth (G, 4), anchors (A, 4) or (1, A, 4), both xyxy → (A,).
    """
    gt = as_boxes(ground_truth, "ground_truth")
    anc = _anchor_rows(anchors)
    iou = _pairwise_iou(anc.astype(np.float64), gt.astype(np.float64))     # (A, G)
    assigned = np.full(len(anc), -1, dtype=np.int64)
    if len(gt) == 0:
        return assigned
    best = iou.argmax(axis=1)
    above = iou[np.arange(len(anc)), best] >= iou_threshold
    assigned[above] = best[above]
    # One step per ground truth (a handful per image), each a vectorised argmax over the matrix.
    for _ in range(min(len(anc), len(gt))):
        flat = int(np.argmax(iou))
        a, g = divmod(flat, len(gt))
        if iou[a, g] <= 0:
            break
        assigned[a] = g
        iou[:, g] = -1.0
        iou[a, :] = -1.0
    return assigned


def _variances(variances):
    v = np.asarray(variances, dtype=np.float64)
    if v.shape != (4,) or not np.all(v > 0):
        raise ConfigError(f"variances must be four positive numbers (x, y, w, h); got {variances!r}")
    return v


def offset_boxes(anchors, assigned, variances=VARIANCES):
    """Encode boxes as offsets from their anchors (the regression targets of SSD):

        t_x = (x_b − x_a) / (w_a · v_x),   t_y = (y_b − y_a) / (h_a · v_y)
        t_w = log(w_b / w_a) / v_w,        t_h = log(h_b / h_a) / v_h

    with (x, y) the centres and (w, h) the sizes of anchor a and box b. The variances (0.1, 0.1,
    0.2, 0.2) scale typical offsets to about unit size (d2l's factors 10 and 5).
    Inverse of :func:`offset_inverse`.

    Shape: anchors (A, 4) or (1, A, 4), assigned (A, 4), both xyxy → (A, 4).
    """
    v = _variances(variances)
    a = box_convert(_anchor_rows(anchors), "xyxy", "cxcywh").astype(np.float64)
    b = box_convert(as_boxes(assigned, "assigned"), "xyxy", "cxcywh").astype(np.float64)
    if a.shape != b.shape:
        raise ShapeError(f"anchors and assigned boxes must pair up: {len(a)} anchors, {len(b)} boxes")
    for name, boxes in (("anchors", a), ("assigned", b)):
        flat = (boxes[:, 2:] <= 0).any(axis=1)
        if flat.any():
            raise ShapeError(f"{name} row {int(np.argmax(flat))} has zero width or height: its offset "
                             "takes log(w_b / w_a), which needs boxes of positive size")
    t_xy = (b[:, :2] - a[:, :2]) / (a[:, 2:] * v[:2])
    t_wh = np.log(b[:, 2:] / a[:, 2:]) / v[2:]
    return np.concatenate([t_xy, t_wh], axis=1).astype(np.float32)


def offset_inverse(anchors, offsets, variances=VARIANCES):
    """Decode offsets into boxes (xyxy): the inverse of :func:`offset_boxes`,

        x_b = x_a + t_x · v_x · w_a,       y_b = y_a + t_y · v_y · h_a
        w_b = w_a · exp(t_w · v_w),        h_b = h_a · exp(t_h · v_h)

    The log-scale t_w · v_w is capped at log(1000 / 16) so that exp() stays finite.

    Shape: anchors (A, 4) or (1, A, 4), offsets (A, 4) or (A·4,) → (A, 4) float32.
    """
    v = _variances(variances)
    a = box_convert(_anchor_rows(anchors), "xyxy", "cxcywh").astype(np.float64)
    t = _array(offsets).astype(np.float64)
    if t.size != a.size:
        raise ShapeError(f"offsets must hold 4 numbers per anchor ({len(a)} anchors → shape ({len(a)}, 4) "
                         f"or ({4 * len(a)},)); got shape {t.shape}")
    t = t.reshape(-1, 4)
    xy = a[:, :2] + t[:, :2] * v[:2] * a[:, 2:]
    wh = a[:, 2:] * np.exp(np.minimum(t[:, 2:] * v[2:], _MAX_LOG_SCALE))
    return box_convert(np.concatenate([xy, wh], axis=1), "cxcywh", "xyxy").astype(np.float32)


def multibox_target(anchors, labels, iou_threshold=0.5, variances=VARIANCES):
    """Training targets for a batch: each anchor's class and its offset to the box it is assigned to
    (see :func:`assign_anchor_to_bbox`).

    ``labels``: (B, G, 5) or a list of (G_i, 5) arrays, one row per object ``[class, x1, y1, x2,
    y2]`` with 0-based classes; rows with a negative class are padding and ignored.

    Returns ``(offsets, masks, class_labels)`` as d2l lays them out:
        offsets      (B, A·4) float32: :func:`offset_boxes` for assigned anchors, 0 for background;
        masks        (B, A·4) float32: 1 for the four offsets of an assigned anchor, 0 otherwise —
                     multiply the box-regression loss by it so background anchors do not count;
        class_labels (B, A) int64: 0 for background, object class + 1 otherwise.
    """
    anc = _anchor_rows(anchors)
    images = list(labels) if isinstance(labels, (list, tuple)) else _array(labels)
    offsets, masks, classes = [], [], []
    # One assignment per image: each image has its own objects (a short loop over the batch).
    for i, image_labels in enumerate(images):
        lab = _array(image_labels).astype(np.float64)
        if lab.ndim != 2 or lab.shape[1] != 5:
            raise ShapeError(f"labels of image {i} must have shape (G, 5), rows [class, x1, y1, x2, y2]; "
                             f"got shape {lab.shape}")
        lab = lab[lab[:, 0] >= 0]                                     # drop padding rows
        assigned = assign_anchor_to_bbox(lab[:, 1:], anc, iou_threshold)
        hit = assigned >= 0
        cls = np.zeros(len(anc), dtype=np.int64)
        cls[hit] = lab[assigned[hit], 0].astype(np.int64) + 1
        # Background anchors are "assigned" to themselves: offset exactly 0, no log(0) to mask away.
        boxes = anc.astype(np.float64).copy()
        boxes[hit] = lab[assigned[hit], 1:]
        offsets.append(offset_boxes(anc, boxes, variances).reshape(-1))
        masks.append(np.repeat(hit, 4).astype(np.float32))
        classes.append(cls)
    return np.stack(offsets), np.stack(masks), np.stack(classes)


def multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=0.5, pos_threshold=0.009):
    """Detections from a network's outputs: decode each anchor's offsets into a box, give it its most
    likely object class and that probability as its score, run NMS within each class
    (:func:`~gradwork.vision.boxes.batched_nms`) over the boxes whose score is at least
    ``pos_threshold``; every other anchor (suppressed or too weak) is marked background (class −1).

    ``cls_probs``: (B, C + 1, A) probabilities with row 0 the background; ``offset_preds``: (B, A·4)
    or (B, A, 4). Returns float32 (B, A, 6), rows ``[class, score, x1, y1, x2, y2]`` (0-based object
    class, or −1): in each image the detections first, in decreasing score, then the other anchors
    in anchor order (d2l's layout; d2l's rows for weak boxes also differ in showing 1 − score). :func:`detections_to_dicts` turns it into the lists ``mean_average_precision`` takes.
    """
    probs = _array(cls_probs).astype(np.float64)
    anc = _anchor_rows(anchors)
    if probs.ndim != 3 or probs.shape[1] < 2 or probs.shape[2] != len(anc):
        raise ShapeError(f"cls_probs must have shape (B, C + 1, A) = (B, ≥ 2, {len(anc)}) with row 0 the "
                         f"background; got shape {probs.shape}")
    offsets = _array(offset_preds)
    if offsets.size != probs.shape[0] * len(anc) * 4:
        raise ShapeError(f"offset_preds must have shape (B, A·4) = ({probs.shape[0]}, {4 * len(anc)}); "
                         f"got shape {offsets.shape}")
    offsets = offsets.reshape(probs.shape[0], -1)
    out = []
    # One NMS per image: each image's boxes compete only with each other.
    for prob, offset in zip(probs, offsets):
        score, cls = prob[1:].max(axis=0), prob[1:].argmax(axis=0)
        boxes = offset_inverse(anc, offset)
        # Only boxes scoring at least pos_threshold can become detections, and a box can only
        # suppress boxes of lower score, so NMS over those alone finds the same detections as d2l's
        # NMS over every anchor — at a fraction of the cost once a trained net calls most anchors
        # background.
        candidates = np.flatnonzero(score >= pos_threshold)
        keep = candidates[batched_nms(boxes[candidates], score[candidates], cls[candidates], nms_threshold)]
        rest = np.setdiff1d(np.arange(len(anc)), keep)              # suppressed or too weak, in anchor order
        order = np.concatenate([keep, rest])
        label = np.concatenate([cls[keep], np.full(len(rest), -1)])
        out.append(np.concatenate([label[:, None], score[order, None], boxes[order]], axis=1))
    return np.stack(out).astype(np.float32)


def detections_to_dicts(detections):
    """The rows of :func:`multibox_detection` whose class is not −1, as one dict per image
    ``{"boxes": (k, 4), "scores": (k,), "labels": (k,) int64}`` — the layout of
    :func:`gradwork.vision.detection_metrics.mean_average_precision`."""
    dets = _array(detections)
    if dets.ndim != 3 or dets.shape[2] != 6:
        raise ShapeError(f"detections must have shape (B, A, 6), rows [class, score, x1, y1, x2, y2]; "
                         f"got shape {dets.shape}")
    found = [d[d[:, 0] >= 0] for d in dets]
    return [{"boxes": d[:, 2:], "scores": d[:, 1], "labels": d[:, 0].astype(np.int64)} for d in found]
