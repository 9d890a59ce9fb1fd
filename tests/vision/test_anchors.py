"""SSD anchors against hand-computed values and d2l's published outputs: the anchors of a tiny 2×2
map, anchor–ground-truth matching, the offset encoding (and that decoding inverts it), the training
targets of a batch, and detection with per-class NMS."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.errors import ConfigError, ShapeError
from gradwork.vision.anchors import (
    assign_anchor_to_bbox,
    detections_to_dicts,
    multibox_detection,
    multibox_prior,
    multibox_target,
    offset_boxes,
    offset_inverse,
)

R2 = np.sqrt(2.0)

# d2l's labelling example ("Anchor Boxes", labelling anchors in training data): a dog and a cat.
D2L_GT = np.array([[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]])
D2L_ANCHORS = np.array([[0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
                        [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]])


def test_anchors_of_a_2x2_map_by_hand():
    anchors = multibox_prior((2, 2), sizes=[0.5, 0.25], ratios=[1, 2, 0.5])
    assert anchors.shape == (1, 2 * 2 * 4, 4) and anchors.dtype == np.float32   # n + m − 1 = 4 per cell
    cells = anchors.reshape(2, 2, 4, 4)
    # cell (row 0, column 0), centre (0.25, 0.25): (s=.5, r=1), (s=.25, r=1), (s=.5, r=2), (s=.5, r=.5)
    w2, h2 = 0.5 * R2 / 2, 0.5 / R2 / 2                  # half width and height of (s=.5, r=2)
    np.testing.assert_allclose(cells[0, 0], [[0, 0, 0.5, 0.5],
                                             [0.125, 0.125, 0.375, 0.375],
                                             [0.25 - w2, 0.25 - h2, 0.25 + w2, 0.25 + h2],
                                             [0.25 - h2, 0.25 - w2, 0.25 + h2, 0.25 + w2]], atol=1e-7)
    # row 1, column 0 is centred at x = 0.25, y = 0.75: location by location, rows first
    np.testing.assert_allclose(cells[1, 0, 0], [0, 0.5, 0.5, 1.0], atol=1e-7)
    centres = (cells[..., :2] + cells[..., 2:]) / 2     # (row, column, anchor, xy)
    np.testing.assert_allclose(centres[:, 0, :, 0], 0.25, atol=1e-7)   # x from the column
    np.testing.assert_allclose(centres[:, 1, :, 0], 0.75, atol=1e-7)
    np.testing.assert_allclose(centres[0, :, :, 1], 0.25, atol=1e-7)   # y from the row
    np.testing.assert_allclose(centres[1, :, :, 1], 0.75, atol=1e-7)


def test_anchor_width_follows_the_map_aspect_and_feature_maps_are_accepted():
    # on a 2 × 4 map a ratio-1 anchor of size 0.5 is 0.5 · 2/4 wide and 0.5 high (square in pixels)
    np.testing.assert_allclose(multibox_prior((2, 4), [0.5], [1])[0, 0], [0, 0, 0.25, 0.5], atol=1e-7)
    fmap = gw.tensor(np.zeros((1, 3, 2, 4), np.float32))
    np.testing.assert_array_equal(multibox_prior(fmap, [0.5, 0.2], [1, 2]),
                                  multibox_prior((2, 4), [0.5, 0.2], [1, 2]))
    np.testing.assert_array_equal(multibox_prior(np.zeros((2, 4)), [0.5], [1]), multibox_prior((2, 4), [0.5], [1]))


def test_d2l_printed_anchor_on_a_561x728_image():
    boxes = multibox_prior((561, 728), [0.75, 0.5, 0.25], [1, 2, 0.5])
    assert boxes.shape == (1, 2042040, 4)
    np.testing.assert_allclose(boxes.reshape(561, 728, 5, 4)[250, 250, 0], [0.06, 0.07, 0.63, 0.82], atol=0.006)


def test_assignment_d2l_example():
    assigned = assign_anchor_to_bbox(D2L_GT[:, 1:], D2L_ANCHORS)
    np.testing.assert_array_equal(assigned, [-1, 0, 1, -1, 1])
    assert assigned.dtype == np.int64


def test_assignment_gives_every_ground_truth_its_best_anchor_even_below_the_threshold():
    anchors = [[0, 0, 1, 1], [2, 2, 3, 3], [10, 10, 11, 11]]
    gt = [[0, 0, 3, 3], [2.5, 2.5, 4, 4]]       # gt 0: IoU 1/9 with anchors 0 and 1; gt 1: 0.25/3 with anchor 1
    # step 2: the largest IoU is (anchor 0 or 1, gt 0) = 1/9; then gt 1 takes what is left of its best
    assigned = assign_anchor_to_bbox(gt, anchors, iou_threshold=0.5)
    np.testing.assert_array_equal(assigned, [0, 1, -1])
    # a ground truth that overlaps nothing is not forced onto an anchor
    np.testing.assert_array_equal(assign_anchor_to_bbox([[20, 20, 21, 21]], anchors), [-1, -1, -1])
    # more objects than anchors, and no objects at all
    np.testing.assert_array_equal(assign_anchor_to_bbox([[0, 0, 1, 1], [0, 0, 1, 2]], [[0, 0, 1, 1]]), [0])
    np.testing.assert_array_equal(assign_anchor_to_bbox(np.zeros((0, 4)), anchors), [-1, -1, -1])


def test_offset_encoding_by_hand():
    # anchor centre (1, 1) size 2 × 2; box centre (2, 3) size 2 × 4
    t = offset_boxes([[0, 0, 2, 2]], [[1, 1, 3, 5]])
    np.testing.assert_allclose(t, [[(2 - 1) / (2 * 0.1), (3 - 1) / (2 * 0.1), 0.0, np.log(2) / 0.2]], rtol=1e-6)
    np.testing.assert_allclose(offset_boxes([[0, 0, 2, 2]], [[1, 1, 3, 5]], variances=(1, 1, 1, 1)),
                               [[0.5, 1.0, 0.0, np.log(2)]], rtol=1e-6)


def test_decode_inverts_encode_and_back():
    rng = np.random.default_rng(0)
    anchors = multibox_prior((3, 4), [0.4, 0.2], [1, 2, 0.5])[0]
    centres, sizes = rng.uniform(0.2, 0.8, (len(anchors), 2)), rng.uniform(0.05, 0.5, (len(anchors), 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    np.testing.assert_allclose(offset_inverse(anchors, offset_boxes(anchors, boxes)), boxes, atol=1e-6)
    offsets = rng.standard_normal((len(anchors), 4)).astype(np.float32)
    np.testing.assert_allclose(offset_boxes(anchors, offset_inverse(anchors, offsets)), offsets, atol=1e-4)
    np.testing.assert_allclose(offset_inverse(anchors, np.zeros(4 * len(anchors))), anchors, atol=1e-7)
    # a wild width prediction is capped (at 1000/16 times the anchor), never infinite
    assert np.isfinite(offset_inverse([[0, 0, 1, 1]], [[0, 0, 1e4, 0]])).all()


def test_multibox_target_d2l_example():
    offsets, masks, classes = multibox_target(D2L_ANCHORS[None], D2L_GT[None])
    np.testing.assert_array_equal(classes, [[0, 1, 2, 0, 2]])
    np.testing.assert_array_equal(masks, [[0] * 4 + [1] * 8 + [0] * 4 + [1] * 4])
    expected = [0, 0, 0, 0, 1.40, 10.0, 2.59, 7.18, -1.20, 0.269, 1.68, -1.57, 0, 0, 0, 0, -0.571, -1.00, 0, 0.626]
    np.testing.assert_allclose(offsets, [expected], rtol=5e-3, atol=1e-5)
    assert offsets.dtype == masks.dtype == np.float32 and classes.dtype == np.int64


def test_multibox_target_batches_ignore_padding_rows_and_accept_lists():
    padded = np.stack([np.concatenate([D2L_GT, [[-1, 0, 0, 0, 0]]]), [[1, 0.55, 0.2, 0.9, 0.88], [-1] * 5, [-1] * 5]])
    offsets, masks, classes = multibox_target(D2L_ANCHORS, padded)
    assert offsets.shape == masks.shape == (2, 20) and classes.shape == (2, 5)
    np.testing.assert_array_equal(classes[0], [0, 1, 2, 0, 2])
    np.testing.assert_array_equal(classes[1], [0, 0, 2, 0, 2])  # only the cat in image 1
    _, _, from_list = multibox_target(D2L_ANCHORS, [D2L_GT, D2L_GT[1:]])
    np.testing.assert_array_equal(from_list, classes)


def d2l_detection_inputs():
    anchors = np.array([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95],
                        [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]])
    cls_probs = np.array([[0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]])  # background, dog, cat
    return anchors, cls_probs


def test_multibox_detection_d2l_example():
    anchors, cls_probs = d2l_detection_inputs()
    out = multibox_detection(cls_probs[None], np.zeros((1, 16)), anchors[None], nms_threshold=0.5)
    np.testing.assert_allclose(out[0], [[0, 0.9, 0.1, 0.08, 0.52, 0.92],
                                        [1, 0.9, 0.55, 0.2, 0.9, 0.88],
                                        [-1, 0.8, 0.08, 0.2, 0.56, 0.95],
                                        [-1, 0.7, 0.15, 0.3, 0.62, 0.91]], atol=1e-6)
    (found,) = detections_to_dicts(out)
    np.testing.assert_array_equal(found["labels"], [0, 1])
    np.testing.assert_allclose(found["scores"], [0.9, 0.9])


def test_multibox_detection_suppresses_within_a_class_only_and_drops_low_scores():
    anchors = np.array([[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.52, 0.5], [0.6, 0.6, 0.9, 0.9]])
    cls_probs = np.array([[[0.1, 0.1, 0.995],             # background
                           [0.8, 0.1, 0.004],             # class 0
                           [0.1, 0.8, 0.001]]])           # class 1: anchor 1 overlaps anchor 0 but is kept
    out = multibox_detection(cls_probs, np.zeros((1, 3, 4)), anchors, pos_threshold=0.009)[0]
    np.testing.assert_array_equal(out[:, 0], [0, 1, -1])  # anchor 2's best object score 0.004 < 0.009
    np.testing.assert_allclose(out[:, 1], [0.8, 0.8, 0.004], rtol=1e-6)


def test_bad_anchor_inputs_get_a_clear_error():
    with pytest.raises(ConfigError, match="sizes must be a non-empty list of positive numbers"):
        multibox_prior((2, 2), [], [1])
    with pytest.raises(ConfigError, match="ratios"):
        multibox_prior((2, 2), [0.5], [0])
    with pytest.raises(ConfigError, match="two positive integers"):
        multibox_prior((0, 2), [0.5], [1])
    with pytest.raises(ShapeError, match=r"labels of image 0 must have shape \(G, 5\)"):
        multibox_target(D2L_ANCHORS, np.zeros((1, 2, 4)))
    with pytest.raises(ShapeError, match=r"cls_probs must have shape \(B, C \+ 1, A\)"):
        multibox_detection(np.zeros((1, 3, 4)), np.zeros((1, 20)), D2L_ANCHORS)
    with pytest.raises(ShapeError, match="offset_preds must have shape"):
        multibox_detection(np.zeros((1, 3, 5)), np.zeros((1, 16)), D2L_ANCHORS)
    with pytest.raises(ShapeError, match="zero width or height"):
        offset_boxes([[0, 0, 1, 1]], [[0, 0, 0, 1]])
    with pytest.raises(ConfigError, match="variances"):
        offset_inverse([[0, 0, 1, 1]], [[0, 0, 0, 0]], variances=(0.1, 0.2))
    with pytest.raises(ShapeError, match="row 0 has x2 < x1"):
        assign_anchor_to_bbox([[0.5, 0, 0.4, 1]], D2L_ANCHORS)
