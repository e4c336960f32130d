"""The collection embedding store: one append-only, content-hash keyed set of shards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sedal.benchmark.practice.collection import CollectionFeatures
from sedal.benchmark.practice.embedding_store import DIM, EmbeddingStore
from sedal.benchmark.practice.query import entropy_streamed
from sedal.sed.detector import PRESETS, DetectorSpec, build_features
from sedal.sed.estimator import Detector

SHA = "ab" * 32


def _emb(rng, n, active=None):
    """A YAMNet-like embedding: non-negative, most columns 0 everywhere."""
    active = rng.choice(DIM, 200, replace=False) if active is None else active
    e = np.zeros((n, DIM), np.float32)
    e[:, active] = rng.gamma(1.0, 1.0, (n, len(active))).astype(np.float32)
    return e


def _fill(store, rng, n_files, lengths=(3, 40)):
    embs = {}
    with store.writer() as w:
        for i in range(n_files):
            sha = f"{i:064x}"
            embs[sha] = _emb(rng, int(rng.integers(*lengths)))
            w.add(sha, embs[sha])
    return embs


def test_round_trip_and_column_reads(tmp_path):
    rng = np.random.default_rng(0)
    store = EmbeddingStore(tmp_path, SHA)
    embs = _fill(store, rng, 50)
    again = EmbeddingStore(tmp_path, SHA)  # another process opening it
    assert len(again) == 50 and len(list(again.root.glob("shards/*.json"))) > 1
    for sha, e in embs.items():
        assert np.array_equal(again.load(sha), e)
    shas = list(embs)[::-1][:20]
    cols = np.array([0, 5, *again.columns(shas)[:30], 1023])
    cols = np.unique(cols)
    X, off = again.read(shas, cols)
    assert np.array_equal(X, np.concatenate([embs[s][:, cols] for s in shas]))
    assert np.array_equal(np.diff(off), [len(embs[s]) for s in shas])
    full = np.concatenate([embs[s] for s in shas])
    assert not np.any(np.delete(full, again.columns(shas), axis=1))  # the rest is all 0


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_reads_equal_a_plain_gather(tmp_path_factory, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    store = EmbeddingStore(tmp_path_factory.mktemp("s"), SHA)
    embs = _fill(store, rng, data.draw(st.integers(1, 40)), lengths=(0, 7))
    shas = data.draw(st.lists(st.sampled_from(list(embs)), max_size=30))
    cols = np.array(sorted(data.draw(st.sets(st.integers(0, DIM - 1), max_size=40))),
                    dtype=np.int64)
    X, off = store.read(shas, cols)
    want = (np.concatenate([embs[s][:, cols] for s in shas]) if shas
            else np.zeros((0, len(cols)), np.float32))
    assert np.array_equal(X, want) and off[-1] == len(want)


def test_appending_never_rewrites_a_shard(tmp_path):
    rng = np.random.default_rng(1)
    store = EmbeddingStore(tmp_path, SHA)
    _fill(store, rng, 5)
    before = {p: p.read_bytes() for p in store.root.glob("shards/*")}
    store.save("cd" * 32, _emb(rng, 4))
    after = {p: p.read_bytes() for p in store.root.glob("shards/*")}
    assert all(after[p] == b for p, b in before.items()) and len(after) == len(before) + 2
    assert len(EmbeddingStore(tmp_path, SHA)) == 6


def test_damaged_or_unfinished_shards_do_not_count(tmp_path):
    rng = np.random.default_rng(2)
    store = EmbeddingStore(tmp_path, SHA)
    store.save("01" * 32, _emb(rng, 5))
    store.save("02" * 32, _emb(rng, 5))
    shards = sorted(store.root.glob("shards/*.json"))
    # a writer stopped between data and index: data without an index is not a shard
    (store.root / "shards" / "x.npy").write_bytes(b"\x93NUMPY partial")
    # a shard whose data were truncated, and one whose index lies about its rows
    target = next(p for p in shards if "01" * 32 in p.read_text())
    npy = target.with_suffix(".npy")
    npy.write_bytes(npy.read_bytes()[:100])
    other = next(p for p in shards if p != target)
    meta = json.loads(other.read_text())
    meta["entries"][0][2] = 500
    other.write_text(json.dumps(meta))
    again = EmbeddingStore(tmp_path, SHA)
    assert len(again) == 0 and not target.exists() and not other.exists()


def test_the_former_per_file_cache_moves_into_a_shard(tmp_path):
    rng = np.random.default_rng(3)
    probe = EmbeddingStore(tmp_path, SHA)
    e = _emb(rng, 6)
    legacy = probe.root / "ef" / ("ef" * 32 + ".npy")
    legacy.parent.mkdir(parents=True)
    np.save(legacy, e)
    store = EmbeddingStore(tmp_path, SHA)
    assert np.array_equal(store.load("ef" * 32), e) and not legacy.exists()


@pytest.mark.parametrize("name", ["paper", "field", "stack"])
def test_entropies_from_the_store_equal_those_of_the_full_features(tmp_path, name):
    """Ranking reads only the classifier's columns, block by block; the entropies are
    those of the whole feature matrix to float32 rounding, the decided classes the same, and
    a second pass gives the same bytes. (Not to the bit across block sizes: BLAS picks its
    kernel by matrix shape, and on this project's AMD EPYC machine a 7-file block and the
    whole matrix round the last bit differently, 2026-12-04.)"""
    rng = np.random.default_rng(4)
    det = DetectorSpec(stack=1) if name == "stack" else PRESETS[name]
    stores = [EmbeddingStore(tmp_path, SHA, m) for m in det.modes]
    shas = [f"{i:064x}" for i in range(30)]
    lengths = rng.integers(1, 30, len(shas))
    for store in stores:
        active = rng.choice(DIM, 150, replace=False)
        with store.writer() as w:
            for sha, n in zip(shas, lengths):
                w.add(sha, _emb(rng, int(n), active))
    feats = CollectionFeatures.from_stores(stores, det)
    X = np.concatenate([feats.load(s) for s in shas])
    off = np.concatenate([[0], np.cumsum(lengths)])
    assert np.array_equal(X, build_features([np.concatenate([st.load(s) for s in shas])
                                             for st in stores], off, det))
    y = rng.integers(0, 3, len(X))
    clf = Detector.from_spec(det, classes=list("abcd")).fit(X, y)
    H, top, offsets = feats.segment_entropies(clf, shas, files_per_block=7)
    H0, top0 = entropy_streamed(clf, X)
    assert np.array_equal(offsets, off)
    np.testing.assert_allclose(H, H0, rtol=1e-5, atol=1e-6)
    assert np.array_equal(top, top0)
    again = feats.segment_entropies(clf, shas, files_per_block=7)
    assert np.array_equal(again[0], H) and np.array_equal(again[1], top)


def test_file_hashes_are_remembered_until_the_file_changes(tmp_path, monkeypatch):
    import os

    from sedal.benchmark.practice import file_hashes
    from sedal.core.fsutil import sha256_file

    calls = []
    monkeypatch.setattr(file_hashes, "sha256_file",
                        lambda p: calls.append(p) or sha256_file(p))
    f = tmp_path / "a.wav"
    f.write_bytes(b"one")
    memo = tmp_path / "cache" / "file-hashes.json"
    h = file_hashes.FileHashes(memo)
    first = h.sha256(f)
    h.save()
    assert file_hashes.FileHashes(memo).sha256(f) == first and len(calls) == 1
    f.write_bytes(b"two")  # same size: the modification time tells
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert file_hashes.FileHashes(memo).sha256(f) == sha256_file(f) != first
    memo.write_text("{ damaged")
    assert file_hashes.FileHashes(memo).sha256(f) == sha256_file(f)


def test_rankings_do_not_depend_on_how_the_store_was_filled(tmp_path):
    """The same recordings embedded in another order and other rounds (other shards, other
    column sets per shard) give the same entropies, to the bit."""
    rng = np.random.default_rng(5)
    shas = [f"{i:064x}" for i in range(40)]
    embs = {s: _emb(rng, int(rng.integers(5, 30))) for s in shas}
    a = EmbeddingStore(tmp_path / "a", SHA)
    with a.writer() as w:
        for s in shas:
            w.add(s, embs[s])
    b = EmbeddingStore(tmp_path / "b", SHA)
    for chunk in (shas[25:][::-1], shas[:3], shas[3:25]):  # three rounds, another order
        with b.writer() as w:
            for s in chunk:
                w.add(s, embs[s])
    X = np.concatenate([embs[s] for s in shas])
    clf = Detector.paper(classes=list("abcd")).fit(X, rng.integers(0, 4, len(X)))
    fa = CollectionFeatures.from_stores([a], PRESETS["paper"])
    fb = CollectionFeatures.from_stores([b], PRESETS["paper"])
    for block in (7, 1024):
        Ha, ta, _ = fa.segment_entropies(clf, shas, files_per_block=block)
        Hb, tb, _ = fb.segment_entropies(clf, shas, files_per_block=block)
        assert np.array_equal(Ha, Hb) and np.array_equal(ta, tb)


def test_reading_no_columns_gives_the_rows_and_nothing_else(tmp_path):
    rng = np.random.default_rng(6)
    store = EmbeddingStore(tmp_path, SHA)
    embs = _fill(store, rng, 3)
    feats = CollectionFeatures.from_stores([store], PRESETS["paper"])
    X = feats.read(list(embs), np.zeros(0, np.int64))
    assert X.shape == (sum(len(e) for e in embs.values()), 0)
