"""What every AL iteration measures beside total IoU, and the references and pool records a
reviewer reads: PSDS as sed_scores_eval computes it, per-class event F1 as sed_eval does,
the ceiling that never sees the test split, seed sets, pool make-up, cold starts."""

import numpy as np
import pytest

from sedal.benchmark.al import pool as P
from sedal.benchmark.al.metrics import costly_iterations, evaluate_test, event_f1_by_class
from sedal.sed.estimator import Detector
from sedal.sed.postprocess import smooth
from sedal.sed.psds import PSDS1, PSDS2, segment_timestamps

CLASSES = ["background", "baby", "dog", "meerkat"]


def _toy(rng, n_files=40, n_seg=165):
    """Segment features that carry their class, with events as runs of segments."""
    y, ref = [], {}
    for f in range(n_files):
        lab = np.zeros(n_seg, int)
        evs = []
        if f % 2 == 0:
            c = 1 + f % 3
            a = int(rng.integers(5, 120))
            lab[a:a + 30] = c
            on, off = segment_timestamps(n_seg)[[a, a + 30]]
            evs.append((float(on), float(off), CLASSES[c]))
        y.append(lab)
        ref[f"f{f}"] = evs
    y = np.concatenate(y)
    X = (np.eye(4)[y] * 1.5 + rng.normal(0, 1.0, (len(y), 4))).astype(np.float32)
    offsets = np.arange(n_files + 1) * n_seg
    return X, y, offsets, ref


def test_psds_equals_sed_scores_eval_called_directly_on_the_median_filtered_scores():
    from sed_scores_eval import intersection_based
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    rng = np.random.default_rng(0)
    X, y, off, ref = _toy(rng)
    det = Detector(classes=CLASSES).fit(X, y)
    ids = list(ref)
    got = evaluate_test(det, X, y, off, ids, ref, 10.0, costly=True)
    probs = det.predict_proba(X)
    scores = {f: create_score_dataframe(smooth(probs[a:b], 3)[:, 1:],
                                        segment_timestamps(b - a), CLASSES[1:])
              for f, a, b in zip(ids, off[:-1], off[1:])}
    for key, params in (("psds1", PSDS1), ("psds2", PSDS2)):
        want = intersection_based.psds(scores=scores, ground_truth=ref,
                                       audio_durations=dict.fromkeys(ids, 10.0), **params)[0]
        assert got[key] == pytest.approx(want, abs=1e-12)
        assert 0 < got[key] <= 1
    assert got["event_f1"] is not None and got["segment_f1"] is not None


def test_per_class_event_f1_agrees_with_sed_eval_class_wise():
    import sed_eval

    from sedal.sed.event_metrics import _event_list

    rng = np.random.default_rng(5)
    labels = ["baby", "dog"]
    ref = {f"f{i}": [(float(a), float(a) + 1.0, str(rng.choice(labels)))
                     for a in rng.uniform(0, 8, rng.integers(0, 3))] for i in range(30)}
    est = {k: [(a + float(rng.normal(0, 0.1)), b + float(rng.normal(0, 0.2)), lab)
               for a, b, lab in v if rng.random() < 0.8] for k, v in ref.items()}
    ours = event_f1_by_class(ref, est, labels)
    ev = sed_eval.sound_event.EventBasedMetrics(event_label_list=labels, t_collar=0.2,
                                                percentage_of_length=0.2)
    for f in sorted(ref):
        ev.evaluate(reference_event_list=_event_list({f: ref[f]}),
                    estimated_event_list=_event_list({f: est[f]}))
    cw = ev.results_class_wise_metrics()
    for c in labels:
        # sed_eval says nan where there is no hit (0/0 precision); ours says 0
        assert ours[f"event_f1_{c}"] == pytest.approx(
            float(np.nan_to_num(cw[c]["f_measure"]["f_measure"])))
    assert ours["event_f1"] == pytest.approx(
        ev.results_overall_metrics()["f_measure"]["f_measure"])


