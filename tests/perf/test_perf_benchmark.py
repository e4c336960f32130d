"""Speed goals of the AL benchmark and the embedder (pytest-benchmark; ``tox -e perf``).

- aggregation: >= 10 M segments/s (top_k over 2000 files x 165 segments);
- one AL iteration (fit + test evaluation + pool scoring) at 10 %, 30 % and 50 % labels
  on a 2500-file dataset (synthetic 205-d embeddings shaped like the compacted YAMNet
  patch embeddings, 4 classes, 20 % event files);
- one query step per strategy on the 2000-file pool at 10 % labelled (selection cost; the
  BALD strategies' includes fitting their bootstrap ensemble);
- one AL classifier fit on 66 k correlated segments, by solver (the whitened L-BFGS default
  against scikit-learn's lbfgs): what the main job's time is made of;
- YAMNet embedding, network alone and ``sedbench embed`` end to end, per engine (LiteRT and
  the TensorFlow reference) and mode, with the fraction of the machine's FMA peak
  (goal: end to end >= 70 % of it in patch mode, 4.4 k segments/s).
"""

import copy

import numpy as np
import pytest

from sedal.benchmark.al import aggregation
from sedal.benchmark.al.loop import RunConfig, RunData, evaluate, fit, new_detector
from sedal.sed.uncertainty import entropy

N_FILES, N_SEG, DIM = 2500, 165, 205


def test_aggregation_top_k(benchmark):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=2000 * N_SEG)
    offsets = np.arange(0, 2000 * N_SEG + 1, N_SEG)
    h = entropy(probs)
    scores = benchmark(aggregation.top_k, h, offsets, 10)
    benchmark.extra_info["segments_per_second"] = len(h) / benchmark.stats.stats.mean
    # what was timed is right: the mean of each file's 10 largest entropies
    want = np.sort(h.reshape(2000, N_SEG), axis=1)[:, -10:].mean(axis=1)
    np.testing.assert_allclose(scores, want, rtol=1e-12)


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
        prev = fit(data, before, new_detector(data, cfg))

    def iteration():
        with threadpool_limits(1):
            det = fit(data, labelled, copy.copy(prev))  # warm-started from ``prev``
            metrics = evaluate(data, det, test)
            pool = np.setdiff1d(train, labelled)
            probs = det.predict_proba(data.X[data.rows(pool)])
            scores = aggregation.file_scores("top_k", probs, data.local_offsets(pool), k=10)
        return det, metrics, pool, scores

    det, metrics, pool, scores = benchmark.pedantic(iteration, rounds=2, iterations=1)
    # what was timed did its job: a converged fit, a defined IoU, one score per pool file
    assert det.converged_ and 0.0 <= metrics["total_iou"] <= 1.0
    assert scores.shape == (len(pool),) and np.isfinite(scores).all()


#: The machine's fp32 FMA peak in patch-mode segments/s: 2 cores x 16 MAC/cycle (AVX2 FMA,
#: 2 units x 8 lanes) x 2.45 GHz = 78.4 G MAC/s over 12.4 M MAC per 0.12 s patch.
PATCH_PEAK = 2 * 16 * 2.45e9 / 12.4e6
#: ... and per 0.96 s context window (68.6 M MAC).
CONTEXT_PEAK = 2 * 16 * 2.45e9 / 68.6e6


@pytest.mark.parametrize("engine", ["litert", "tf"])
@pytest.mark.parametrize("mode", ["patch", "context"])
def test_yamnet_embedding_network(benchmark, yamnet_model, engine, mode):
    """The network alone on prepared inputs (a minute of audio), each engine and mode."""
    from sedal.sed.yamnet import YAMNet

    model = YAMNet(yamnet_model.weights, engine=engine)
    x = np.random.default_rng(3).normal(0, 0.1, 16000 * 60).astype(np.float32)
    patches = model.segment_patches(x, mode=mode)
    model.embed_patches(patches[:600])  # build / trace
    emb = benchmark.pedantic(model.embed_patches, args=(patches,), rounds=3, iterations=1)
    assert emb.shape == (len(patches), 1024) and np.isfinite(emb).all()
    rate = len(patches) / benchmark.stats.stats.mean
    benchmark.extra_info["segments_per_second"] = rate
    benchmark.extra_info["fraction_of_fma_peak"] = rate / (PATCH_PEAK if mode == "patch"
                                                           else CONTEXT_PEAK)


@pytest.mark.parametrize("engine", ["litert", "tf"])
def test_embed_end_to_end(benchmark, yamnet_model, engine, tmp_path_factory):
    """``sedbench embed``'s work (decode, log-mel, network, store) on a 200-file dataset."""
    import shutil

    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.features import ensure_store
    from sedal.sed.yamnet import YAMNet

    ds = tmp_path_factory.mktemp("e2e") / "D"
    make_dataset(DatasetSpec(n_files=200, seed=5), ds, builtin="clean", jobs=2)
    model = YAMNet(yamnet_model.weights, engine=engine)
    model.embed_patches(model.segment_patches(np.zeros(16000, np.float32)))

    def build():
        shutil.rmtree(ds / "features", ignore_errors=True)
        return ensure_store(ds, model=model)

    store = benchmark.pedantic(build, rounds=2, iterations=1)
    assert store.meta["complete"] and store.embeddings.shape == (store.meta["n_segments"], 1024)
    assert np.isfinite(np.asarray(store.embeddings[:1000])).all()
    rate = store.meta["n_segments"] / benchmark.stats.stats.mean
    benchmark.extra_info["segments_per_second"] = rate
    benchmark.extra_info["fraction_of_fma_peak"] = rate / PATCH_PEAK


