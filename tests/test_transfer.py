"""Do a strategy's selections transfer to other detectors (sedal.benchmark.al.transfer)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sedal.benchmark.al import transfer as T
from sedal.benchmark.al.loop import RunConfig, RunData, run_al
from sedal.benchmark.errors import BenchmarkError
from tests.test_reviewer_metrics import CLASSES, _toy

N_FILES, N_TRAIN = 120, 90


def _data(X, y, off, ref) -> RunData:
    splits = np.array(["train"] * N_TRAIN + ["test"] * (N_FILES - N_TRAIN))
    ids = list(ref)
    return RunData(X=X, labels=y, offsets=off, splits=splits,
                   has_events=np.array([bool(ref[f]) for f in ids]),
                   durations=np.full(N_FILES, 10.0), classes=CLASSES, dataset_id="toy",
                   dataset_name="toy", file_ids=ids, events=[tuple(ref[f]) for f in ids],
                   sources=[(f"clip{i % 15}.wav",) if ref[f] else ()
                            for i, f in enumerate(ids)],
                   event_snrs=[tuple(0.0 for _ in ref[f]) for f in ids])


@pytest.fixture(scope="module")
def toy():
    return _toy(np.random.default_rng(4), n_files=N_FILES)


def _cfg(strategy="top_k", seed=0) -> RunConfig:
    return RunConfig("toy", "0" * 64, strategy, seed, schedule=(0.05, 0.1, 0.2))


def test_replayed_selections_are_the_files_the_run_had_labelled(toy):
    data = _data(*toy)
    trace: list = []
    rows = run_al(data, _cfg(), trace=trace)
    got = T.replay_selections(data, _cfg(), (0.05, 0.1), stored_rows=rows)
    assert [s.iteration for s in got] == [0, 1]
    for s in got:
        assert np.array_equal(s.files, np.sort(trace[s.iteration]))
        assert s.chooser_total_iou == rows[s.iteration]["total_iou"]
        assert len(s.files) == rows[s.iteration]["n_labelled"]


def test_a_replay_that_differs_from_the_stored_run_is_refused(toy):
    data = _data(*toy)
    rows = run_al(data, _cfg())
    rows[1] = {**rows[1], "total_iou": (rows[1]["total_iou"] or 0.0) + 0.01}
    with pytest.raises(BenchmarkError, match="other rows than the stored ones"):
        T.replay_selections(data, _cfg(), (0.05,), stored_rows=rows)
    with pytest.raises(BenchmarkError, match="before 0.5"):
        T.replay_selections(data, _cfg(), (0.5,))


def test_transferred_detectors_read_only_the_selected_files_and_score_the_test_split(
        toy, monkeypatch):
    """Every training file outside the selection and the whole test split poisoned with NaN
    for the fits: the tuned (ceiling-rule) and transferred fits do not change, so they read
    the selected files only; the scores then come from the clean test split."""
    from sedal.benchmark.al import ceiling

    X, y, off, ref = toy
    clean = _data(X, y, off, ref)
    files = np.array([0, 2, 3, 4, 6, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 26, 27, 30])
    poisoned_X = X.copy()
    for i in range(N_FILES):
        if i not in files:
            poisoned_X[off[i]:off[i + 1]] = np.nan
    poisoned = _data(poisoned_X, y, off, ref)
    monkeypatch.setattr(ceiling, "FOLDS", 3)
    det_a, chosen_a = T.tuned_on(poisoned, files, _cfg())
    det_b, chosen_b = T.tuned_on(clean, files, _cfg())
    assert chosen_a == chosen_b
    assert np.array_equal(det_a.predict_proba(X), det_b.predict_proba(X))
    with pytest.raises(ValueError, match="training files"):
        T.tuned_on(clean, np.array([0, N_FILES - 1]), _cfg())

    sel = [T.Selection(0.05, 0, files, 0.5)]
    monkeypatch.setattr(T, "replay_selections", lambda *a, **k: sel)
    rows = T.transfer_cell(clean, _cfg(), field_data=clean)
    assert {r["detector"] for r in rows} == {"chooser", "ceiling", "field"}
    for r in rows:
        assert r["n_labelled"] == len(files) and r["run_total_iou"] == 0.5
        assert r["event_files"] == int(clean.has_events[files].sum())
        assert 0.0 <= r["total_iou"] <= 1.0


def test_a_field_store_of_other_files_is_refused(toy):
    data = _data(*toy)
    other = _data(*toy)
    other.file_ids = list(reversed(other.file_ids))
    with pytest.raises(BenchmarkError, match="other files"):
        T.transfer_cell(data, _cfg(), field_data=other)


def test_summary_is_paired_on_realisations_with_a_t_interval():
    rows = []
    for ds, (top, rnd) in {"d0": (0.50, 0.40), "d1": (0.45, 0.40), "d2": (0.60, 0.42)}.items():
        for _seed, jitter in ((0, -0.01), (1, 0.01)):  # seed means are the values above
            rows.append({"label": "top_k(K=10)", "fraction": 0.05, "detector": "field",
                         "dataset_id": ds, "total_iou": top + jitter})
            rows.append({"label": "random", "fraction": 0.05, "detector": "field",
                         "dataset_id": ds, "total_iou": rnd + jitter})
    rows.append({"label": "random", "fraction": 0.05, "detector": "field",
                 "dataset_id": "d2", "total_iou": None})  # undefined IoU is left out
    got = {s["label"]: s for s in T.summarize(rows)}
    d = np.array([0.10, 0.05, 0.18])
    half = 4.302652729911275 * d.std(ddof=1) / math.sqrt(3)  # t(0.975, 2)
    top = got["top_k(K=10)"]
    assert top["n_realisations"] == 3
    assert top["mean_total_iou"] == pytest.approx(np.mean([0.50, 0.45, 0.60]))
    assert top["diff_vs_baseline"] == pytest.approx(d.mean())
    assert (top["ci_low"], top["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert got["random"]["diff_vs_baseline"] is None
    table = T.format_markdown(T.summarize(rows))
    assert "| top_k(K=10) | 5 % | field | 3 | 0.517 | +0.110 [" in table
