"""One evaluation path, converged references, result identity, features as a setting."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from sedal.benchmark.al.loop import RunConfig, load_run_data, run_al, supervised_reference
from sedal.benchmark.cli import main
from sedal.benchmark.practice.crossval import cross_validated_iou
from sedal.sed.evaluate import supervised
from sedal.sed.features import FeatureParams, ensure_store, load_dataset_manifest


@pytest.fixture(scope="module")
def al_store(al_dataset, yamnet_model):
    store = ensure_store(al_dataset, model=yamnet_model)
    doc, sha = load_dataset_manifest(al_dataset)
    return store, doc, sha


def test_supervised_al_at_full_labels_and_query_cv_agree(al_dataset, al_store):
    store, doc, sha = al_store
    sup = supervised(store, doc)
    assert sup["converged"]
    data = load_run_data(store, doc, al_dataset.name)
    cold = RunConfig(str(al_dataset), sha, "random", 0, schedule=(0.005, 1.0), warm_start=False)
    rows = run_al(data, cold)
    assert rows[-1]["fraction"] == 1.0 and rows[-1]["converged"]
    ref = supervised_reference(data, cold)
    # query's cross-validation with one fold: train on the training files, test on the test ones
    train, test = store.file_rows("train"), store.file_rows("test")
    embs = [np.asarray(store.embeddings[store.offsets[f]:store.offsets[f + 1]], np.float32)
            for f in range(len(store.file_ids))]
    labels = [store.labels[store.offsets[f]:store.offsets[f + 1]].astype(np.int64)
              for f in range(len(store.file_ids))]
    cv = cross_validated_iou(embs, labels, store.classes, [(train, test)])
    # the same code and settings, from scratch: the same number
    assert rows[-1]["total_iou"] == ref["total_iou"] == sup["total_iou"] == cv
    # warm-started up to 100 %: the same optimum within the solver tolerance, so the curve
    # may not end above the reference by more than a few segments' worth of IoU
    warm = run_al(data, RunConfig(str(al_dataset), sha, "top_k", 0,
                                  schedule=(0.005, 0.05, 0.2, 1.0)))
    assert all(r["converged"] for r in warm)
    assert abs(warm[-1]["total_iou"] - sup["total_iou"]) <= 0.005


def _csv(out):
    with open(out / "results.csv") as fh:
        return list(csv.DictReader(fh))


def test_schedule_cut_does_not_change_draws_before_it(al_dataset, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, cut in ((a, "0.03"), (b, "0.1")):
        assert main(["run", str(al_dataset), "--strategy", "random", "--seeds", "0",
                     "--max-fraction", cut, "--out", str(out), "--no-progress"]) == 0
    ra, rb = _csv(a), _csv(b)
    keep = ("iteration", "n_labelled", "total_iou", "labelled_event_fraction")
    assert [{k: r[k] for k in keep} for r in ra] == [{k: r[k] for k in keep}
                                                     for r in rb[:len(ra)]]
    assert len(rb) > len(ra)


def test_quick_look_and_main_run_are_two_datasets(tmp_path, yamnet_model, capsys):
    from sedal.benchmark.al.runner import ResultsStore
    from sedal.benchmark.stats.results import Results
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    out = tmp_path / "results"
    for root, n in (("quick", 40), ("main", 60)):
        ds = tmp_path / root / "snr0_r0.2"
        make_dataset(DatasetSpec(n_files=n, seed=5, event_ratio=0.5), ds)
        ensure_store(ds, model=yamnet_model)
        assert main(["run", str(ds), "--strategy", "random", "--seeds", "0",
                     "--schedule", "0.1,0.3", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    groups = Results(ResultsStore(out)).groups
    assert len(groups) == 2
    names = {g.name for g in groups}
    assert len(names) == 2 and all(n.startswith("snr0_r0.2 (") for n in names)
    assert {g.spec["n_files"] for g in groups} == {40, 60}
    assert all(g.reference is not None for g in groups)
    assert main(["report", str(out)]) == 0
    md = (out / "report" / "report.md").read_text()
    assert all(f"### {n}" in md for n in names)


def test_features_are_a_run_setting(tiny_dataset, tmp_path, yamnet_model, monkeypatch, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(tiny_dataset, ds, ignore=shutil.ignore_patterns("features"))
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    out = tmp_path / "r"
    assert main(["run", str(ds), "--strategy", "random", "--seeds", "0",
                 "--schedule", "0.2,0.5", "--mode", "context", "--out", str(out),
                 "--no-progress"]) == 0
    context = FeatureParams(mode="context").name()
    assert (ds / "features" / context / "meta.json").exists()
    assert not (ds / "features" / FeatureParams().name()).exists()
    assert {r["features"] for r in _csv(out)} == {context}


def test_class_weight_is_an_option_that_keeps_existing_keys(al_store):
    """A new detector option at its default leaves every identity unchanged (existing
    results keep their keys); 'balanced' weighs rare event classes up, which the fit shows."""
    from sedal.benchmark.al.loop import RunConfig
    from sedal.sed.detector import DetectorSpec
    from sedal.sed.estimator import Detector
    from sedal.sed.evaluate import DetectorSettings, fit_on_files

    assert DetectorSettings().to_dict() == {"C": 1.0, "tol": 1e-5, "max_iter": 10_000,
                                            "kernel": 3}
    plain = RunConfig("d", "0" * 64, "random", 0)
    assert "class_weight" not in plain.key_dict()
    balanced = RunConfig("d", "0" * 64, "random", 0, detector=DetectorSpec(
        settings=DetectorSettings(class_weight="balanced")))
    assert balanced.key != plain.key and balanced.reference_key != plain.reference_key
    assert balanced.query_key == plain.query_key  # the same files are drawn
    with pytest.raises(ValueError, match="class_weight"):
        DetectorSettings(class_weight="heavy")
    store, doc, _ = al_store
    train = store.file_rows("train")
    a = fit_on_files(store, train)
    b = fit_on_files(store, train, Detector.paper(class_weight="balanced"))
    test = store.rows(store.file_rows("test"))
    X = np.asarray(store.embeddings[test], np.float32)
    # balanced weights predict more event segments than the unweighted fit
    assert (b.predict(X) > 0).sum() > (a.predict(X) > 0).sum()


def test_runs_without_reviewer_metrics_keep_every_other_number_and_their_group(al_dataset,
                                                                               al_store):
    import dataclasses

    store, doc, sha = al_store
    data = load_run_data(store, doc, al_dataset.name)
    full = RunConfig(str(al_dataset), sha, "top_k", 0, schedule=(0.005, 0.01, 0.05))
    lean = dataclasses.replace(full, reviewer_metrics=False)
    a, b = run_al(data, full), run_al(data, lean)
    assert any(r.get("psds1") is not None or r.get("segment_f1") is not None for r in a)
    assert all(r.get("psds1") is None and r.get("segment_f1") is None for r in b)
    drop = {"psds1", "psds2", "segment_f1", "fit_seconds", "run_key"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == \
        [{k: v for k, v in r.items() if k not in drop} for r in b]
    # a run of its own, compared with the same group and reference; the default key unchanged
    assert lean.key != full.key and "reviewer_metrics" not in full.key_dict()
    assert (lean.settings_key, lean.reference_key) == (full.settings_key, full.reference_key)