def test_costly_metrics_are_computed_at_the_fixed_budgets_and_the_end():
    f = [0.005, 0.01, 0.015, 0.02, 0.05, 0.06, 0.1, 0.2, 0.5]
    assert costly_iterations(f) == {1, 4, 6, 7, 8}
    assert costly_iterations([0.005, 0.01, 0.03]) == {1, 2}


def test_stratified_seed_sets_hold_every_class_and_random_ones_follow_the_rng():
    train = np.arange(100)
    classes = ["baby", "dog", "meerkat"]
    file_classes = [({classes[i % 3]} if i % 10 == 0 else set()) for i in range(100)]
    for seed in range(20):
        s = P.draw_seed_set(train, 5, np.random.default_rng(seed), "stratified",
                            file_classes, classes)
        assert len(s) == 5 == len(set(s))
        assert {c for i in s for c in file_classes[i]} == set(classes)
    a = P.draw_seed_set(train, 5, np.random.default_rng(1))
    assert list(a) == sorted(np.random.default_rng(1).choice(train, 5, replace=False))
    with pytest.raises(ValueError, match="unknown seed set"):
        P.draw_seed_set(train, 5, np.random.default_rng(1), "coreset-of-files")


def test_pool_make_up_and_cold_start_count_boxes_and_event_files():
    events = [((1.0, 2.0, "dog"), (3.0, 3.5, "baby")), (), ((0.0, 1.0, "dog"),), ()]
    m = P.makeup(events, np.array([0, 1, 2]), ["baby", "dog", "meerkat"])
    assert m == {"labelled_event_fraction": pytest.approx(2 / 3), "labelled_events": 3,
                 "labelled_event_seconds": 2.5, "labelled_events_baby": 1,
                 "labelled_events_dog": 2, "labelled_events_meerkat": 0}
    assert P.cold_start(events, np.array([1, 3]), ["baby", "dog"]) == {
        "seed_event_files": 0, "seed_classes": 0, "cold_start": True}
    assert P.cold_start(events, np.array([0]), ["baby", "dog"])["seed_classes"] == 2
    assert P.agreement(None, np.zeros(3)) is None
    assert P.agreement(np.array([0, 1, 1]), np.array([0, 1, 1])) == 1.0
    assert P.agreement(np.array([0, 1, 0, 1]), np.array([1, 0, 1, 0])) == pytest.approx(-1.0)


def test_the_ceiling_is_chosen_without_reading_any_test_file(monkeypatch):
    from sedal.benchmark.al import ceiling
    from sedal.benchmark.al.loop import RunConfig, RunData

    rng = np.random.default_rng(2)
    X, y, off, ref = _toy(rng, n_files=60)
    splits = np.array(["train"] * 45 + ["test"] * 15)
    sources = [(f"clip{i % 12}.wav",) if ref[f"f{i}"] else () for i in range(60)]

    def data(Xs):
        return RunData(X=Xs, labels=y, offsets=off, splits=splits,
                       has_events=np.array([bool(ref[f"f{i}"]) for i in range(60)]),
                       durations=np.full(60, 10.0), classes=CLASSES, dataset_id="t",
                       dataset_name="t", file_ids=list(ref),
                       events=[tuple(ref[f"f{i}"]) for i in range(60)], sources=sources)

    cfg = RunConfig("x", "0" * 64, "random", 0)
    monkeypatch.setattr(ceiling, "FOLDS", 3)
    poisoned = X.copy()
    poisoned[off[45]:] = np.nan  # the test files: any read shows up as NaN
    a = ceiling.choose(data(poisoned), cfg)
    b = ceiling.choose(data(X), cfg)
    assert a == b and np.isfinite(a["cv_total_iou"])
    folds = ceiling.source_folds(data(X), sources, np.arange(45))
    for fit, val in folds:
        assert set(fit).isdisjoint(val) and max(fit.max(), val.max()) < 45
        used = {s for i in fit for s in sources[i]}
        assert used.isdisjoint({s for i in val for s in sources[i]})
