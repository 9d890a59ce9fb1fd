"""Box utilities against hand-computed values: areas, IoU of known boxes, format conversions, NMS on
hand-made clusters (and against a plain double-loop NMS on random boxes), per-class NMS, clipping,
and gradwork's errors for boxes that are not boxes."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.errors import ConfigError, ShapeError
from gradwork.vision.boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    nms,
    remove_small_boxes,
)


def random_boxes(n, rng, low=0.0, high=50.0):
    corners = rng.uniform(low, high, size=(n, 2))
    sizes = rng.uniform(1.0, 20.0, size=(n, 2))
    return np.concatenate([corners, corners + sizes], axis=1)


def loop_nms(boxes, scores, thr):
    """The textbook NMS, one pair at a time: the specification the vectorised one must meet."""
    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep, removed = [], set()
    for pos, i in enumerate(order):
        if i in removed:
            continue
        keep.append(i)
        for j in order[pos + 1:]:
            if j not in removed and iou(boxes[i], boxes[j]) > thr:
                removed.add(j)
    return keep


def test_box_area_is_width_times_height():
    np.testing.assert_allclose(box_area([[0, 0, 2, 3], [1, 1, 1, 5], [-2, -1, 2, 1]]), [6, 0, 8])


def test_box_iou_of_known_boxes():
    a = [[0, 0, 2, 2]]
    b = [[1, 1, 3, 3],     # overlap 1, union 4 + 4 − 1 = 7
         [2, 0, 4, 2],     # touching edges: no area in common
         [0.5, 0.5, 1.5, 1.5],  # inside: 1 / 4
         [0, 0, 2, 2],     # the same box
         [5, 5, 6, 6]]     # far away
    iou = box_iou(a, b)
    assert iou.shape == (1, 5)
    np.testing.assert_allclose(iou[0], [1 / 7, 0, 1 / 4, 1, 0])
    # symmetric, (N, M) layout
    np.testing.assert_allclose(box_iou(b, a), iou.T)


def test_box_iou_keeps_float32_and_gives_zero_for_empty_unions():
    iou = box_iou(np.array([[0, 0, 1, 1]], np.float32), np.array([[0, 0, 1, 1], [0, 0, 0, 0]], np.float32))
    assert iou.dtype == np.float32
    np.testing.assert_array_equal(box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]]), [[0.0]])  # 0 / 0 → 0
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert box_iou([], [[0, 0, 1, 1]]).shape == (0, 1)  # an empty list is "no boxes"
    assert box_iou([[0, 0, 1, 1]], [[0, 0, 2, 2]]).dtype == np.float32  # integer lists → float32


def test_box_iou_accepts_gradwork_tensors():
    a = gw.tensor(np.array([[0.0, 0.0, 2.0, 2.0]]))
    np.testing.assert_allclose(box_iou(a, [[1, 1, 3, 3]]), [[1 / 7]])


def test_box_convert_known_values_and_round_trips():
    xyxy = np.array([[1.0, 2.0, 5.0, 8.0]])
    np.testing.assert_allclose(box_convert(xyxy, "xyxy", "xywh"), [[1, 2, 4, 6]])
    np.testing.assert_allclose(box_convert(xyxy, "xyxy", "cxcywh"), [[3, 5, 4, 6]])
    np.testing.assert_allclose(box_convert([[3, 5, 4, 6]], "cxcywh", "xyxy"), xyxy)
    np.testing.assert_allclose(box_convert([[1, 2, 4, 6]], "xywh", "xyxy"), xyxy)
    np.testing.assert_allclose(box_convert([[3, 5, 4, 6]], "cxcywh", "xywh"), [[1, 2, 4, 6]])
    boxes = random_boxes(20, np.random.default_rng(0))
    for fmt in ("xywh", "cxcywh", "xyxy"):
        back = box_convert(box_convert(boxes, "xyxy", fmt), fmt, "xyxy")
        np.testing.assert_allclose(back, boxes, rtol=1e-12)


def test_nms_on_a_hand_made_cluster():
    boxes = [[0, 0, 10, 10],    # 0: best of the cluster
             [1, 0, 11, 10],    # 1: IoU with 0 = 90 / 110 ≈ 0.82 → suppressed
             [20, 20, 30, 30],  # 2: alone → kept
             [0, 1, 10, 11],    # 3: IoU with 0 ≈ 0.82 → suppressed
             [5, 5, 15, 15]]    # 4: IoU with 0 = 25 / 175 ≈ 0.14 → kept
    scores = [0.9, 0.85, 0.7, 0.6, 0.3]
    keep = nms(boxes, scores, 0.5)
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, [0, 2, 4])
    np.testing.assert_array_equal(nms(boxes, scores, 0.9), [0, 1, 2, 3, 4])  # nothing above 0.9
    np.testing.assert_array_equal(nms(boxes, scores, 0.0), [0, 2])  # any overlap suppresses


def test_nms_suppresses_only_strictly_above_the_threshold():
    boxes = [[0, 0, 2, 1], [0, 0, 1, 1]]  # IoU exactly 1 / 2
    np.testing.assert_array_equal(nms(boxes, [0.9, 0.8], 0.5), [0, 1])
    np.testing.assert_array_equal(nms(boxes, [0.9, 0.8], 0.49), [0])


def test_nms_a_suppressed_box_suppresses_nothing():
    # A suppresses B (IoU 70/130 ≈ 0.54); B would suppress C, but C only meets A with IoU 40/160 = 0.25.
    boxes = [[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]]
    np.testing.assert_array_equal(nms(boxes, [0.9, 0.8, 0.7], 0.5), [0, 2])


def test_nms_returns_decreasing_score_order_and_handles_empty_input():
    boxes = [[0, 0, 1, 1], [10, 10, 11, 11], [20, 20, 21, 21]]
    np.testing.assert_array_equal(nms(boxes, [0.1, 0.9, 0.5], 0.5), [1, 2, 0])
    out = nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert out.shape == (0,) and out.dtype == np.int64


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_matches_the_double_loop_on_random_boxes(thr):
    rng = np.random.default_rng(1)
    boxes, scores = random_boxes(200, rng), rng.permutation(200) / 200.0
    np.testing.assert_array_equal(nms(boxes, scores, thr), loop_nms(boxes, scores, thr))


def test_batched_nms_only_suppresses_within_a_class():
    boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11]]
    scores = [0.9, 0.8, 0.7]
    np.testing.assert_array_equal(batched_nms(boxes, scores, [0, 0, 0], 0.5), [0])
    np.testing.assert_array_equal(batched_nms(boxes, scores, [0, 1, 1], 0.5), [0, 1])
    np.testing.assert_array_equal(batched_nms(boxes, scores, [0, 1, 2], 0.5), [0, 1, 2])
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).shape == (0,)


def test_batched_nms_equals_one_nms_per_class_even_with_negative_coordinates():
    rng = np.random.default_rng(2)
    boxes = random_boxes(300, rng, low=-100.0, high=30.0).astype(np.float32)
    scores, classes = rng.uniform(size=300), rng.integers(0, 4, size=300)
    expected = []
    for c in range(4):
        members = np.flatnonzero(classes == c)
        expected.extend(members[nms(boxes[members], scores[members], 0.5)])
    expected = sorted(expected, key=lambda i: -scores[i])
    np.testing.assert_array_equal(batched_nms(boxes, scores, classes, 0.5), expected)


def test_clip_boxes_to_image_uses_height_then_width():
    boxes = np.array([[-5, -5, 50, 50], [10, 10, 20, 20]], np.float32)
    out = clip_boxes_to_image(boxes, (30, 40))  # height 30, width 40
    np.testing.assert_array_equal(out, [[0, 0, 40, 30], [10, 10, 20, 20]])
    assert out.dtype == np.float32
    with pytest.raises(ConfigError, match=r"\(height, width\)"):
        clip_boxes_to_image(boxes, (30,))


def test_remove_small_boxes_keeps_boxes_at_least_min_size_wide_and_high():
    boxes = [[0, 0, 1, 5], [0, 0, 2, 2], [0, 0, 5, 1.5], [0, 0, 3, 3]]
    np.testing.assert_array_equal(remove_small_boxes(boxes, 2), [1, 3])


def test_bad_boxes_get_a_clear_error():
    with pytest.raises(ShapeError, match=r"shape \(N, 4\).*\[\[x1, y1, x2, y2\]\]"):
        box_area([0, 0, 1, 1])
    with pytest.raises(ShapeError, match=r"shape \(N, 4\)"):
        box_iou(np.zeros((2, 3)), np.zeros((1, 4)))
    with pytest.raises(ShapeError, match="boxes2 row 1 has x2 < x1"):
        box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1], [3, 0, 2, 1]])
    with pytest.raises(ShapeError, match="row 0 has x2 < x1 or y2 < y1"):
        nms([[0, 2, 1, 1]], [1.0], 0.5)
    with pytest.raises(ShapeError, match="row 1 holds a NaN"):
        nms([[0, 0, 1, 1], [0, np.nan, 1, 1]], [1.0, 0.5], 0.5)
    with pytest.raises(ShapeError, match="negative width or height"):
        box_convert([[0, 0, -1, 1]], "xywh", "xyxy")


def test_bad_scores_formats_and_classes_get_a_clear_error():
    boxes = [[0, 0, 1, 1], [1, 1, 2, 2]]
    with pytest.raises(ShapeError, match=r"scores must have shape \(2,\)"):
        nms(boxes, [0.5], 0.5)
    with pytest.raises(ShapeError, match=r"idxs must have shape \(2,\)"):
        batched_nms(boxes, [0.5, 0.4], [0, 1, 2], 0.5)
    with pytest.raises(ConfigError, match="unknown box format 'yxyx'.*'cxcywh'"):
        box_convert(boxes, "xyxy", "yxyx")
    with pytest.raises(ValueError):  # gradwork's errors are ValueErrors
        box_convert(boxes, "xywhc", "xyxy")
