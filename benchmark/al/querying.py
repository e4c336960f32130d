"""One query step of an AL run: score the unlabelled pool with the strategy, rank, and pick
the batch (optionally diversified)."""

from __future__ import annotations

import numpy as np

from sedal.benchmark.al import aggregation, diversify, strategies
from sedal.sed.rows import file_rows


def file_mean_embeddings(data) -> np.ndarray:
    """Mean embedding of each file (for farthest-first diversification)."""
    if data.file_means is None:
        lengths = np.diff(data.offsets)
        idx = np.repeat(np.arange(len(lengths)), lengths)
        sums = np.zeros((len(lengths), data.X.shape[1]))
        np.add.at(sums, idx, data.X)
        data.file_means = (sums / np.maximum(lengths, 1)[:, None]).astype(np.float32)
    return data.file_means


def query_batch(data, cfg, train, train_off, labelled, target, probs_train, rng,
                labels=None) -> np.ndarray:
    """The labelled files after one query of ``target - len(labelled)`` files (sorted);
    ``labels``: the segment labels the run trains on (a noisy oracle's), if not the true."""
    pool = np.setdiff1d(train, labelled)
    batch = target - len(labelled)
    if cfg.strategy in strategies.BATCH_STRATEGIES:
        chosen_local = _batch_strategy(data, cfg, train, train_off, labelled, pool, batch,
                                       probs_train, rng)
        return np.sort(np.concatenate([labelled, pool[chosen_local]]))
    if cfg.strategy == "random":
        scores = aggregation.random(len(pool), rng)
    else:
        local = file_rows(train_off, np.searchsorted(train, pool))
        probs = probs_train[local]
        if cfg.strategy in strategies.ENSEMBLE_STRATEGIES:
            probs = _bootstrap_probs(data, cfg, labelled, data.X[data.rows(pool)], probs, rng,
                                     data.labels if labels is None else labels)
        score = strategies.extra_file_scores if cfg.strategy in strategies.SCORE_STRATEGIES \
            else aggregation.file_scores
        scores = score(cfg.strategy, probs, data.local_offsets(pool), k=cfg.k)
    order = aggregation.rank(scores, rng)
    if cfg.diversify == "farthest":
        chosen_local = _farthest(order, batch, cfg.factor, file_mean_embeddings(data), pool,
                                 labelled)
    else:
        chosen_local = diversify.select(cfg.diversify, order, batch, factor=cfg.factor,
                                        rng=rng)
    return np.sort(np.concatenate([labelled, pool[chosen_local]]))


def _farthest(order, batch, factor, feats, pool, labelled):
    """Farthest-first among the top ``factor * batch`` pool files (local indices)."""
    cands = order[:max(batch, factor * batch)]
    chosen = diversify.farthest(pool[cands], feats, labelled, batch)
    pos = {f: i for i, f in enumerate(pool)}
    return np.array([pos[f] for f in chosen], dtype=np.int64)


def _batch_strategy(data, cfg, train, train_off, labelled, pool, batch, probs_train, rng):
    """Local pool indices of the batch a :data:`~sedal.benchmark.al.strategies.
    BATCH_STRATEGIES` strategy chooses."""
    if cfg.strategy == "coreset":
        feats = file_mean_embeddings(data)
        # scikit-activeml draws its ties from a seed: one from this run's query stream
        return strategies.coreset(feats[pool], feats[labelled], batch,
                                  int(rng.integers(2**31 - 1)))
    local = file_rows(train_off, np.searchsorted(train, pool))
    g = strategies.gradient_embeddings(probs_train[local], data.X[data.rows(pool)],
                                       data.local_offsets(pool))
    return strategies.kmeanspp_seeds(g, batch, rng)


def _bootstrap_probs(data, cfg, labelled, X_pool, current, rng, labels) -> np.ndarray:
    """Pool probabilities of :data:`~sedal.benchmark.al.strategies.BALD_MEMBERS` detectors,
    each fitted on the labelled files resampled with replacement [members, n, classes] (the
    current model's where a resample holds one class)."""
    from sedal.sed.estimator import Detector

    out = []
    for _ in range(strategies.BALD_MEMBERS):
        files = np.sort(rng.choice(labelled, size=len(labelled), replace=True))
        rows = data.rows(files)
        y = labels[rows]
        if len(np.unique(y)) < 2:
            out.append(current)
            continue
        det = Detector.from_spec(cfg.detector, classes=list(data.classes))
        out.append(det.fit(data.X[rows], y).predict_proba(X_pool))
    return np.stack(out)
