"""A detection data set made from a classification one: items pasted onto blank canvases, each with
its box and class.

Each canvas (96×96 by default) holds 1 to 4 items. An item is one image of the source data set
(Fashion-MNIST in ``gradwork detect train``; any (images, labels) arrays in tests), cut to the
bounding box of its non-zero pixels, resized so that its longer side is ``min_size``…``max_size``
pixels (aspect ratio kept, Pillow's bilinear filter), cut to its non-zero pixels again (resizing
moves the edges), and pasted at a random position. A new item whose box overlaps an item already
on the canvas by IoU > ``max_iou`` is moved (20 tries, then left out), so every item stays visible;
where two items do overlap the brighter pixel wins (``max``). The boxes are therefore tight: the
first and last rows and columns of each box hold pixels of its item.

Everything is drawn from a generator of its own, seeded by ``seed``: the same arguments give the
same canvases, whatever gradwork's global seed is.

Boxes are ``(x1, y1, x2, y2)`` in pixels of the canvas, ``x2 = x1 + width`` (torchvision's xyxy: a box
covering pixel columns 10…19 is x1 = 10, x2 = 20).
"""
import numpy as np

from gradwork.data.dataset import Dataset
from gradwork.errors import ConfigError, ShapeError

CANVAS_SIZE = 96
ITEM_SIZES = (20, 48)  # the longer side of an item, in pixels, drawn uniformly
MAX_ITEMS = 4
MAX_IOU = 0.3
PLACEMENT_TRIES = 20
#: Pixels fainter than this after resizing are set to 0: they would round to 0 in an 8-bit image,
#: and an almost invisible fringe would widen the box.
FAINT = 1 / 255