@pytest.fixture(scope="module")
def correlated_segments():
    """400 files' worth of segments (66 k x 270) whose columns share a few factors, as
    YAMNet's ReLU embeddings do (the reason plain lbfgs needs hundreds of iterations)."""
    rng = np.random.default_rng(5)
    n, d = 400 * N_SEG, 270
    labels = np.where(rng.random(n) < 0.07, rng.integers(1, 4, n), 0)
    factors = rng.normal(size=(n, 12)) + np.eye(12)[labels] * 1.5
    X = np.maximum(factors @ rng.normal(size=(12, d)) + 0.3 * rng.normal(size=(n, d)), 0)
    return X.astype(np.float32), labels


@pytest.mark.parametrize("solver", ["whitened-lbfgs", "sklearn-lbfgs"])
def test_al_fit_by_solver(benchmark, correlated_segments, solver):
    """One from-scratch AL fit to tol 1e-5 on one thread: the whitened solver (the default)
    against scikit-learn's lbfgs on the same objective."""
    from threadpoolctl import threadpool_limits

    from sedal.sed.model import SegmentClassifier

    X, y = correlated_segments

    def fit_once():
        with threadpool_limits(1):
            return SegmentClassifier(4, tol=1e-5, solver=solver).fit(X, y)

    clf = benchmark.pedantic(fit_once, rounds=2, iterations=1)
    benchmark.extra_info["lbfgs_iterations"] = clf.n_iter_
    assert clf.converged_


def _every_strategy():
    from sedal.benchmark.al.strategies import EXTRA_STRATEGIES

    return ("random", "top_k", "mean") + EXTRA_STRATEGIES


@pytest.mark.parametrize("strategy", _every_strategy())
def test_query_selection_cost(benchmark, data, strategy):
    """One query step on the 2000-file training pool at 10 % labelled (a 1 % batch): the
    strategy's selection cost alone, the model's pool probabilities given (for the BALD
    strategies it includes fitting their bootstrap ensemble, which is their real cost)."""
    from threadpoolctl import threadpool_limits

    from sedal.benchmark.al.querying import query_batch

    cfg = RunConfig("synthetic", "0" * 64, strategy, 0)
    train = np.flatnonzero(data.splits == "train")
    train_off = data.local_offsets(train)
    rng = np.random.default_rng(3)
    labelled = np.sort(rng.choice(train, len(train) // 10, replace=False))
    with threadpool_limits(1):
        det = fit(data, labelled, new_detector(data, cfg))
        probs_train = det.predict_proba(data.X[data.rows(train)])
    target = len(labelled) + len(train) // 100

    def step():
        with threadpool_limits(1):
            return query_batch(data, cfg, train, train_off, labelled, target, probs_train,
                               np.random.default_rng(4))

    # one warm-up round: the first call imports scikit-activeml (core-set), once per process
    chosen = benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["pool_files"] = int(len(train) - len(labelled))
    # what was timed did its job: the labelled set grew by exactly the batch, from the pool
    assert len(chosen) == target and set(labelled) <= set(chosen.tolist())
    assert len(np.unique(chosen)) == target


@pytest.mark.parametrize("window_hop", [0.5, 1.0])
def test_birdnet_embed_end_to_end(benchmark, window_hop, tmp_path_factory):
    """``sedbench embed --backbone birdnet`` on a 20-file dataset of 10-s files (the model
    fetched once through pip; opt-in, CC BY-NC-SA 4.0): windows/s and x real time."""
    import shutil

    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.birdnet import BirdNET, window_centres
    from sedal.sed.features import FeatureParams, ensure_store

    ds = tmp_path_factory.mktemp("bn") / "D"
    make_dataset(DatasetSpec(n_files=20, seed=5), ds, builtin="clean", jobs=1)
    model = BirdNET(window_hop=window_hop)
    params = FeatureParams(mode=f"w{window_hop:g}", backbone="birdnet")

    def build():
        shutil.rmtree(ds / "features", ignore_errors=True)
        return ensure_store(ds, params, model=model)

    store = benchmark.pedantic(build, rounds=2, iterations=1, warmup_rounds=1)
    assert store.meta["complete"] and store.embeddings.shape == (store.meta["n_segments"], 1024)
    assert np.isfinite(np.asarray(store.embeddings)).all()
    windows = 20 * len(window_centres(10.0, window_hop))
    benchmark.extra_info["windows_per_second"] = windows / benchmark.stats.stats.mean
    benchmark.extra_info["x_real_time"] = 200.0 / benchmark.stats.stats.mean
