"""Speed goals of the AL benchmark and the embedder (pytest-benchmark; ``tox -e perf``).

- aggregation: >= 10 M segments/s (top_k over 2000 files x 165 segments);
- one AL iteration (fit + test evaluation + pool scoring) at 10 %, 30 % and 50 % labels
  on a 2500-file dataset (synthetic 205-d embeddings shaped like the compacted YAMNet
  patch embeddings, 4 classes, 20 % event files);
- YAMNet patch embedding: segments per second (goal 6 k).
"""

import numpy as np
import pytest

from sedal.benchmark import aggregation
from sedal.benchmark.loop import RunConfig, RunData, evaluate, fit

N_FILES, N_SEG, DIM = 2500, 165, 205


def test_aggregation_top_k(benchmark):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=2000 * N_SEG)
    offsets = np.arange(0, 2000 * N_SEG + 1, N_SEG)
    h = aggregation.entropy(probs)
    benchmark(aggregation.top_k, h, offsets, 10)
    benchmark.extra_info["segments_per_second"] = len(h) / benchmark.stats.stats.mean


def _synthetic_data():
    rng = np.random.default_rng(1)
    n = N_FILES * N_SEG
    labels = np.zeros(n, np.int64)
    for f in rng.choice(N_FILES, N_FILES // 5, replace=False):
        s = f * N_SEG + rng.integers(0, N_SEG - 40)
        labels[s:s + rng.integers(5, 40)] = rng.integers(1, 4)
    centres = rng.normal(size=(4, DIM)).astype(np.float32)
    X = rng.normal(size=(n, DIM)).astype(np.float32) + centres[labels] * 0.5
    splits = np.array(["train"] * 2000 + ["test"] * 500)
    return RunData(X=X, labels=labels, offsets=np.arange(0, n + 1, N_SEG), splits=splits,
                   has_events=np.zeros(N_FILES, bool), durations=np.full(N_FILES, 10.0),
                   classes=["background", "a", "b", "c"], dataset_id="synthetic",
                   dataset_name="synthetic")


@pytest.fixture(scope="module")
def data():
    return _synthetic_data()


@pytest.mark.parametrize("fraction", [0.10, 0.30, 0.50])
def test_al_iteration(benchmark, data, fraction):
    from threadpoolctl import threadpool_limits

    cfg = RunConfig("synthetic", "0" * 64, "top_k", 0)
    train = np.flatnonzero(data.splits == "train")
    test = np.flatnonzero(data.splits == "test")
    rng = np.random.default_rng(2)
    labelled = np.sort(rng.choice(train, int(fraction * len(train)), replace=False))
    before = np.sort(labelled[:int(len(labelled) * 0.95)])
    with threadpool_limits(1):
        prev = fit(data, before, cfg)

    def iteration():
        with threadpool_limits(1):
            clf = fit(data, labelled, cfg, prev=prev)
            evaluate(data, clf, test, 3)
            pool = np.setdiff1d(train, labelled)
            probs = clf.predict_proba(data.X[data.rows(pool)])
            aggregation.file_scores("top_k", probs, data.local_offsets(pool), k=10)

    benchmark.pedantic(iteration, rounds=2, iterations=1)


def test_yamnet_patch_embedding(benchmark, yamnet_model):
    x = np.random.default_rng(3).normal(0, 0.1, 16000 * 60).astype(np.float32)
    patches = yamnet_model.segment_patches(x)
    yamnet_model.embed_patches(patches[:256])
    benchmark.pedantic(yamnet_model.embed_patches, args=(patches,), rounds=3, iterations=1)
    benchmark.extra_info["segments_per_second"] = len(patches) / benchmark.stats.stats.mean
