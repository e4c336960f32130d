"""Ranking 100 000 already-embedded recordings (goal: 10 s or less).

Synthetic embeddings stand in for a cache of 100 000 ten-second recordings
(165 segments each, 16.5 M segments). They are held as float16 with the 205 columns
that YAMNet patch embeddings actually use (the others are always 0 and do not change
the classifier, see sed.model), i.e. 6.8 GB in memory. Timed: classifier
logits for every segment (streamed in chunks on 2 threads, the scaler folded into the
weights), entropies, top-K aggregation and the ranking.
"""

import numpy as np

from sedal.benchmark import aggregation
from sedal.benchmark.query import entropy_streamed, scores_from_entropy
from sedal.sed.model import SegmentClassifier

N_FILES, N_SEG, DIM = 100_000, 165, 205


def test_rank_100k_files(benchmark):
    rng = np.random.default_rng(0)
    X = np.empty((N_FILES * N_SEG, DIM), np.float16)
    step = 1 << 20
    for i in range(0, len(X), step):
        X[i:i + step] = rng.standard_normal((min(step, len(X) - i), DIM), np.float32)
    offsets = np.arange(0, N_FILES * N_SEG + 1, N_SEG)
    y = rng.integers(0, 4, 20000)
    Xtr = rng.standard_normal((20000, DIM)).astype(np.float32) + y[:, None] * 0.1
    clf = SegmentClassifier(4).fit(Xtr, y)

    def rank():
        rng = np.random.default_rng(1)
        H, top = entropy_streamed(clf, X)
        scores = scores_from_entropy("top_k", H, top != 0, offsets, 10, rng)
        return aggregation.rank(scores, rng), scores

    order, scores = benchmark.pedantic(rank, rounds=2, iterations=1)
    assert len(order) == N_FILES
    benchmark.extra_info["files"] = N_FILES
    benchmark.extra_info["segments"] = int(len(X))
