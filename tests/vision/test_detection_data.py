"""Detection canvases: deterministic, 1–4 items, boxes inside the canvas and tight around their items,
items kept apart, any (images, labels) arrays accepted, bad input refused."""
import numpy as np
import pytest

from gradwork.data.dataset import ArrayDataset
from gradwork.data.detection import DetectionCanvases, detection_canvases, make_canvases
from gradwork.errors import ConfigError, ShapeError


def source(count=40, seed=0):
    """Grey 28×28 images, each a blob of random size and place (zeros around it), and labels 0–4."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.float32)
    for image in images:
        h, w = rng.integers(6, 28, size=2)
        y, x = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        image[y:y + h, x:x + w] = rng.uniform(0.2, 1.0, (h, w))
    return images, np.arange(count) % 5


def test_the_same_seed_gives_the_same_canvases_and_another_seed_others():
    images, labels = source()
    a, b, c = (make_canvases(images, labels, 20, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a[0], b[0])
    assert all((x == y).all() for x, y in zip(a[1], b[1])) and all((x == y).all() for x, y in zip(a[2], b[2]))
    assert not np.array_equal(a[0], c[0])


def test_canvases_hold_one_to_four_items_with_boxes_inside_the_canvas():
    images, labels = source()
    canvases, boxes, classes = make_canvases(images, labels, 200, seed=0)
    assert canvases.shape == (200, 96, 96) and canvases.dtype == np.float32
    counts = np.array([len(b) for b in boxes])
    assert counts.min() == 1 and counts.max() == 4 and set(counts) == {1, 2, 3, 4}
    every = np.concatenate(boxes)
    assert every.dtype == np.float32 and (every[:, :2] >= 0).all() and (every[:, 2:] <= 96).all()
    sizes = np.concatenate([b[:, 2:] - b[:, :2] for b in boxes])
    assert sizes.max() <= 48 and sizes.max(axis=1).min() >= 19  # the longer side is drawn in 20…48 (±1 at the edge)
    assert all(c.dtype == np.int64 and len(c) == len(b) for b, c in zip(boxes, classes))
    assert set(np.concatenate(classes)) <= set(labels)


def test_boxes_are_tight_and_nothing_lies_outside_them():
    images, labels = source()
    canvases, boxes, _ = make_canvases(images, labels, 100, seed=1)
    for canvas, canvas_boxes in zip(canvases, boxes):
        covered = np.zeros(canvas.shape, dtype=bool)
        for x1, y1, x2, y2 in canvas_boxes.astype(int):
            inside = canvas[y1:y2, x1:x2] > 0
            # the box's first and last rows and columns each hold a pixel of the item
            assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
            covered[y1:y2, x1:x2] = True
        assert not (canvas[~covered] > 0).any()


def test_items_overlap_by_at_most_the_iou_limit():
    from gradwork.vision.boxes import box_iou

    images, labels = source()
    _, boxes, _ = make_canvases(images, labels, 100, seed=2, max_iou=0.1)
    for b in boxes:
        iou = box_iou(b, b)
        assert (iou[~np.eye(len(b), dtype=bool)] <= 0.1 + 1e-6).all()


def test_a_single_item_canvas_shows_the_source_image_resized():
    image = np.zeros((1, 10, 10), dtype=np.uint8)
    image[0, 2:8, 3:6] = 255                       # a 6 × 3 bar, twice as high as wide, in uint8
    canvases, boxes, classes = make_canvases(image, [7], 5, max_items=1, min_size=30, max_size=30, seed=0)
    for canvas, (x1, y1, x2, y2) in zip(canvases, [b[0] for b in boxes]):
        assert (y2 - y1, x2 - x1) == (30, 15)     # longer side 30, aspect ratio kept
        assert canvas[int(y1):int(y2), int(x1):int(x2)].min() > 0.99
    assert [c.tolist() for c in classes] == [[7]] * 5


def test_the_dataset_returns_an_image_and_a_torchvision_style_target():
    images, labels = source()
    ds = DetectionCanvases(images[:, None], labels, 6, seed=0, classes="abcde")
    image, target = ds[2]
    assert len(ds) == 6 and image.shape == (1, 96, 96) and image.dtype == np.float32
    assert set(target) == {"boxes", "labels"} and target["boxes"].shape == (len(target["labels"]), 4)
    batch, targets = ds.get_batch([0, 2])
    assert batch.shape == (2, 1, 96, 96) and len(targets) == 2
    np.testing.assert_array_equal(targets[1]["boxes"], target["boxes"])
    assert ds.classes == list("abcde")


def test_canvases_of_a_split_come_from_that_split_and_carry_its_class_names():
    images, labels = source()
    train, test = ArrayDataset(images[:20, None], labels[:20]), ArrayDataset(np.ones((3, 1, 8, 8), np.float32),
                                                                             np.array([0, 1, 2]))
    train.classes = test.classes = list("abcde")
    canvases = detection_canvases((train, test), "test", 4)
    assert canvases.classes == list("abcde")
    assert all(set(b[:, 2] - b[:, 0]) == set(b[:, 3] - b[:, 1]) for b in canvases.boxes)  # square test items only
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        detection_canvases((train, test), "val", 4)


@pytest.mark.parametrize("images, labels, message", [
    (np.full((3, 8, 8), 2.0, np.float32), [0, 1, 2], r"values in \[0, 1\]"),
    (np.ones((3, 8, 8), np.float32), [0, 1], r"labels must have shape \(3,\)"),
    (np.ones((3, 3, 8, 8), np.float32), [0, 1, 2], "must be grey"),
    (np.zeros((3, 8, 8), np.float32), [0, 1, 2], "every image is blank"),
    (np.ones((3, 8, 8), np.float32), [0, -1, 2], "non-negative integer"),
])
def test_bad_source_images_are_refused_with_a_clear_error(images, labels, message):
    with pytest.raises(ShapeError, match=message):
        make_canvases(images, np.asarray(labels), 2)


def test_bad_settings_are_refused():
    images, labels = source(5)
    with pytest.raises(ConfigError, match="min_size ≤ max_size ≤ canvas_size"):
        make_canvases(images, labels, 2, min_size=50, max_size=40)
    with pytest.raises(ConfigError, match="count must be a positive integer"):
        make_canvases(images, labels, 0)
