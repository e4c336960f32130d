"""Hysteresis decisions as detector post-processing, their choice by cross-validation, and
the breakdown of what limits event F1 (issue 27, items 3 and the event-F1 report)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector
from sedal.sed.event_metrics import ERROR_KINDS, event_errors, event_f1
from sedal.sed.postprocess import choose_decision, decode, hysteresis

CLASSES = ["background", "dog", "baby"]


def _probs(event_p: list[float], cls: int = 1, n_classes: int = 3) -> np.ndarray:
    p = np.zeros((len(event_p), n_classes))
    p[:, cls] = event_p
    p[:, 0] = 1 - np.asarray(event_p)
    return p


def test_hysteresis_keeps_an_event_through_a_dip_that_the_argmax_splits():
    p = _probs([0.1, 0.8, 0.45, 0.4, 0.7, 0.2, 0.1])
    assert decode(p, np.array([0, 7]), kernel=1).tolist() == [0, 1, 0, 0, 1, 0, 0]
    assert decode(p, np.array([0, 7]), kernel=1, thresholds=(0.6, 0.3)).tolist() == \
        [0, 1, 1, 1, 1, 0, 0]


def test_hysteresis_needs_the_onset_to_start_and_switches_to_a_stronger_class():
    p = _probs([0.5, 0.5, 0.5])
    assert hysteresis(p, 0.6, 0.3).tolist() == [0, 0, 0]  # never reaches the onset
    q = np.array([[0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.5, 0.1, 0.4], [0.9, 0.05, 0.05]])
    assert hysteresis(q, 0.6, 0.3).tolist() == [1, 2, 2, 0]
    with pytest.raises(ValueError, match="offset <= onset"):
        hysteresis(q, 0.3, 0.6)


def test_thresholds_are_decided_per_file_never_across_a_file_boundary():
    p = _probs([0.1, 0.9, 0.9, 0.4, 0.4, 0.1])
    out = decode(p, np.array([0, 3, 6]), kernel=1, thresholds=(0.6, 0.3))
    assert out.tolist() == [0, 1, 1, 0, 0, 0]  # file 2 starts below the onset


def test_a_detector_with_thresholds_decides_by_them_and_saves_and_loads_them(tmp_path):
    rng = np.random.default_rng(0)
    y = np.tile(np.repeat([0, 1, 0, 2, 0], [20, 10, 10, 10, 10]), 4)
    X = rng.normal(size=(len(y), 6)).astype(np.float32)
    X[:, 0] += 2 * (y == 1)
    X[:, 1] += 2 * (y == 2)
    off = np.arange(0, len(y) + 1, 60)
    det = Detector.paper(classes=CLASSES, onset=0.6, offset=0.3).fit(X, y)
    probs = det.predict_proba(X)
    assert np.array_equal(det.decide(X, offsets=off),
                          decode(probs, off, 3, thresholds=(0.6, 0.3)))
    assert det.postprocess["onset"] == 0.6 and det.postprocess["offset"] == 0.3
    assert "onset" not in Detector.paper().postprocess  # the study's decision is unchanged
    det.save(tmp_path / "m", features={"name": "toy"}, weights_sha256="0" * 64)
    back, _ = Detector.load(tmp_path / "m")
    assert back.thresholds == (0.6, 0.3)
    assert back.predict_events(X, offsets=off) == det.predict_events(X, offsets=off)
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["postprocess"].pop("offset")
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SedError, match="needs both 'onset' and 'offset'"):
        Detector.load(tmp_path / "m")
    with pytest.raises(ValueError, match="both onset and offset"):
        _ = Detector.paper(onset=0.5).thresholds


def test_cross_validation_picks_hysteresis_when_it_joins_fragments_and_argmax_when_not():
    # every event is one second of high probability with a dip in the middle: the argmax
    # splits it in two (two fragments, no hit); thresholds (0.5, 0.3) join it
    held, ref = [], {}
    for i in range(10):
        ev = [0.05] * 20 + [0.9] * 8 + [0.35] * 2 + [0.9] * 7 + [0.05] * 20
        held.append((_probs(ev), decode(_probs(ev), np.array([0, len(ev)]), kernel=1)))
        a, b = 20 * 0.06 + 0.03, 37 * 0.06 + 0.03
        ref[i] = [(round(a, 6), round(b, 6), "dog")]
    post, f1, f1_raw = choose_decision(held, ref, CLASSES, kernel=1,
                                       grid={"merge_gap": (0.0,), "min_duration": (0.0,),
                                             "min_confidence": (0.0,)})
    assert f1_raw == 0.0 and f1 == 1.0
    assert "onset" in post and post["offset"] <= 0.35  # below the dip
    # without a dip the argmax is already right: ties go to it
    clean = [(_probs(p := [0.05] * 20 + [0.9] * 17 + [0.05] * 20),
              decode(_probs(p), np.array([0, len(p)]), kernel=1)) for _ in range(10)]
    post, f1, _ = choose_decision(clean, ref, CLASSES, kernel=1,
                                  grid={"merge_gap": (0.0,), "min_duration": (0.0,),
                                        "min_confidence": (0.0,)})
    assert f1 == 1.0 and "onset" not in post


def test_event_errors_put_every_reference_event_in_one_kind_and_agree_with_f1():
    rng = np.random.default_rng(3)
    ref, est = {}, {}
    for f in range(30):
        r = sorted((t := float(rng.uniform(0, 8)), t + float(rng.uniform(0.3, 1.5)),
                    str(rng.choice(CLASSES[1:]))) for _ in range(rng.integers(0, 4)))
        e = [(a + float(rng.normal(0, 0.15)), b + float(rng.normal(0, 0.3)), lab)
             for a, b, lab in r if rng.random() < 0.7]
        e += [(t := float(rng.uniform(0, 9)), t + 0.3, str(rng.choice(CLASSES[1:])))
              for _ in range(rng.integers(0, 2))]
        ref[f], est[f] = r, e
    errs = event_errors(ref, est, CLASSES[1:])
    hits = sum(c["hit"] for c in errs.values())
    n_ref = sum(c["n_reference"] for c in errs.values())
    n_est = sum(c["n_estimated"] for c in errs.values())
    assert n_ref == sum(len(v) for v in ref.values()) and n_est == sum(len(v) for v in est.values())
    assert 2 * hits / (n_ref + n_est) == pytest.approx(event_f1(ref, est))
    for c in errs.values():
        assert sum(c[k] for k in ERROR_KINDS[:-1]) == c["n_reference"]
        assert c["false_alarm"] <= c["n_estimated"] - c["hit"]
