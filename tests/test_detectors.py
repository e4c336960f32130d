"""DetectorSpec presets: temporal features, recipes, grouped-CV tuning, the study, and the
``--detector`` option wherever a detector is fitted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sedal.sed.detector import PRESETS, DetectorSpec, build_features, sigmoid_scores
from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector
from sedal.sed.evaluate import DetectorSettings
from sedal.sed.temporal import pool_neighbours, stack_neighbours


def _naive_stack(X, offsets, k):
    rows = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        for t in range(a, b):
            parts = [X[t]]
            for s in range(1, k + 1):
                parts += [X[min(max(t - s, a), b - 1)], X[min(max(t + s, a), b - 1)]]
            rows.append(np.concatenate(parts))
    return np.array(rows, dtype=np.float32).reshape(len(X), X.shape[1] * (2 * k + 1))


def _naive_pool(X, offsets, widths):
    rows = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        for t in range(a, b):
            parts = [X[t]] + [X[max(t - w // 2, a):min(t + w // 2 + 1, b)].mean(0)
                              for w in widths]
            rows.append(np.concatenate(parts))
    return np.array(rows, dtype=np.float32).reshape(len(X), X.shape[1] * (1 + len(widths)))


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(0, 9), min_size=1, max_size=5), k=st.integers(0, 3),
       widths=st.lists(st.sampled_from([3, 5, 7, 17]), max_size=2), seed=st.integers(0, 99))
def test_temporal_features_equal_a_per_segment_loop(lengths, k, widths, seed):
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    X = np.random.default_rng(seed).normal(size=(offsets[-1], 3)).astype(np.float32)
    np.testing.assert_array_equal(stack_neighbours(X, offsets, k), _naive_stack(X, offsets, k))
    np.testing.assert_allclose(pool_neighbours(X, offsets, tuple(widths)),
                               _naive_pool(X, offsets, tuple(widths)), rtol=1e-5, atol=1e-6)


def test_temporal_features_never_cross_files():
    X = np.array([[1.0], [1.0], [100.0], [100.0]], dtype=np.float32)
    off = np.array([0, 2, 4])
    assert stack_neighbours(X, off, 2)[:2].max() == 1.0
    assert pool_neighbours(X, off, (17,))[:2].max() == 1.0


def test_temporal_features_refuse_bad_input():
    X = np.zeros((4, 2), np.float32)
    for call in (lambda: stack_neighbours(X, np.array([0, 3]), 1),
                 lambda: stack_neighbours(X, np.array([0, 4]), -1),
                 lambda: pool_neighbours(X, np.array([0, 4]), (4,))):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("det", [
    DetectorSpec(), DetectorSpec(modes=("context",)),
    DetectorSpec(modes=("patch", "context"), stack=1),
    DetectorSpec(pool=(5, 17), scores=True), DetectorSpec(stack=2, scores=True)])
def test_recipe_and_dict_round_trip(det):
    back = DetectorSpec.from_recipe(det.recipe(), det.settings, name=det.name)
    assert back == det
    assert DetectorSpec.from_dict(json.loads(json.dumps(det.to_dict()))) == det


@pytest.mark.parametrize("kw", [{"modes": ()}, {"modes": ("patch", "patch")},
                                {"modes": ("spectrogram",)}, {"stack": -1}, {"pool": (4,)}])
def test_bad_detectors_are_refused(kw):
    with pytest.raises(SedError):
        DetectorSpec(**kw)
    with pytest.raises(SedError):
        DetectorSpec.from_recipe("stackX")


def test_presets_are_named_and_paper_is_the_study():
    assert set(PRESETS) == {"paper", "field"}
    assert PRESETS["paper"].recipe() == "" and PRESETS["paper"].settings == DetectorSettings()
    assert all(PRESETS[n].name == n for n in PRESETS)


def test_build_features_stacks_blocks_in_order():
    rng = np.random.default_rng(0)
    p, c = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    det = DetectorSpec(modes=("patch", "context"), scores=True, stack=1)
    X = build_features([p, c], np.array([0, 6]), det, (W, b))
    assert X.shape == (6, (4 + 4 + 3) * 3)
    np.testing.assert_allclose(X[:, :4], p, rtol=1e-6)
    np.testing.assert_allclose(X[:, 4:8], c, rtol=1e-6)
    np.testing.assert_allclose(X[:, 8:11], 1 / (1 + np.exp(-(p @ W + b))), rtol=1e-5)
    np.testing.assert_allclose(sigmoid_scores(p, W, b), X[:, 8:11], rtol=1e-6)
    with pytest.raises(SedError):
        build_features([p], np.array([0, 6]), det, (W, b))
    with pytest.raises(SedError):
        build_features([p, c], np.array([0, 6]), det, None)


def _toy(n_files=12, n=30, seed=0):
    """Files whose events (class 1) are louder in feature 0 than background."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for f in range(n_files):
        lab = np.zeros(n, np.int64)
        lab[5:12] = 1 + f % 2
        x = rng.normal(size=(n, 3)).astype(np.float32)
        x[:, 0] += 2.5 * (lab == 1)
        x[:, 1] += 2.5 * (lab == 2)
        X.append(x)
        y.append(lab)
    return np.concatenate(X), np.concatenate(y), np.arange(0, n_files * n + 1, n)


