"""A YOLOv3-style detection head at one scale: decoding, target assignment, the loss, post-processing,
anchor sizes by k-means, and letterboxing.

The network's last layer (a 1×1 convolution) predicts, at every cell (i, j) of an S×S grid and for
each of A anchors, 5 + C numbers: ``tx, ty, tw, th``, an objectness logit and C class logits. The
output has shape (N, A·(5 + C), S, S), the channels of anchor a being ``a·(5+C) … a·(5+C) + 4 + C``
in that order. With the grid's ``stride`` (input pixels per cell) and anchor a of size (p_w, p_h)
pixels, the box of cell (cx = j, cy = i) is, in pixels of the input image::

    bx = (σ(tx) + cx) · stride        the centre stays inside its cell (σ: the logistic sigmoid)
    by = (σ(ty) + cy) · stride
    bw = p_w · exp(tw)                 = (p_w / stride) · exp(tw) · stride: the anchor in grid units,
    bh = p_h · exp(th)                   scaled by exp(tw), back in pixels
    confidence(class c) = σ(objectness) · softmax(class logits)_c

Training targets are the inverse: a ground-truth box of centre (gx, gy) and size (gw, gh) pixels
goes to the cell holding its centre, i = ⌊gy / stride⌋, j = ⌊gx / stride⌋, and to the anchor whose
shape is most like its own (the largest IoU of the two boxes put on a common centre); there

    tx* = gx / stride − j,   ty* = gy / stride − i,   tw* = log(gw / p_w),   th* = log(gh / p_h).

Everything here but :func:`yolo_loss` works on NumPy arrays (decoding needs no gradient); the loss is
built from gradwork ops and back-propagates to the network's output.
"""
import numpy as np

from gradwork.autograd.tensor import Tensor
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops import losses
from gradwork.ops.activations import sigmoid, sigmoid_array, softmax_array

#: The fields of a target array (N, A, S, S, 6), in order: objectness (1 where a box is assigned, else 0),
#: the four coordinate targets tx*, ty*, tw*, th*, and the class index (a float, read where objectness is 1).
TARGET_FIELDS = ("objectness", "tx", "ty", "tw", "th", "class")
#: The loss weights (YOLOv1's λ_coord = 5 keeps the few coordinate terms from being drowned by the
#: objectness terms of every cell; YOLOv3 weighs objectness, object-free cells and classes equally).
COORD_WEIGHT, OBJECT_WEIGHT, NO_OBJECT_WEIGHT, CLASS_WEIGHT = 5.0, 1.0, 1.0, 1.0
GREY = 128


