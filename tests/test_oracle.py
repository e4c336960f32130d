"""The simulated annotator: a perfect oracle gives the true labels, the noisy ones follow
their documented model, the test split stays clean, and runs stay deterministic."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sedal.benchmark.al.oracle import ORACLES, NoisyOracle, miss_probability, noisy_events

CLASSES = ["baby", "dog", "meerkat"]
SILENT = NoisyOracle(miss_snr50_db=-1e9, miss_scale_db=1.0, jitter_s=0.0, confusion=0.0,
                     spurious_per_file=0.0, spurious_s=0.5)


def test_miss_probability_is_a_logistic_in_snr():
    o = ORACLES["noisy"]
    assert miss_probability(o.miss_snr50_db, o) == pytest.approx(0.5)
    assert miss_probability(o.miss_snr50_db + 10, o) < 0.01 < 0.99 < miss_probability(
        o.miss_snr50_db - 10, o)


def test_a_silent_noise_model_returns_the_true_events():
    evs = [(1.0, 2.0, "dog"), (3.0, 3.5, "baby")]
    assert noisy_events(evs, [0.0, -20.0], 10.0, CLASSES, SILENT,
                        np.random.default_rng(0)) == evs


@pytest.mark.parametrize("field, value, check", [
    ("miss_snr50_db", 0.0, "misses"),      # P(miss) = 0.5 at SNR 0
    ("confusion", 1.0, "confuses"),        # every class changed
    ("jitter_s", 0.1, "jitters"),
    ("spurious_per_file", 2.0, "spurious"),
])
def test_each_part_of_the_noise_model_does_what_it_says(field, value, check):
    o = dataclasses.replace(SILENT, **{field: value})
    rng = np.random.default_rng(1)
    evs = [(1.0, 3.0, "dog")]
    runs = [noisy_events(evs, [0.0], 10.0, CLASSES, o, rng) for _ in range(2000)]
    if check == "misses":
        assert np.mean([len(r) == 0 for r in runs]) == pytest.approx(0.5, abs=0.04)
    elif check == "confuses":
        labs = [r[0][2] for r in runs]
        assert "dog" not in labs and set(labs) == {"baby", "meerkat"}
    elif check == "jitters":
        on = np.array([r[0][0] for r in runs])
        assert on.std() == pytest.approx(0.1, rel=0.1) and abs(on.mean() - 1.0) < 0.01
    else:
        n = np.array([len(r) - 1 for r in runs])
        assert n.mean() == pytest.approx(2.0, rel=0.1)
        assert all(b - a == pytest.approx(0.5) for r in runs for a, b, _ in r[1:]
                   if (a, b) != (1.0, 3.0))


def _data(al_dataset):
    from sedal.benchmark.al.loop import load_run_data
    from sedal.sed.features import ensure_store, load_dataset_manifest

    store = ensure_store(al_dataset)
    doc, sha = load_dataset_manifest(al_dataset)
    return load_run_data(store, doc, al_dataset.name), sha


def test_noisy_labels_change_the_training_files_only(al_dataset):
    from sedal.benchmark.al.oracle import noisy_labels

    data, _ = _data(al_dataset)
    train = np.flatnonzero(data.splits == "train")
    test_rows = data.rows(np.flatnonzero(data.splits == "test"))
    # with no noise the oracle's labels are the true ones, segment for segment
    same = noisy_labels(data, train, SILENT, np.random.default_rng(0))
    assert np.array_equal(same, data.labels)
    noisy = noisy_labels(data, train, ORACLES["noisy-high"], np.random.default_rng(0))
    assert np.array_equal(noisy[test_rows], data.labels[test_rows])  # the test split is clean
    assert (noisy != data.labels).mean() > 0.001


def test_a_noisy_run_is_deterministic_recorded_and_differs_from_a_perfect_one(al_dataset):
    from sedal.benchmark.al.loop import RunConfig, run_al

    data, sha = _data(al_dataset)
    sched = (0.02, 0.1)
    perfect = run_al(data, RunConfig(str(al_dataset), sha, "top_k", 0, schedule=sched))
    cfg = RunConfig(str(al_dataset), sha, "top_k", 0, schedule=sched, oracle="noisy-high")
    a, b = run_al(data, cfg), run_al(data, cfg)
    assert [r["total_iou"] for r in a] == [r["total_iou"] for r in b]
    assert all(r["oracle"] == "noisy-high" for r in a) and "oracle" not in perfect[0]
    assert cfg.label.endswith("@noisy-high")
    assert cfg.key != RunConfig(str(al_dataset), sha, "top_k", 0, schedule=sched).key
    assert [r["total_iou"] for r in a] != [r["total_iou"] for r in perfect]
    # the perfect oracle's key is what it was before the oracle existed (no 'oracle' key)
    assert "oracle" not in RunConfig(str(al_dataset), sha, "top_k", 0).key_dict()
    assert math.isfinite(a[-1]["total_iou"])


def test_run_refuses_an_unknown_oracle(al_dataset, tmp_path, capsys):
    from sedal.benchmark.cli import main

    assert main(["run", str(al_dataset), "--oracle", "sloppy", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'sloppy'" in capsys.readouterr().err
