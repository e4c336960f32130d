"""Regression tests for defects a review of this session's changes found (2026-12-04)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sedal.benchmark.errors import BenchmarkError


def test_a_birdnet_style_table_names_its_own_recording_even_when_another_folder_has_the_name(
        tmp_path):
    from sedal.benchmark.practice.collection import scan_audio
    from sedal.benchmark.practice.labelled import collect_annotations
    from sedal.sed.classmap import class_names
    from sedal.sed.events_io import to_birdnet_raven

    audio, labels = tmp_path / "audio", tmp_path / "labels"
    for site in ("site1", "site2"):
        (audio / site).mkdir(parents=True)
        sf.write(audio / site / "a.wav", np.zeros(16000 * 5, np.float32), 16000)
    (labels / "site1").mkdir(parents=True)
    (labels / "site1" / "a.Table.1.selections.txt").write_text(to_birdnet_raven(
        [(str(audio / "site1" / "a.wav"), 0.0, [(1.0, 2.0, "dog", 0.9)], 8000.0)],
        class_names(["dog"])))
    recs, _ = scan_audio(audio)
    ann = collect_annotations(labels, recs)
    assert ann.events == {"site1/a": [(1.0, 2.0, "dog")]}


def test_bands_from_tables_are_clipped_to_nyquist_and_matched_by_class(tmp_path):
    from sedal.benchmark.practice.clip_state import bands_from_table

    table = tmp_path / "a.Table.1.selections.txt"
    table.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
                     "High Freq (Hz)\tAnnotation\n"
                     "1\tSpectrogram 1\t1\t1.0\t2.0\t3000\t4000\tbaby\n"
                     "2\tSpectrogram 1\t1\t1.0\t2.0\t500\t1000\tdog\n"
                     "3\tSpectrogram 1\t1\t3.0\t4.0\t0\t15000\tdog\n"      # BirdNET's 15 kHz
                     "4\tSpectrogram 1\t1\t5.0\t6.0\t9000\t15000\tdog\n")  # all above Nyquist
    events = [(1.0, 2.0, "baby"), (1.0, 2.0, "Dog"), (3.0, 4.0, "dog"), (5.0, 6.0, "dog")]
    got = bands_from_table(str(table), "a.wav", events, (0.0, 8000.0), 8000.0)
    assert [b[3:] for b in got] == [(3000.0, 4000.0), (500.0, 1000.0), (0.0, 8000.0),
                                    (0.0, 8000.0)]


def test_an_event_starting_in_the_last_millisecond_is_refused_not_inverted():
    from sedal.benchmark.practice.clip_state import validate_boxes

    with pytest.raises(BenchmarkError, match="is not inside the recording"):
        validate_boxes([{"onset": 10.0005, "offset": 10.0009, "label": "dog"}], ["dog"], 10.0,
                       16000, (0.0, 8000.0))
    assert validate_boxes([{"onset": 9.5, "offset": 10.0009, "label": "dog"}], ["dog"], 10.0,
                          16000, (0.0, 8000.0))[0][:2] == (9.5, 10.0)


def test_a_config_k_sweep_applies_to_every_top_k_strategy(tmp_path):
    from sedal.benchmark.al.plan import experiments_from_config

    (tmp_path / "d").mkdir()
    cfg = {"experiment": [{"dataset": "d", "strategies": ["margin_top_k", "mean"],
                           "k": [1, 30]}]}
    exps = experiments_from_config(cfg, tmp_path)
    assert sorted((e.strategy, e.k) for e in exps) == [("margin_top_k", 1),
                                                       ("margin_top_k", 30), ("mean", 10)]


def test_agreement_merges_class_spellings_across_annotators(tmp_path):
    from sedal.benchmark.practice.agreement import annotator_agreement
    from sedal.sed.events_io import to_raven

    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", np.zeros(16000 * 5, np.float32), 16000)
    for who, lab in (("alice", "Dog"), ("bob", "dog")):
        p = tmp_path / "labels" / who / "a.Table.1.selections.txt"
        p.parent.mkdir(parents=True)
        p.write_text(to_raven([(1.0, 2.0, lab)]))
    res = annotator_agreement(audio, tmp_path / "labels")
    assert res["classes"] == ["dog"] and res["pairs"][0]["f1"] == 1.0


def test_bald_members_disagree_once_there_are_labels_and_use_the_oracles_labels(al_dataset):
    from sedal.benchmark.al import strategies as S
    from sedal.benchmark.al.loop import RunConfig, load_run_data, new_detector, run_al
    from sedal.benchmark.al.querying import _bootstrap_probs
    from sedal.sed.features import ensure_store, load_dataset_manifest

    store = ensure_store(al_dataset)
    doc, sha = load_dataset_manifest(al_dataset)
    data = load_run_data(store, doc, al_dataset.name)
    train = np.flatnonzero(data.splits == "train")
    ev, bg = train[data.has_events[train]], train[~data.has_events[train]]
    labelled = np.sort(np.concatenate([ev[:10], bg[:10]]))
    pool = np.sort(np.concatenate([ev[10:30], bg[10:30]]))
    cfg = RunConfig(str(al_dataset), sha, "bald_top_k", 0)
    det = new_detector(data, cfg).fit(data.X[data.rows(labelled)],
                                      data.labels[data.rows(labelled)])
    X_pool = data.X[data.rows(pool)]
    members = _bootstrap_probs(data, cfg, labelled, X_pool, det.predict_proba(X_pool),
                               np.random.default_rng(0), data.labels)
    assert members.shape[0] == S.BALD_MEMBERS and S.bald(members).max() > 0.01
    # other labels (an oracle's) give other members: the ensemble trains on what it is given
    flipped = data.labels.copy()
    flipped[data.rows(labelled)] = 0
    flipped[data.rows(labelled[:3])] = 1
    other = _bootstrap_probs(data, cfg, labelled, X_pool, det.predict_proba(X_pool),
                             np.random.default_rng(0), flipped)
    assert not np.allclose(other, members)
    noisy = RunConfig(str(al_dataset), sha, "bald_mean", 0, schedule=(0.02, 0.05),
                      oracle="noisy-high")
    assert [r["total_iou"] for r in run_al(data, noisy)] == \
        [r["total_iou"] for r in run_al(data, noisy)]


def test_typiclust_fills_the_seed_set_when_files_are_duplicates():
    from sedal.benchmark.al.pool import typiclust

    X = np.zeros((30, 2))
    X[:3] = [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
    chosen = typiclust(np.arange(30), 5, X, np.random.default_rng(0))
    assert len(chosen) == len(set(chosen.tolist())) == 5


def test_docs_no_longer_say_built_parts_are_missing():
    doc = (Path(__file__).resolve().parents[1] / "benchmark" / "al" / "strategies.py").read_text()
    assert "Not here yet" not in doc
