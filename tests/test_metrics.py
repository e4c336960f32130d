"""Hand-computed cases for every metric."""

import numpy as np
import pytest

from sed.metrics import macro_iou, per_class_iou, sed_eval_f1, total_iou

CLASSES = ["background", "baby", "dog", "meerkat"]


def test_total_iou_hand_computed():
    ref = np.array([0, 1, 1, 1, 0, 2, 2, 0, 0, 0])
    est = np.array([0, 0, 1, 1, 1, 2, 0, 0, 3, 0])
    # baby: inter 2 (idx 2,3), union 4 (1,2,3,4); dog: inter 1, union 2; meerkat: 0 / 1
    assert total_iou(ref, est, 4) == pytest.approx((2 + 1 + 0) / (4 + 2 + 1))
    assert per_class_iou(ref, est, CLASSES) == {"baby": 0.5, "dog": 0.5, "meerkat": 0.0}
    assert macro_iou(ref, est, CLASSES) == pytest.approx((0.5 + 0.5 + 0.0) / 3)


def test_background_is_excluded_and_empty_cases():
    ref = np.zeros(5, int)
    assert total_iou(ref, ref, 4) == 1.0  # nothing to find, nothing found
    assert total_iou(ref, np.array([0, 1, 0, 0, 0]), 4) == 0.0
    assert per_class_iou(ref, ref, CLASSES) == {"baby": None, "dog": None, "meerkat": None}
    assert macro_iou(ref, ref, CLASSES) == 1.0
    assert total_iou(np.array([2, 2]), np.array([2, 2]), 4) == 1.0


def test_macro_skips_classes_absent_from_both():
    ref = np.array([1, 1, 0, 0])
    est = np.array([1, 0, 0, 0])
    assert per_class_iou(ref, est, CLASSES)["dog"] is None
    assert macro_iou(ref, est, CLASSES) == 0.5


def test_validation():
    with pytest.raises(ValueError, match="shape"):
        total_iou(np.array([0, 1]), np.array([0]), 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        total_iou(np.array([0, 4]), np.array([0, 1]), 4)


def test_sed_eval_f1_hand_cases():
    labels = ["baby", "dog"]
    ref = {"a": [(1.0, 2.0, "dog")], "b": [], "c": [(0.5, 3.5, "baby")]}
    assert sed_eval_f1(ref, ref, labels) == {"event_f1": 1.0, "segment_f1": 1.0}
    # Onset 0.15 s late: inside the 0.2 s collar; offset within 20 % of the length.
    near = {"a": [(1.15, 2.1, "dog")], "c": [(0.5, 3.5, "baby")]}
    assert sed_eval_f1(ref, near, labels)["event_f1"] == 1.0
    # One of two events found, no false positive: P = 1, R = 0.5, F = 2/3.
    half = {"a": [(1.0, 2.0, "dog")]}
    assert sed_eval_f1(ref, half, labels)["event_f1"] == pytest.approx(2 / 3)
    # Segment F1 at 1 s: ref active segments a:{1}, c:{0,1,2,3} -> 5; half finds 1 -> F = 2/6.
    assert sed_eval_f1(ref, half, labels)["segment_f1"] == pytest.approx(2 * 1 / (1 + 5))
    assert sed_eval_f1(ref, {}, labels) == {"event_f1": 0.0, "segment_f1": 0.0}