def test_tune_detector_uses_only_the_files_it_is_given():
    from sedal.benchmark.practice.crossval import BG_GRID, C_GRID, KERNEL_GRID, tune_detector

    X, y, off = _toy()
    files = np.arange(8)
    s1, table = tune_detector(X, y, off, files, ["bg", "a", "b"])
    assert len(table) == len(C_GRID) * len(KERNEL_GRID) * len(BG_GRID)
    assert s1.C in C_GRID and s1.median_kernel in KERNEL_GRID and s1.bg_prior in BG_GRID
    assert max(r["total_iou"] for r in table) == pytest.approx(
        next(r["total_iou"] for r in table if r["C"] == s1.C
             and r["kernel"] == s1.median_kernel and r["bg_prior"] == s1.bg_prior))
    # scrambling the files it was not given changes nothing
    X2, y2 = X.copy(), y.copy()
    X2[off[8]:] = 0.0
    y2[off[8]:] = 0
    s2, table2 = tune_detector(X2, y2, off, files, ["bg", "a", "b"])
    assert s2.get_params() == s1.get_params() and table2 == table


def test_run_keys_only_change_with_a_recipe(tmp_path):
    from sedal.benchmark.al.loop import RunConfig

    base = RunConfig(str(tmp_path), "0" * 64, "random", 0)
    same = RunConfig(str(tmp_path), "0" * 64, "random", 0, detector=DetectorSpec(name="x"))
    other = RunConfig(str(tmp_path), "0" * 64, "random", 0,
                      detector=DetectorSpec.from_recipe("stack1"))
    assert base.key == same.key and base.reference_key == same.reference_key
    assert other.key != base.key and other.reference_key != base.reference_key
    assert "recipe" not in base.key_dict()


def test_old_saved_models_load_as_the_paper_detector():
    from sedal.sed.savedmodel import saved_spec

    old = {"detector": DetectorSettings().to_dict()}
    assert saved_spec(old, "m") == DetectorSpec(name="paper")
    new = {"detector": PRESETS["field"].to_dict()}
    assert saved_spec(new, "m") == PRESETS["field"]


