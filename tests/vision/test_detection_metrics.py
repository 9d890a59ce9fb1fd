"""Mean average precision against hand-computed cases: a 5-prediction ranking worked out on paper,
perfect and empty detectors, the IoU threshold's boundary, duplicate boxes, classes left out of the
mean, and the errors for inputs that do not describe the same images."""
import struct

import numpy as np
import pytest

import gradwork as gw
from gradwork.errors import ConfigError, LabelError, ShapeError
from gradwork.vision.detection_metrics import (
    average_precision,
    average_precision_per_class,
    mean_average_precision,
    plot_precision_recall,
    precision_recall_curves,
)


def pred(boxes, scores, labels):
    return {"boxes": np.array(boxes, float).reshape(-1, 4), "scores": np.array(scores, float),
            "labels": np.array(labels, int)}


def target(boxes, labels):
    return {"boxes": np.array(boxes, float).reshape(-1, 4), "labels": np.array(labels, int)}


def worked_example():
    """Class 0: three objects in two images and five predictions that rank TP, FP, TP, FP, TP.

    image 0: objects g1 = [0, 0, 10, 10], g2 = [20, 20, 30, 30]; image 1: object g3 = [0, 0, 10, 10].
      0.9  image 0 on g1                       → TP
      0.8  image 0 on g1 again (a duplicate)   → FP
      0.7  image 1 on g3 (IoU 81/100)          → TP
      0.6  image 1 far from anything           → FP
      0.5  image 0 on g2                       → TP
    precision 1, 1/2, 2/3, 1/2, 3/5; recall 1/3, 1/3, 2/3, 2/3, 1;
    monotone from the right 1, 2/3, 2/3, 3/5, 3/5; AP = (1 + 2/3 + 3/5) / 3 = 34/45.
    """
    predictions = [pred([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.5], [0, 0, 0]),
                   pred([[1, 1, 10, 10], [50, 50, 60, 60]], [0.7, 0.6], [0, 0])]
    targets = [target([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0]), target([[0, 0, 10, 10]], [0])]
    return predictions, targets


def test_ap_of_the_worked_example():
    predictions, targets = worked_example()
    precision, recall = precision_recall_curves(predictions, targets)[0]
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5])
    np.testing.assert_allclose(recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert average_precision_per_class(predictions, targets) == {0: pytest.approx(34 / 45)}
    assert mean_average_precision(predictions, targets) == pytest.approx(34 / 45)


def test_prediction_order_inside_the_lists_does_not_matter():
    predictions, targets = worked_example()
    p0 = predictions[0]
    shuffled = {k: v[[2, 0, 1]] for k, v in p0.items()}
    assert mean_average_precision([shuffled, predictions[1]], targets) == pytest.approx(34 / 45)


def test_average_precision_is_the_area_under_the_monotone_curve():
    assert average_precision([1.0, 0.5, 2 / 3, 0.5, 0.6], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1]) == pytest.approx(34 / 45)
    assert average_precision([0.0, 0.5], [0.0, 0.5]) == pytest.approx(0.25)  # a miss first, then a hit
    assert average_precision([], []) == 0.0


def test_perfect_detector_scores_one_and_duplicates_cost_precision():
    targets = [target([[0, 0, 10, 10], [20, 0, 30, 10]], [0, 1])]
    perfect = [pred([[0, 0, 10, 10], [20, 0, 30, 10]], [0.9, 0.8], [0, 1])]
    assert mean_average_precision(perfect, targets) == 1.0
    # a duplicate ranked BELOW the hit does not lower AP (recall is complete before it) ...
    dup_low = [pred([[0, 0, 10, 10], [0, 0, 10, 10], [20, 0, 30, 10]], [0.9, 0.1, 0.8], [0, 0, 1])]
    assert mean_average_precision(dup_low, targets) == 1.0
    # ... but a wrong box ranked ABOVE it halves the precision at full recall
    wrong_first = [pred([[50, 50, 60, 60], [0, 0, 10, 10], [20, 0, 30, 10]], [0.95, 0.9, 0.8], [0, 0, 1])]
    assert average_precision_per_class(wrong_first, targets) == {0: 0.5, 1: 1.0}