def _source_images(images, labels):
    """``images`` as float32 (N, H, W) in [0, 1] and ``labels`` as int64 (N,), checked."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ShapeError(f"detection canvases: images must be grey, of shape (N, H, W) or (N, 1, H, W); "
                         f"got shape {images.shape}")
    if labels.shape != (len(images),):
        raise ShapeError(f"detection canvases: labels must have shape ({len(images)},), one per image; "
                         f"got shape {labels.shape}")
    if len(images) == 0:
        raise ShapeError("detection canvases: there are no images to paste (the arrays are empty)")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ShapeError(f"detection canvases: labels must be non-negative integer class indices; got "
                         f"{labels.dtype} labels from {labels.min()} to {labels.max()}")
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255
    elif np.issubdtype(images.dtype, np.floating):
        if not (np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1):
            raise ShapeError("detection canvases: float images must hold values in [0, 1] (uint8 images are "
                             f"divided by 255); got values from {images.min()} to {images.max()}")
        images = images.astype(np.float32, copy=False)
    else:
        raise ShapeError(f"detection canvases: images must be uint8 (0–255) or floats in [0, 1], got {images.dtype}")
    return images, labels.astype(np.int64)


def _check_settings(count, canvas_size, min_size, max_size, max_items, max_iou):
    def positive_int(value, name):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ConfigError(f"detection canvases: {name} must be a positive integer, got {value!r}")
    for value, name in ((count, "count"), (canvas_size, "canvas_size"), (min_size, "min_size"),
                        (max_size, "max_size"), (max_items, "max_items")):
        positive_int(value, name)
    if not min_size <= max_size <= canvas_size:
        raise ConfigError(f"detection canvases: item sizes need min_size ≤ max_size ≤ canvas_size, got "
                          f"min_size={min_size}, max_size={max_size}, canvas_size={canvas_size}")
    if not 0 <= max_iou <= 1:
        raise ConfigError(f"detection canvases: max_iou must be in [0, 1], got {max_iou!r}")


def _tight(item):
    """``item`` (H, W) cut to the rows and columns holding non-zero pixels."""
    rows, cols = np.flatnonzero(item.any(axis=1)), np.flatnonzero(item.any(axis=0))
    return item[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _resized(item, longer_side):
    """``item`` resized so that its longer side is ``longer_side`` (aspect ratio kept), then cut tight."""
    from PIL import Image  # Pillow: imported only when canvases are made

    h, w = item.shape
    scale = longer_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow sizes are (width, height)
    out = np.asarray(Image.fromarray(item, mode="F").resize(size, Image.BILINEAR), dtype=np.float32)
    out = np.clip(out, 0, 1)
    brightest = np.unravel_index(np.argmax(out), out.shape)
    out[out < FAINT] = 0
    if not out.any():  # a faint item shrunk below visibility: keep its brightest point
        out[brightest] = FAINT
    return _tight(out)


def _area(boxes):
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _iou_with(box, boxes):
    """IoU of one box (4,) with each of ``boxes`` (k, 4). (``vision.boxes.box_iou`` computes the same, with
    checks; ``data`` sits below ``vision`` in the layers and does not import it.)"""
    boxes = np.asarray(boxes, dtype=np.float64)
    wh = np.clip(np.minimum(box[2:], boxes[:, 2:]) - np.maximum(box[:2], boxes[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    return inter / (_area(box) + _area(boxes) - inter)


def make_canvases(images, labels, count, *, canvas_size=CANVAS_SIZE, min_size=ITEM_SIZES[0],
                  max_size=ITEM_SIZES[1], max_items=MAX_ITEMS, max_iou=MAX_IOU, seed=0):
    """Paste items of ``images`` onto ``count`` blank canvases (see the module's docstring).

    Args:
        images: (N, H, W) or (N, 1, H, W), uint8 or floats in [0, 1]; labels: (N,) class indices.
        min_size, max_size: the range of an item's longer side, in pixels.
        max_items: each canvas holds 1 … max_items items (drawn uniformly; an item that finds no place
            within ``max_iou`` of the others is left out, so a few canvases hold fewer).
        seed: an int or a sequence of ints (NumPy's ``default_rng``): same seed, same canvases.

    Returns:
        canvases: float32 (count, canvas_size, canvas_size) in [0, 1];
        boxes: a list of ``count`` float32 arrays (k, 4), xyxy in pixels; labels: a list of int64 (k,).
    """
    _check_settings(count, canvas_size, min_size, max_size, max_items, max_iou)
    images, labels = _source_images(images, labels)
    visible = np.flatnonzero(images.reshape(len(images), -1).any(axis=1))
    if not len(visible):
        raise ShapeError("detection canvases: every image is blank (all pixels 0): there is nothing to paste")
    rng = np.random.default_rng(seed)
    canvases = np.zeros((count, canvas_size, canvas_size), dtype=np.float32)
    all_boxes, all_labels = [], []
    for canvas in canvases:
        boxes, classes = [], []
        for _ in range(rng.integers(1, max_items + 1)):
            index = visible[rng.integers(len(visible))]
            item = _resized(_tight(images[index]), int(rng.integers(min_size, max_size + 1)))
            h, w = item.shape
            for _ in range(PLACEMENT_TRIES):
                x, y = int(rng.integers(canvas_size - w + 1)), int(rng.integers(canvas_size - h + 1))
                box = np.array([x, y, x + w, y + h], dtype=np.float64)
                if not len(boxes) or _iou_with(box, boxes).max() <= max_iou:
                    break
            else:
                continue  # no room for this item: the canvas keeps the ones it has
            np.maximum(canvas[y:y + h, x:x + w], item, out=canvas[y:y + h, x:x + w])
            boxes.append(box)
            classes.append(labels[index])
        all_boxes.append(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
        all_labels.append(np.asarray(classes, dtype=np.int64))
    return canvases, all_boxes, all_labels


class DetectionCanvases(Dataset):
    """Canvases of pasted items as a data set: ``ds[i]`` is ``(image, target)`` with image float32
    (1, S, S) and target ``{"boxes": (k, 4) float32 xyxy pixels, "labels": (k,) int64}``, the form
    torchvision's detection models take.

    ``ds.images`` (count, 1, S, S), ``ds.boxes`` and ``ds.labels`` (lists) hold everything at once;
    ``get_batch(indices)`` gives the stacked images and the list of their targets. The keyword
    arguments are :func:`make_canvases`'s.
    """

    def __init__(self, images, labels, count, *, classes=None, **options):
        canvases, self.boxes, self.labels = make_canvases(images, labels, count, **options)
        self.images = canvases[:, None]
        self.classes = list(classes) if classes is not None else None

    def __len__(self):
        return len(self.images)

    def target(self, index):
        return {"boxes": self.boxes[index], "labels": self.labels[index]}

    def __getitem__(self, index):
        return self.images[index], self.target(index)

    def get_batch(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        return self.images[indices], [self.target(int(i)) for i in indices]


#: Where each split's canvases come from: the generator's seed is (run seed, split number), so training
#: and test canvases never repeat each other's layouts.
SPLITS = {"train": 0, "test": 1}


def detection_canvases(dataset, split, count, seed=0, **options):
    """``count`` canvases made from the ``split`` ("train" or "test") of a classification data set.

    ``dataset`` is a pair ``(train, test)`` of gradwork data sets of images and labels (what
    ``gradwork.data.datasets.load(name)`` returns), e.g. Fashion-MNIST. The classes' names, when the
    data set has them, go along (``ds.classes``).
    """
    if split not in SPLITS:
        raise ConfigError(f"detection canvases: split must be 'train' or 'test', got {split!r}")
    source = dataset[SPLITS[split]]
    images, labels = source.get_batch(np.arange(len(source)))
    return DetectionCanvases(images, labels, count, classes=getattr(source, "classes", None),
                             seed=(seed, SPLITS[split]), **options)