@pytest.mark.parametrize("argv, needle", [
    (["supervised", "D", "--detector", "nope"], "invalid choice"),
    (["detectors", "--out", "o", "--snrs", "x"], "comma-separated"),
    (["detectors", "--out", "o", "--options", "nope", "--data", "{tmp}"], "unknown detector"),
    (["detectors", "--out", "o", "--fit-time", "{tmp}"], "not a dataset dir"),
])
def test_cli_refuses_bad_detector_input(argv, needle, tmp_path, capsys):
    from sedal.benchmark.cli import main

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_supervised_with_context_features_end_to_end(tiny_dataset, yamnet_model, capsys):
    """A temporal-context detector through the one evaluation path: fits, scores, and its
    features are built per file from the stored embeddings."""
    from sedal.sed.detector import detector_store
    from sedal.sed.evaluate import supervised
    from sedal.sed.features import ensure_store, load_dataset_manifest

    plain = ensure_store(tiny_dataset, model=yamnet_model)
    det = DetectorSpec(name="t", stack=1, pool=(5,), settings=DetectorSettings(
        class_weight="balanced"))
    store = detector_store(tiny_dataset, det)
    assert store.embeddings.shape == (len(plain.labels), 1024 * 2 * 3)
    np.testing.assert_array_equal(store.embeddings[:, :1024], plain.embeddings)
    doc, _ = load_dataset_manifest(tiny_dataset)
    res = supervised(store, doc, detector=Detector.from_spec(det))
    assert res["converged"] and 0.0 <= res["total_iou"] <= 1.0


def test_al_runs_with_a_context_detector_record_it_and_resume(al_dataset, tmp_path):
    """``run`` with a non-paper detector: the recipe is in every run's key and config, the
    reference is fitted with the same features, and a second call finds the runs done."""
    from sedal.benchmark.al import plan as al_plan
    from sedal.benchmark.al import runner

    # a loose tolerance: the test is about keys, configs and resuming, not about the optimum
    det = DetectorSpec(name="ctx", stack=1, settings=DetectorSettings(class_weight="balanced",
                                                                  tol=1e-2))
    exps = [al_plan.Experiment(str(al_dataset), "top_k", 10, "none")]
    plan = al_plan.resolve(exps, [0], max_fraction=0.02, detector=det)
    assert {r.recipe for r in plan.runs} == {"stack1"}
    assert plan.settings["detector_preset"]["recipe"] == "stack1"
    store = runner.ResultsStore(tmp_path / "res")
    counts = runner.execute(plan, store)
    assert counts["ran"] == 1
    run = json.loads(next((tmp_path / "res" / "runs").glob("*.json")).read_text())
    assert run["config"]["recipe"] == "stack1" and run["config"]["class_weight"] == "balanced"
    assert all(r["total_iou"] is not None for r in run["rows"])
    again = runner.execute(al_plan.resolve(exps, [0], max_fraction=0.02, detector=det), store)
    assert again["ran"] == 0 and again["skipped"] == 1


def test_background_weight_moves_decisions_towards_events():
    from sedal.sed.postprocess import decode

    probs = np.array([[0.6, 0.4], [0.45, 0.55], [0.9, 0.1]], np.float32)
    off = np.array([0, 3])
    assert decode(probs, off, 1).tolist() == [0, 1, 0]
    assert decode(probs, off, 1, bg_prior=0.5).tolist() == [1, 1, 0]
    assert decode(probs, off, 1, bg_prior=2.0).tolist() == [0, 0, 0]
    assert probs[0, 0] == np.float32(0.6)  # the input is not changed
    with pytest.raises(ValueError):
        DetectorSettings(bg_prior=0.0)
    assert "bg_prior" not in DetectorSettings().to_dict()


def _cell(option, sha, ratio, iou, fit=10.0, settings=None):
    return {"option": option, "manifest_sha256": sha, "spec": {"snr": 0.0, "event_ratio": ratio},
            "total_iou": iou, "per_class_iou": {"dog": iou}, "event_f1": 0.1,
            "fit_seconds": fit, "converged": True,
            "settings": settings or DetectorSettings().to_dict()}


