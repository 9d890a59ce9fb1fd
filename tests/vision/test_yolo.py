"""The one-scale YOLO head: decoding by hand, target assignment, the loss (gradient-checked, and falling as a
tiny detector overfits), post-processing, k-means anchors and letterboxing."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork.data.detection import DetectionCanvases
from gradwork.errors import ConfigError, ShapeError
from gradwork.models.detector import SpaceToDepth, TinyYOLO
from gradwork.tools.gradcheck import gradcheck
from gradwork.vision import yolo

ANCHORS = np.array([[14.0, 24.0], [30.0, 16.0], [37.0, 40.0]])


def logit(p):
    return math.log(p / (1 - p))


def head(num_anchors, num_classes, size, slots=None, fill=-20.0):
    """A head output (1, A·(5+C), S, S) whose objectness logits are all ``fill`` (no object), with
    ``slots = {(a, i, j): [tx, ty, tw, th, obj, class logits…]}`` written in."""
    out = np.zeros((1, num_anchors, 5 + num_classes, size, size))
    out[:, :, 4] = fill
    for (a, i, j), values in (slots or {}).items():
        out[0, a, :, i, j] = values
    return out.reshape(1, -1, size, size)


# ------------------------------------------------------------------ decoding

def test_decode_gives_the_hand_computed_box_and_confidences():
    # cell (row 1, column 0), stride 10, anchor 20×10 px: σ(0) = ½, σ(ln 3) = ¾
    out = head(1, 2, 2, {(0, 1, 0): [0.0, math.log(3), math.log(2), 0.0, 0.0, math.log(3), 0.0]})
    boxes, conf = yolo.decode_yolo_output(out, [[20.0, 10.0]], stride=10, num_classes=2)
    assert boxes.shape == (1, 4, 4) and conf.shape == (1, 4, 2)
    # bx = (½ + 0)·10 = 5, by = (¾ + 1)·10 = 17.5, bw = 20·e^{ln 2} = 40, bh = 10·e^0 = 10
    np.testing.assert_allclose(boxes[0, 2], [5 - 20, 17.5 - 5, 5 + 20, 17.5 + 5])
    # σ(0) · softmax(ln 3, 0) = ½ · (¾, ¼)
    np.testing.assert_allclose(conf[0, 2], [0.375, 0.125])


def test_decode_reads_each_anchor_from_its_own_channels_in_anchor_row_column_order():
    out = head(2, 1, 3, {(1, 2, 1): [0.0, 0.0, 0.0, 0.0, 5.0, 0.0]})
    boxes, conf = yolo.decode_yolo_output(out, [[10.0, 10.0], [8.0, 30.0]], stride=4, num_classes=1)
    best = int(np.argmax(conf[0, :, 0]))
    assert best == 1 * 9 + 2 * 3 + 1  # anchor 1, row 2, column 1
    np.testing.assert_allclose(boxes[0, best], [6 - 4, 10 - 15, 6 + 4, 10 + 15])  # centre (1.5·4, 2.5·4), anchor 8×30


def test_decode_refuses_an_output_with_the_wrong_number_of_channels():
    with pytest.raises(ShapeError, match=r"\(N, 30, S, S\) for 2 anchors and 10 classes"):
        yolo.decode_yolo_output(np.zeros((1, 29, 4, 4)), ANCHORS[:2], 8, 10)


# ------------------------------------------------------------------ targets

def test_targets_put_each_box_in_the_cell_of_its_centre_and_the_anchor_of_its_shape():
    boxes = [np.array([[-2.0, 19.0, 28.0, 35.0],      # centre (13, 27), 30×16: cell (3, 1), the wide anchor
                       [40.0, 8.0, 52.0, 32.0]]),     # centre (46, 20), 12×24: cell (2, 5), the tall anchor
             np.zeros((0, 4))]                        # an image without objects
    targets = yolo.yolo_targets(boxes, [np.array([7, 2]), np.array([], dtype=np.int64)], ANCHORS, stride=8,
                                grid_size=8, num_classes=10)
    assert targets.shape == (2, 3, 8, 8, 6) and targets.dtype == np.float32
    np.testing.assert_allclose(targets[0, 1, 3, 1], [1, 13 / 8 - 1, 27 / 8 - 3, 0, 0, 7], atol=1e-6)
    np.testing.assert_allclose(targets[0, 0, 2, 5], [1, 46 / 8 - 5, 20 / 8 - 2, math.log(12 / 14), 0, 2], rtol=1e-6)
    assert targets[..., 0].sum() == 2  # nothing else is an object


def test_decoding_the_targets_gives_back_the_boxes():
    boxes = np.array([[3.0, 5.0, 40.0, 25.0], [50.0, 41.0, 70.0, 90.0]])
    targets = yolo.yolo_targets([boxes], [np.array([1, 0])], ANCHORS, 8, 12, 2)
    t = targets[0]
    out = np.zeros((1, 3, 7, 12, 12))
    out[0, :, 4] = np.where(t[..., 0] > 0, 10.0, -10.0)
    out[0, :, 0] = np.vectorize(logit)(np.clip(t[..., 1], 1e-6, 1 - 1e-6))
    out[0, :, 1] = np.vectorize(logit)(np.clip(t[..., 2], 1e-6, 1 - 1e-6))
    out[0, :, 2], out[0, :, 3] = t[..., 3], t[..., 4]
    found, conf = yolo.decode_yolo_output(out.reshape(1, 21, 12, 12), ANCHORS, 8, 2)
    objects = conf[0].sum(axis=1) > 0.5  # σ(objectness) · Σ softmax = σ(objectness)
    np.testing.assert_allclose(np.sort(found[0, objects], axis=0), np.sort(boxes, axis=0), atol=1e-4)


def test_targets_refuse_labels_out_of_range_and_empty_boxes():
    with pytest.raises(ShapeError, match=r"integers in \[0, 3\)"):
        yolo.yolo_targets([np.array([[0.0, 0, 10, 10]])], [np.array([3])], ANCHORS, 8, 4, 3)
    with pytest.raises(ShapeError, match="x2 > x1"):
        yolo.yolo_targets([np.array([[5.0, 0, 5, 10]])], [np.array([0])], ANCHORS, 8, 4, 3)


# ------------------------------------------------------------------ the loss

def small_case(rng, num_classes=3, size=3):
    boxes = [np.array([[1.0, 2.0, 15.0, 20.0], [10.0, 3.0, 22.0, 9.0]]), np.array([[4.0, 4.0, 20.0, 23.0]])]
    targets = yolo.yolo_targets(boxes, [np.array([0, 2]), np.array([1])], ANCHORS[:2] / 2, 8, size, num_classes)
    output = rng.standard_normal((2, 2 * (5 + num_classes), size, size))
    return output, targets


def test_yolo_loss_is_gradient_checked_in_float64(rng):
    output, targets = small_case(rng)
    assert targets[..., 0].sum() == 3
    report = gradcheck(lambda o: yolo.yolo_loss(o, targets), [gw.tensor(output, requires_grad=True)])
    assert report.max_error < 1e-7, str(report)


def test_yolo_loss_is_the_documented_sum(rng):
    output, targets = small_case(rng)
    p = output.reshape(2, 2, 8, 3, 3).transpose(0, 1, 3, 4, 2)
    obj = targets[..., 0] > 0
    bce = np.logaddexp(0, p[..., 4]) - targets[..., 0] * p[..., 4]           # BCE with logits
    sig = 1 / (1 + np.exp(-p[obj][:, :2]))
    coords = ((sig - targets[obj][:, 1:3]) ** 2).sum() + ((p[obj][:, 2:4] - targets[obj][:, 3:5]) ** 2).sum()
    logits = p[obj][:, 5:]
    ce = (np.log(np.exp(logits).sum(1)) - logits[np.arange(3), targets[obj][:, 5].astype(int)]).sum()
    expected = (bce.sum() + 5 * coords + ce) / 2
    assert yolo.yolo_loss(gw.tensor(output), targets).item() == pytest.approx(expected, rel=1e-9)


def test_yolo_loss_refuses_targets_that_do_not_fit_the_output(rng):
    output, targets = small_case(rng)
    with pytest.raises(ShapeError, match="S = 3×3"):
        yolo.yolo_loss(gw.tensor(output[:, :, :2, :2]), targets)


def toy_canvases(count, seed=0):
    """Canvases of bright rectangles of 3 kinds (tall, wide, square): data any test can make."""
    rng = np.random.default_rng(seed)
    items = np.zeros((30, 12, 12), dtype=np.float32)
    labels = np.arange(30) % 3
    for n, kind in enumerate(labels):
        h, w = [(12, 5), (5, 12), (9, 9)][kind]
        items[n, :h, :w] = rng.uniform(0.5, 1.0, (h, w))
    return DetectionCanvases(items, labels, count, seed=seed, canvas_size=48, min_size=12, max_size=24, max_items=3)


def test_the_loss_falls_as_a_tiny_detector_overfits_eight_canvases():
    canvases = toy_canvases(8)
    model = TinyYOLO(ANCHORS / 2, num_classes=3, patch=4, widths=(16, 16), head_blocks=1)
    targets = yolo.yolo_targets(canvases.boxes, canvases.labels, ANCHORS / 2, model.stride, 6, 3)
    optimizer = gw.optim.Adam(model.parameters(), lr=0.01)
    x = gw.tensor(canvases.images)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = yolo.yolo_loss(model(x), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 4, losses[::10]


def test_the_detector_starts_with_the_object_prior_and_has_stride_eight():
    model = TinyYOLO(ANCHORS, num_classes=10)
    out = model(gw.tensor(np.zeros((2, 1, 96, 96), dtype=np.float32)))
    assert out.shape == (2, 3 * 15, 12, 12) and out.dtype == np.float32 and model.stride == 8
    _, conf = yolo.decode_yolo_output(out, ANCHORS, 8, 10)
    np.testing.assert_allclose(conf.sum(axis=-1), 0.01, rtol=1e-4)  # σ(objectness) starts at the prior
    np.testing.assert_array_equal(model.state_dict()["anchors"], ANCHORS.astype(np.float32))


def test_space_to_depth_moves_each_patch_into_channels_as_pixel_unshuffle_does():
    x = np.arange(2 * 2 * 4 * 6, dtype=np.float64).reshape(2, 2, 4, 6)
    y = SpaceToDepth(2)(gw.tensor(x)).data
    assert y.shape == (2, 8, 2, 3)
    # channel c·r² + i·r + j, cell (h, w) holds pixel (h·r + i, w·r + j) of channel c
    np.testing.assert_array_equal(y[1, 1 * 4 + 1 * 2 + 0, 1, 2], x[1, 1, 1 * 2 + 1, 2 * 2 + 0])
    assert sorted(y.ravel()) == sorted(x.ravel())
    with pytest.raises(ConfigError, match="multiples of 4"):
        SpaceToDepth(4)(gw.tensor(x))


# ------------------------------------------------------------------ post-processing

def test_postprocess_thresholds_and_keeps_one_box_per_object_and_class():
    strong = [0.0, 0.0, 0.0, 0.0, 4.0, 3.0, 0.0]      # class 0 at confidence σ(4)·softmax ≈ 0.93
    out = head(1, 2, 4, {(0, 1, 1): strong,
                         (0, 1, 2): [-2.0, 0.0, 0.0, 0.0, 3.0, 3.0, 0.0],   # the same object one cell over: IoU 0.53
                         (0, 3, 3): [0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 3.0],    # class 1 elsewhere: kept
                         (0, 0, 3): [0.0, 0.0, 0.0, 0.0, -3.0, 3.0, 0.0]})  # below the threshold
    found = yolo.postprocess(out, [[16.0, 16.0]], stride=8, num_classes=2, conf_threshold=0.25, iou_threshold=0.45)
    assert len(found) == 1
    np.testing.assert_array_equal(found[0]["labels"], [0, 1])
    np.testing.assert_allclose(found[0]["boxes"][0], [4, 4, 20, 20], atol=1e-5)
    np.testing.assert_allclose(found[0]["boxes"][1], [20, 20, 32, 32], atol=1e-5)  # clipped to the 32×32 image
    assert found[0]["scores"][0] > found[0]["scores"][1]


def test_postprocess_refuses_thresholds_outside_zero_one():
    with pytest.raises(ConfigError, match="conf_threshold"):
        yolo.postprocess(head(1, 2, 2), [[8.0, 8.0]], 8, 2, conf_threshold=1.5)


# ------------------------------------------------------------------ anchors by k-means

def test_kmeans_finds_the_two_box_shapes_of_the_data():
    rng = np.random.default_rng(0)
    tall = np.column_stack([rng.uniform(9, 11, 50), rng.uniform(29, 31, 50)])
    wide = np.column_stack([rng.uniform(39, 41, 50), rng.uniform(19, 21, 50)])
    anchors = yolo.kmeans_anchors(np.concatenate([tall, wide]), 2)
    np.testing.assert_allclose(anchors, [[10, 30], [40, 20]], atol=0.5)


# ------------------------------------------------------------------ letterbox

def test_letterbox_keeps_the_aspect_ratio_and_pads_with_grey_128():
    image = np.full((50, 100), 200, dtype=np.uint8)                 # twice as wide as high
    boxed, scale, (pad_x, pad_y) = yolo.letterbox(image, 64)
    assert boxed.shape == (64, 64) and boxed.dtype == np.uint8
    assert scale == 0.64 and (pad_x, pad_y) == (0, 16)
    assert (boxed[:16] == 128).all() and (boxed[48:] == 128).all()  # grey bands above and below
    assert (boxed[16:48] == 200).all()                                # the image, 64 × 32: still 2 to 1


def test_letterbox_maps_boxes_back_to_the_original_image():
    image = np.zeros((90, 30, 3), dtype=np.uint8)
    boxed, scale, offset = yolo.letterbox(image, (60, 80))
    assert boxed.shape == (60, 80, 3) and (boxed[:, :30] == 128).all()
    assert offset == (30, 0) and scale == pytest.approx(2 / 3)
    np.testing.assert_allclose(yolo.unletterbox_boxes([[30.0, 0.0, 50.0, 60.0]], scale, offset), [[0, 0, 30, 90]])


def test_letterbox_refuses_float_images_and_says_how_to_convert():
    with pytest.raises(ShapeError, match=r"astype\(np.uint8\)"):
        yolo.letterbox(np.zeros((10, 10)), 32)


@pytest.mark.parametrize("size", [0, 32.5, (10, 20, 30), (10, -1)])
def test_letterbox_refuses_a_size_that_is_not_positive_integers(size):
    with pytest.raises(ConfigError, match="size must be a positive integer"):
        yolo.letterbox(np.zeros((10, 10), dtype=np.uint8), size)
