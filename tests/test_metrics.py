"""Hand-computed cases for every metric."""

import numpy as np
import pytest

from sedal.sed.event_metrics import event_and_segment_f1
from sedal.sed.metrics import macro_iou, per_class_iou, total_iou

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
    assert total_iou(ref, ref, 4) is None  # nothing to find, nothing found: 0/0, undefined
    assert total_iou(ref, np.array([0, 1, 0, 0, 0]), 4) == 0.0
    assert per_class_iou(ref, ref, CLASSES) == {"baby": None, "dog": None, "meerkat": None}
    assert macro_iou(ref, ref, CLASSES) is None
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


def test_event_and_segment_f1_hand_cases():
    labels = ["baby", "dog"]
    ref = {"a": [(1.0, 2.0, "dog")], "b": [], "c": [(0.5, 3.5, "baby")]}
    assert event_and_segment_f1(ref, ref, labels) == {"event_f1": 1.0, "segment_f1": 1.0}
    # Onset 0.15 s late: inside the 0.2 s collar; offset within 20 % of the length.
    near = {"a": [(1.15, 2.1, "dog")], "c": [(0.5, 3.5, "baby")]}
    assert event_and_segment_f1(ref, near, labels)["event_f1"] == 1.0
    # One of two events found, no false positive: P = 1, R = 0.5, F = 2/3.
    half = {"a": [(1.0, 2.0, "dog")]}
    assert event_and_segment_f1(ref, half, labels)["event_f1"] == pytest.approx(2 / 3)
    # Segment F1 at 1 s: ref active segments a:{1}, c:{0,1,2,3} -> 5; half finds 1 -> F = 2/6.
    assert event_and_segment_f1(ref, half, labels)["segment_f1"] == pytest.approx(2 * 1 / (1 + 5))
    assert event_and_segment_f1(ref, {}, labels) == {"event_f1": 0.0, "segment_f1": 0.0}


def test_event_f1_agrees_with_sed_eval_on_random_tables():
    """The one event F1 (scores and the choice of post-processing) is sed_eval's."""
    from sedal.sed.event_metrics import _event_list, event_f1

    def sed_eval_event_f1(ref, est, labels):
        import sed_eval

        ev = sed_eval.sound_event.EventBasedMetrics(event_label_list=labels, t_collar=0.2,
                                                    percentage_of_length=0.2)
        for f in sorted(ref):
            ev.evaluate(reference_event_list=_event_list({f: ref[f]}),
                        estimated_event_list=_event_list({f: est.get(f, [])}))
        return float(np.nan_to_num(ev.results_overall_metrics()["f_measure"]["f_measure"]))

    rng = np.random.default_rng(3)
    labels = ["dog", "baby"]
    for trial in range(30):
        ref, est = {}, {}
        for f in range(4):
            ref[f"f{f}"] = [(float(a), float(a + d), str(rng.choice(labels)))
                            for a, d in zip(rng.uniform(0, 9, rng.integers(0, 4)),
                                            rng.uniform(0.1, 2.0, 4))]
            est[f"f{f}"] = ([(a + float(rng.normal(0, 0.15)), b + float(rng.normal(0, 0.3)),
                              lab if rng.random() < 0.8 else labels[0], 0.5)
                             for a, b, lab in ref[f"f{f}"] if rng.random() < 0.8]
                            + [(float(a), float(a) + 0.3, "baby", 0.5)
                               for a in rng.uniform(0, 9, rng.integers(0, 3))])
        ref3 = {k: v for k, v in ref.items()}
        est3 = {k: [e[:3] for e in v] for k, v in est.items()}
        want = sed_eval_event_f1(ref3, est3, labels)
        assert event_f1(ref, est) == pytest.approx(want, abs=1e-9), trial


def test_choose_postprocess_mends_fragments_and_drops_unsure_blips():
    from sedal.sed.postprocess import choose_postprocess

    reference = {"a": [(1.0, 2.0, "dog")], "b": [], "c": [(3.0, 4.5, "baby")]}
    raw = {"a": [(1.0, 1.3, "dog", 0.9), (1.36, 1.7, "dog", 0.8), (1.76, 2.0, "dog", 0.9)],
           "b": [(5.0, 5.06, "dog", 0.95), (7.0, 7.3, "baby", 0.35)],
           "c": [(3.0, 3.6, "baby", 0.9), (3.72, 4.5, "baby", 0.8), (8.0, 8.06, "dog", 0.9)]}
    post, f1, f1_raw = choose_postprocess(raw, reference)
    assert f1 == 1.0 and f1_raw == pytest.approx(0.0)
    # the least post-processing that gets there: gaps up to 0.12 s, blips and unsure out
    assert post == {"merge_gap": 0.12, "min_duration": 0.12, "min_confidence": 0.4}