def test_summary_pairs_by_dataset_and_the_rule_respects_the_time_limit():
    from sedal.benchmark.studies import detectors as D

    cells = []
    for i, (p, s2, pool) in enumerate([(0.10, 0.20, 0.30), (0.20, 0.25, 0.41),
                                       (0.15, 0.22, 0.33)]):
        for ratio in (0.2, 1.0):
            sha = f"{ratio}-{i}"
            cells += [_cell("paper", sha, ratio, p), _cell("stack1", sha, ratio, s2),
                      _cell("pool5-17", sha, ratio, pool, fit=500.0)]
    s = D.summarize(cells, {"paper": 50.0, "stack1": 100.0, "pool5-17": None})
    row = next(r for r in s["rows"] if r["option"] == "stack1" and r["ratio"] == 0.2)
    assert row["diff_vs_paper"] == pytest.approx(np.mean([0.10, 0.05, 0.07]))
    assert row["diff_ci"][0] < row["diff_vs_paper"] < row["diff_ci"][1]
    assert row["ratio_to_paper"] == pytest.approx(np.mean([0.2, 0.25, 0.22]) / 0.15)
    # pool is better but over the time limit: the rule picks stack1
    assert s["mean_over_r_snr0"]["pool5-17"] > s["mean_over_r_snr0"]["stack1"]
    assert s["pick"] == "stack1"
    assert D.worth_timing(cells, ["paper", "stack1", "pool5-17"]) == ["stack1", "paper"]
    md = D.format_markdown(s, "t")
    assert "stack1" in md and "not timed" not in md and "> 240" in md


def test_the_table_shows_every_cell_the_study_folder_holds(tmp_path):
    """Cells measured by separate calls (all options at SNR 0, the presets at +-10 dB)
    make one table; other libraries and dataset sizes stay out of it."""
    from sedal.benchmark.studies import detectors as D
    from sedal.core.fsutil import write_json_atomic

    def put(lib, ds, option, snr, n=500):
        cell = _cell(option, f"{lib}{ds}", 0.2, 0.1)
        cell["spec"].update(snr=snr, n_files=n)
        write_json_atomic(tmp_path / "cells" / lib / ds / f"{option}.json", cell)

    put("real", "a", "paper", 0.0)
    put("real", "a", "stack1", 0.0)
    put("real", "b", "paper", 10.0)
    put("real", "c", "paper", 0.0, n=2000)
    put("other", "a", "paper", 0.0)
    cells = D.stored_cells(tmp_path, "real", 500)
    assert sorted((c["option"], c["spec"]["snr"]) for c in cells) == [
        ("paper", 0.0), ("paper", 10.0), ("stack1", 0.0)]
    md = D.format_markdown(D.summarize(cells), "t")
    assert "| paper | +10 | 0.2 | 1 |" in md
    # an option measured on fewer datasets is compared with paper on those datasets only
    extra = [_cell("paper", "x", 0.2, 0.5), _cell("paper", "y", 0.2, 0.1),
             _cell("stack1", "y", 0.2, 0.2)]
    row = next(r for r in D.summarize(extra)["rows"] if r["option"] == "stack1")
    assert row["ratio_to_paper"] == pytest.approx(2.0) and row["n_datasets"] == 1


def test_a_tuned_option_is_timed_with_the_settings_it_chose_most_often():
    from sedal.benchmark.studies import detectors as D

    a = DetectorSettings(C=0.1, kernel=5).to_dict()
    b = DetectorSettings(C=0.01, kernel=3).to_dict()
    cells = [_cell("cv", str(i), 0.2, 0.1, settings=s) for i, s in enumerate([a, b, a])]
    assert D.chosen_settings(cells, "cv") == DetectorSettings(C=0.1, kernel=5)
    assert D.chosen_settings(cells, "paper") == DetectorSettings()


def test_the_field_preset_is_what_the_study_picked():
    """The shipped preset is the rule's pick with settings CV chose in the study
    (docs/results/detectors/real-sources.json)."""
    from pathlib import Path

    doc = json.loads((Path(__file__).resolve().parents[1] / "docs" / "results" / "detectors"
                      / "real-sources.json").read_text())
    assert doc["pick"] == "cv+patch+context"
    field = PRESETS["field"]
    assert field.modes == ("patch", "context") and not field.stack and not field.pool
    chosen = {s for r in doc["rows"] if r["option"] == doc["pick"] for s in r["chosen"]}
    assert json.dumps(field.settings.to_dict(), sort_keys=True) in chosen
    assert doc["fit_seconds_2000"][doc["pick"]] <= 120
