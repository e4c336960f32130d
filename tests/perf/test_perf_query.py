"""Ranking 100 000 embedded recordings, loading included (goal: 10 s or less).

An on-disk collection store (:class:`sedal.benchmark.practice.embedding_store.EmbeddingStore`)
stands in for 100 000 ten-second recordings embedded by ``sedbench query`` (165 segments
each, 16.5 M segments): YAMNet-like patch embeddings with the ~205 of 1024 columns that
YAMNet's ReLU leaves non-zero, float32, 13.5 GB in about 130 shards. It is built once
(not timed) and deleted afterwards.

Timed, from nothing in memory: opening the store (reading every shard's index), the
classifier's logits for every segment (the columns it uses, gathered block by block from
the memory-mapped shards on 2 threads: a plain copy when it uses every stored column, a
gather when it skips some), entropies, top-K aggregation and the ranking —
what ``sedbench query`` does after hashing the files. The first round reads the shards
from disk, the next from the page cache (the machine has 24 GB).
"""

import shutil

import numpy as np
import pytest

from sedal.benchmark.al import aggregation
from sedal.benchmark.practice.collection import CollectionFeatures
from sedal.benchmark.practice.embedding_store import DIM, EmbeddingStore
from sedal.benchmark.practice.query import scores_from_entropy
from sedal.sed.detector import PRESETS
from sedal.sed.estimator import Detector

N_FILES, N_SEG, ACTIVE = 100_000, 165, 205
SHA = "0" * 64


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("store100k")
    rng = np.random.default_rng(0)
    store = EmbeddingStore(root, SHA)
    cols = np.sort(rng.choice(DIM, ACTIVE, replace=False))
    emb = np.zeros((N_SEG, DIM), np.float32)
    with store.writer() as w:
        for i in range(N_FILES):
            emb[:, cols] = rng.standard_normal((N_SEG, ACTIVE), np.float32)
            w.add(f"{i:064x}", emb.copy())
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("unused", [0, 10])
def test_rank_100k_files_from_the_store(benchmark, store_root, unused):
    """``unused``: stored columns the classifier does not read (0 in all its training data),
    so that they must be skipped when reading the shards."""
    rng = np.random.default_rng(1)
    shas = [f"{i:064x}" for i in range(N_FILES)]
    probe = EmbeddingStore(store_root, SHA)
    Xtr = probe.read(shas[:120], np.arange(DIM))[0]
    Xtr[:, probe.columns(shas[:1])[:unused]] = 0.0
    ytr = rng.integers(0, 4, len(Xtr))
    clf = Detector.paper(classes=list("abcd")).fit(Xtr, ytr)

    def rank():
        rng = np.random.default_rng(1)
        feats = CollectionFeatures.from_stores([EmbeddingStore(store_root, SHA)],
                                               PRESETS["paper"])
        H, top, offsets = feats.segment_entropies(clf, shas, threads=2)
        scores = scores_from_entropy("top_k", H, top != 0, offsets, 10, rng)
        return aggregation.rank(scores, rng)

    order = benchmark.pedantic(rank, rounds=3, iterations=1)
    assert sorted(order.tolist()) == list(range(N_FILES))
    benchmark.extra_info["files"] = N_FILES
    benchmark.extra_info["segments"] = N_FILES * N_SEG
    benchmark.extra_info["columns_read"] = int(len(clf.cols_))