def test_iou_exactly_at_the_threshold_is_a_match():
    targets = [target([[0, 0, 2, 1]], [0])]
    half = [pred([[0, 0, 1, 1]], [0.9], [0])]  # IoU 1/2
    assert mean_average_precision(half, targets, iou_threshold=0.5) == 1.0
    assert mean_average_precision(half, targets, iou_threshold=0.51) == 0.0


def test_a_box_of_another_class_is_no_match():
    targets = [target([[0, 0, 10, 10]], [0])]
    assert mean_average_precision([pred([[0, 0, 10, 10]], [0.9], [1])], targets) == 0.0


def test_classes_without_ground_truth_are_left_out_and_missed_classes_count_zero():
    predictions, targets = worked_example()
    targets[1] = target([[0, 0, 10, 10], [40, 40, 50, 50]], [0, 1])    # class 1: found by no one → AP 0
    predictions[1] = pred([[1, 1, 10, 10], [50, 50, 60, 60], [70, 70, 80, 80]], [0.7, 0.6, 0.4], [0, 0, 2])
    ap = average_precision_per_class(predictions, targets)               # class 2: predictions only
    assert set(ap) == {0, 1}
    assert ap[1] == 0.0
    assert mean_average_precision(predictions, targets) == pytest.approx((34 / 45 + 0) / 2)
    curves = precision_recall_curves(predictions, targets)
    assert curves[1][0].size == 0 and curves[1][1].size == 0


def test_images_without_objects_or_predictions_and_gradwork_tensors():
    targets = [target([[0, 0, 10, 10]], [0]), target(np.zeros((0, 4)), [])]
    predictions = [pred([[0, 0, 10, 10]], [0.9], [0]), pred(np.zeros((0, 4)), [], [])]
    assert mean_average_precision(predictions, targets) == 1.0
    as_tensors = [{k: gw.tensor(np.asarray(v, float)) for k, v in p.items()} for p in predictions]
    assert mean_average_precision(as_tensors, targets) == 1.0
    assert np.isnan(mean_average_precision([pred([[0, 0, 1, 1]], [0.5], [0])], [target(np.zeros((0, 4)), [])]))


def test_bad_inputs_get_a_clear_error():
    predictions, targets = worked_example()
    with pytest.raises(ShapeError, match="2 prediction dicts and 1 target dicts"):
        mean_average_precision(predictions, targets[:1])
    with pytest.raises(ShapeError, match="empty lists"):
        mean_average_precision([], [])
    with pytest.raises(ConfigError, match=r"predictions\[1\] must be a dict with a 'scores' entry"):
        mean_average_precision([predictions[0], {"boxes": np.zeros((0, 4)), "labels": []}], targets)
    with pytest.raises(ShapeError, match=r"predictions\[0\]\['scores'\] must have shape \(3,\)"):
        mean_average_precision([dict(predictions[0], scores=np.ones(2)), predictions[1]], targets)
    with pytest.raises(ShapeError, match=r"targets\[0\]\['boxes'\] row 0 has x2 < x1"):
        mean_average_precision(predictions, [target([[10, 0, 0, 10]], [0]), targets[1]])
    with pytest.raises(LabelError, match="outside"):
        mean_average_precision(predictions, targets, num_classes=0)
    with pytest.raises(LabelError, match="negative class -1"):
        mean_average_precision(predictions, [target([[0, 0, 1, 1]], [-1]), targets[1]])


def test_precision_recall_plot_is_a_png(tmp_path):
    predictions, targets = worked_example()
    targets[1] = target([[0, 0, 10, 10], [40, 40, 50, 50]], [0, 1])
    curves = precision_recall_curves(predictions, targets)
    plot_precision_recall(curves, tmp_path / "pr.png", class_names=["T-shirt", "Trouser"])
    data = (tmp_path / "pr.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert struct.unpack(">II", data[16:24]) == (600, 500)
    with pytest.raises(ConfigError, match="no curves"):
        plot_precision_recall({}, tmp_path / "none.png")