def _array(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def as_anchors(anchors):
    """``anchors`` as a float64 array (A, 2) of positive (width, height) in pixels, checked."""
    a = np.asarray(_array(anchors), dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2 or len(a) == 0:
        raise ShapeError(f"anchors must have shape (A, 2), one (width, height) in pixels per anchor; got shape "
                         f"{a.shape}")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise ShapeError(f"anchors must be positive finite (width, height) pairs in pixels; got {a.tolist()}")
    return a


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def _head_shape(shape, num_anchors, num_classes, what="output"):
    """(N, S, S) of a head output of ``shape`` (N, A·(5+C), S, S), or a ShapeError saying what is expected."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
    channels = num_anchors * (5 + num_classes)
    if len(shape) != 4 or shape[1] != channels:
        raise ShapeError(f"the YOLO {what} must have shape (N, A·(5 + C), S, S) = (N, {channels}, S, S) for "
                         f"{num_anchors} anchors and {num_classes} classes; got shape {tuple(shape)}")
    return shape[0], shape[2], shape[3]


def _per_anchor(output, num_anchors):
    """(N, A·(5+C), S, S) → (N, A, S, S, 5+C): one row of 5 + C numbers per anchor and cell."""
    n, channels, h, w = output.shape
    return output.reshape(n, num_anchors, channels // num_anchors, h, w).permute(0, 1, 3, 4, 2)


def decode_yolo_output(output, anchors, stride, num_classes):
    """The boxes and class confidences a head output predicts (formulas in the module's docstring).

    Args:
        output: (N, A·(5 + C), S_h, S_w), a Tensor or an array.
        anchors: (A, 2) anchor (width, height) in pixels of the input image.
        stride: input pixels per grid cell (the input is S·stride pixels wide).

    Returns:
        boxes: (N, A·S_h·S_w, 4) xyxy in pixels, ordered anchor by anchor, then row by row;
        confidences: (N, A·S_h·S_w, C), σ(objectness) · softmax(class logits).
    """
    anchors = as_anchors(anchors)
    _check_positive(stride, "stride")
    out = _array(output)
    n, sh, sw = _head_shape(out.shape, len(anchors), num_classes)
    p = out.reshape(n, len(anchors), 5 + num_classes, sh, sw).transpose(0, 1, 3, 4, 2)  # (N, A, S, S, 5+C)
    cy, cx = np.meshgrid(np.arange(sh), np.arange(sw), indexing="ij")
    centre_x = (sigmoid_array(p[..., 0]) + cx) * stride
    centre_y = (sigmoid_array(p[..., 1]) + cy) * stride
    # exp of a wild logit overflows to inf: clip at e^10 (22,000 × the anchor), far past any real box
    width = anchors[:, 0, None, None] * np.exp(np.minimum(p[..., 2], 10.0))
    height = anchors[:, 1, None, None] * np.exp(np.minimum(p[..., 3], 10.0))
    boxes = np.stack([centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2],
                     axis=-1)
    confidences = sigmoid_array(p[..., 4:5]) * softmax_array(p[..., 5:])
    return (boxes.reshape(n, -1, 4).astype(out.dtype, copy=False),
            confidences.reshape(n, -1, num_classes).astype(out.dtype, copy=False))


def shape_iou(wh1, wh2):
    """IoU of boxes of sizes ``wh1`` (N, 2) and ``wh2`` (M, 2) put on a common centre: (N, M).
    What YOLO compares to choose a box's anchor, and the distance of the anchors' k-means (1 − IoU)."""
    inter = np.minimum(wh1[:, None, 0], wh2[None, :, 0]) * np.minimum(wh1[:, None, 1], wh2[None, :, 1])
    return inter / (wh1[:, None].prod(-1) + wh2[None, :].prod(-1) - inter)


def yolo_targets(boxes_list, labels_list, anchors, stride, grid_size, num_classes):
    """The training target of each grid cell and anchor, for N images.

    Each ground-truth box is assigned to the cell holding its centre and to the anchor of best shape
    IoU (module docstring). Two boxes that fall on the same cell and anchor cannot both be predicted
    there: the later one in the list keeps the slot (rare when items overlap by IoU ≤ 0.3).

    Args:
        boxes_list: N arrays (k_n, 4), xyxy in pixels; labels_list: N arrays (k_n,) of class indices.
        anchors: (A, 2) in pixels; stride: pixels per cell; grid_size: S, or (S_h, S_w).

    Returns:
        float32 (N, A, S_h, S_w, 6), the fields of :data:`TARGET_FIELDS`.
    """
    anchors = as_anchors(anchors)
    _check_positive(stride, "stride")
    sh, sw = (grid_size, grid_size) if np.isscalar(grid_size) else tuple(grid_size)
    for s in (sh, sw):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0:
            raise ConfigError(f"grid_size must be a positive integer or a pair of them, got {grid_size!r}")
    if len(boxes_list) != len(labels_list):
        raise ShapeError(f"yolo_targets: {len(boxes_list)} box arrays but {len(labels_list)} label arrays; give one "
                         "of each per image")
    targets = np.zeros((len(boxes_list), len(anchors), sh, sw, len(TARGET_FIELDS)), dtype=np.float32)
    image, boxes, labels = _gather(boxes_list, labels_list, num_classes)
    if not len(boxes):
        return targets
    wh = boxes[:, 2:] - boxes[:, :2]
    if (wh <= 0).any():
        row = int(np.argmax((wh <= 0).any(axis=1)))
        raise ShapeError(f"yolo_targets: every box needs x2 > x1 and y2 > y1; box {boxes[row].tolist()} is empty")
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 / stride             # in grid units
    j = np.clip(np.floor(centre[:, 0]).astype(np.int64), 0, sw - 1)  # a centre on the far edge: the last cell
    i = np.clip(np.floor(centre[:, 1]).astype(np.int64), 0, sh - 1)
    a = np.argmax(shape_iou(wh, anchors), axis=1)
    targets[image, a, i, j] = np.stack(
        [np.ones(len(boxes)), centre[:, 0] - j, centre[:, 1] - i,
         np.log(wh[:, 0] / anchors[a, 0]), np.log(wh[:, 1] / anchors[a, 1]), labels], axis=1)
    return targets


def _gather(boxes_list, labels_list, num_classes):
    """All boxes of all images in one array, with the image each belongs to; checked."""
    image, boxes, labels = [], [], []
    for n, (b, c) in enumerate(zip(boxes_list, labels_list)):
        b, c = np.asarray(_array(b), dtype=np.float64), _array(c)
        if b.size == 0:
            b = b.reshape(0, 4)  # an image without boxes may come as [] or an empty (0,) array
        if b.ndim != 2 or b.shape[1] != 4 or c.shape != (len(b),):
            raise ShapeError(f"yolo_targets: image {n} must have boxes (k, 4) and labels (k,); got shapes "
                             f"{b.shape} and {c.shape}")
        if len(c) and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() >= num_classes):
            raise ShapeError(f"yolo_targets: image {n} has labels {c.tolist()}; they must be integers in "
                             f"[0, {num_classes})")
        image.append(np.full(len(b), n))
        boxes.append(b)
        labels.append(c)
    if not boxes:
        return np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(image), np.concatenate(boxes), np.concatenate(labels).astype(np.float64)


def yolo_loss(output, targets):
    """The YOLO loss of a head output against :func:`yolo_targets`' targets, summed over cells and
    anchors and averaged over the N images::

        loss = (1/N) · [ λ_coord · Σ_obj ((σ(tx) − tx*)² + (σ(ty) − ty*)² + (tw − tw*)² + (th − th*)²)
                       + λ_obj · Σ_obj BCE(objectness, 1) + λ_noobj · Σ_noobj BCE(objectness, 0)
                       + λ_class · Σ_obj CE(class logits, class) ]

    Σ_obj runs over the (cell, anchor) slots holding a box, Σ_noobj over all others; BCE is binary
    cross-entropy on the objectness logit, CE softmax cross-entropy. The weights are
    :data:`COORD_WEIGHT` = 5, :data:`OBJECT_WEIGHT` = :data:`NO_OBJECT_WEIGHT` = :data:`CLASS_WEIGHT` = 1.
    The offsets are compared after the sigmoid (they are fractions of a cell), the sizes as logs
    (an error of 10% costs the same for a small box as for a large one).

    Shapes: output (N, A·(5 + C), S, S) Tensor; targets (N, A, S, S, 6) array. Returns a scalar Tensor.
    """
    t = _array(targets)
    if t.ndim != 5 or t.shape[-1] != len(TARGET_FIELDS):
        raise ShapeError(f"yolo_loss: targets must have shape (N, A, S, S, {len(TARGET_FIELDS)}) as yolo_targets "
                         f"makes them; got shape {t.shape}")
    n, num_anchors, sh, sw, _ = t.shape
    output = output if isinstance(output, Tensor) else Tensor(output)
    channels = output.shape[1] if output.ndim == 4 else 0
    if channels % num_anchors or channels // num_anchors <= 5 or output.shape != (n, channels, sh, sw):
        raise ShapeError(f"yolo_loss: output must have shape (N, A·(5 + C), S, S) with N = {n}, A = {num_anchors}, "
                         f"S = {sh}×{sw} as in the targets; got shape {output.shape}")
    p = _per_anchor(output, num_anchors)                                 # (N, A, S, S, 5 + C)
    is_object = t[..., 0]
    weight = np.where(is_object > 0, OBJECT_WEIGHT, NO_OBJECT_WEIGHT).astype(output.dtype)
    loss = losses.binary_cross_entropy_with_logits(p[..., 4], is_object.astype(output.dtype), weight,
                                                   reduction="sum")
    where = np.nonzero(is_object > 0)
    if len(where[0]):
        found = p[where]                                                 # (P, 5 + C): the slots holding a box
        goal = t[where].astype(output.dtype)
        offsets = ((sigmoid(found[:, 0:2]) - goal[:, 1:3]) ** 2).sum()
        sizes = ((found[:, 2:4] - goal[:, 3:5]) ** 2).sum()
        classes = losses.cross_entropy(found[:, 5:], goal[:, 5].astype(np.int64), reduction="sum")
        loss = loss + COORD_WEIGHT * (offsets + sizes) + CLASS_WEIGHT * classes
    return loss / n


def postprocess(output, anchors, stride, num_classes, conf_threshold=0.25, iou_threshold=0.45, max_detections=100,
                image_size=None):
    """Detections from a head output: decode, keep each box's best class when its confidence is above
    ``conf_threshold``, clip to the image, non-maximum suppression per class (``batched_nms``), and the
    ``max_detections`` highest scores.

    ``image_size`` (height, width) defaults to the grid's extent, S·stride.
    Returns one dict per image: ``{"boxes": (k, 4) xyxy, "scores": (k,), "labels": (k,) int64}``, by
    decreasing score (what :func:`~gradwork.vision.detection_metrics.mean_average_precision` takes).
    """
    from gradwork.vision.boxes import batched_nms, clip_boxes_to_image

    for value, name in ((conf_threshold, "conf_threshold"), (iou_threshold, "iou_threshold")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"postprocess: {name} must be a number in [0, 1], got {value!r}")
    if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections <= 0:
        raise ConfigError(f"postprocess: max_detections must be a positive integer, got {max_detections!r}")
    boxes, confidences = decode_yolo_output(output, anchors, stride, num_classes)
    if image_size is None:
        image_size = (output.shape[2] * stride, output.shape[3] * stride)
    labels, scores = confidences.argmax(axis=-1), confidences.max(axis=-1)
    detections = []
    for b, s, c in zip(boxes, scores, labels):
        keep = s > conf_threshold
        b, s, c = clip_boxes_to_image(b[keep], image_size), s[keep], c[keep]
        keep = batched_nms(b, s, c, iou_threshold)[:max_detections]
        detections.append({"boxes": b[keep], "scores": s[keep], "labels": c[keep].astype(np.int64)})
    return detections


def kmeans_anchors(sizes, k, iterations=100):
    """``k`` anchor sizes by k-means on box sizes with the distance d = 1 − shape IoU (YOLOv2's
    "dimension clusters": a Euclidean distance would let large boxes dominate).

    Deterministic: the clusters start at the sizes of the boxes at the quantiles (i + ½)/k of area.
    Each step assigns every box to the nearest anchor and moves each anchor to the median size of
    its boxes, until nothing changes. Returns (k, 2) (width, height) by increasing area.
    """
    wh = np.asarray(_array(sizes), dtype=np.float64)
    if wh.ndim != 2 or wh.shape[1] != 2 or not (np.isfinite(wh).all() and (wh > 0).all()):
        raise ShapeError(f"kmeans_anchors: sizes must be positive (width, height) pairs, shape (n, 2); got "
                         f"shape {wh.shape}")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= len(wh):
        raise ConfigError(f"kmeans_anchors: k must be an integer from 1 to the {len(wh)} sizes given, got {k!r}")
    by_area = wh[np.argsort(wh.prod(axis=1), kind="stable")]
    anchors = by_area[((np.arange(k) + 0.5) / k * len(wh)).astype(int)]
    assignment = None
    for _ in range(iterations):
        new = np.argmax(shape_iou(wh, anchors), axis=1)
        if assignment is not None and (new == assignment).all():
            break
        assignment = new
        anchors = np.stack([np.median(wh[assignment == c], axis=0) if (assignment == c).any() else anchors[c]
                            for c in range(k)])
    return anchors[np.argsort(anchors.prod(axis=1), kind="stable")]


def letterbox(image, size):
    """Resize ``image`` to fit in ``size`` keeping its aspect ratio, and pad the rest with grey 128 —
    how YOLO feeds images of any shape to a network of fixed input size, without distorting them.

    Args:
        image: uint8 (H, W) or (H, W, channels), as Pillow and image files give it.
        size: the output's side (an int) or (height, width).

    Returns:
        ``(boxed, scale, (pad_x, pad_y))``: the letterboxed uint8 image (height, width[, channels]), and
        how a point of the input maps to it, x' = x·scale + pad_x, y' = y·scale + pad_y (undo it for
        predicted boxes with :func:`unletterbox_boxes`).
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) == 0:
        raise ShapeError(f"letterbox: image must be uint8 of shape (H, W) or (H, W, channels), as read by Pillow; "
                         f"got {image.dtype} of shape {image.shape} (convert floats in [0, 1] with "
                         "(image * 255).round().astype(np.uint8))")
    height, width = (size, size) if np.ndim(size) == 0 else tuple(size) if len(size) == 2 else (None, None)
    for value in (height, width):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ConfigError(f"letterbox: size must be a positive integer or a (height, width) pair of them, "
                              f"got {size!r}")
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.BILINEAR))
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    boxed = np.full((height, width) + image.shape[2:], GREY, dtype=np.uint8)
    boxed[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized.reshape((new_h, new_w) + image.shape[2:])
    return boxed, scale, (pad_x, pad_y)


def unletterbox_boxes(boxes, scale, offset):
    """Boxes (k, 4) xyxy found on a letterboxed image, back in the original image's pixels:
    x = (x' − pad_x) / scale, y = (y' − pad_y) / scale."""
    boxes = np.asarray(_array(boxes), dtype=np.float64)
    pad_x, pad_y = offset
    return (boxes - np.array([pad_x, pad_y, pad_x, pad_y])) / scale
