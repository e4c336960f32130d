"""Query strategies beyond the study's entropy aggregations (``sedbench run --strategy``).

Score-based (a file score from the segments' raw class probabilities, ranked as the study's
strategies are; they take ``--diversify`` too):

- ``least_confidence_top_k`` / ``least_confidence_mean``: per segment ``1 - max_c p_c``,
  aggregated per file as Top-K (mean of the K largest) or mean;
- ``margin_top_k`` / ``margin_mean``: per segment ``1 - (p_(1) - p_(2))`` (one minus the gap
  between the two most probable classes; the margin perch-hoplite's agile-modeling loop
  ranks by), aggregated the same ways;
- ``event_presence``: the model's belief that a file holds any event, ``max`` over its
  segments of ``1 - p_background`` — the plain competitor that tests whether Top-K wins by
  finding events or by finding uncertainty;
- ``bald_top_k`` / ``bald_mean``: BALD (Houlsby et al. 2011), the mutual information between a
  segment's class and the model, ``H[mean_m p_m] - mean_m H[p_m]`` in bits, over a bootstrap
  ensemble of :data:`BALD_MEMBERS` segment classifiers (the run's detector refitted on the
  labelled files resampled with replacement, from the run's query stream) as the posterior
  approximation; aggregated per file as Top-K or mean. A member whose resample holds one class
  only takes the run's current model.

Diverse by construction (they pick the whole batch themselves; ``--diversify`` is refused):

- ``coreset``: k-center greedy (Sener & Savarese 2018) on file embeddings — the mean of each
  file's segment embeddings — with the labelled files as the initial centres; the selection
  is scikit-activeml's :class:`skactiveml.pool.CoreSet`, run on that file-level
  representation;
- ``badge``: BADGE (Ash et al. 2020) on file-level gradient embeddings: for file ``f``,
  ``g_f = sum over its segments s of (p_s - onehot(argmax p_s)) ⊗ x_s`` (the gradient of
  the cross-entropy at the model's own labels with respect to the last linear layer's
  weights, summed over the file: ``n_classes x n_features`` values), then k-means++ seeding
  over the pool's ``g_f`` (first the largest norm, then each next file drawn with
  probability proportional to its squared distance to the nearest chosen one).
  scikit-activeml's ``Badge`` computes per-sample gradients of a sample-level classifier, not
  sums over a file's segments, so the embedding and the seeding are written here.

The cold-start seed set (TypiClust) is in :mod:`sedal.benchmark.al.pool` and the noisy
oracle in :mod:`sedal.benchmark.al.oracle`.
"""

from __future__ import annotations

import numpy as np

from sedal.benchmark.al import aggregation, diversify
from sedal.benchmark.errors import BenchmarkError

#: Score-based strategies (take ``--diversify``); those ending in ``_top_k`` take ``--k``.
SCORE_STRATEGIES = ("least_confidence_top_k", "least_confidence_mean", "margin_top_k",
                    "margin_mean", "event_presence", "bald_top_k", "bald_mean")
#: Score strategies that need a bootstrap ensemble's probabilities, and its size.
ENSEMBLE_STRATEGIES = ("bald_top_k", "bald_mean")
BALD_MEMBERS = 5
#: Strategies that choose the whole batch (``--diversify`` refused).
BATCH_STRATEGIES = ("coreset", "badge")
EXTRA_STRATEGIES = SCORE_STRATEGIES + BATCH_STRATEGIES


def check_strategy(strategy: str, k: int, diversify_method: str, *,
                   extra: bool = False) -> None:
    """Raise :class:`BenchmarkError` for an unknown strategy or method, or K < 1; ``extra``
    also accepts :data:`EXTRA_STRATEGIES` (AL runs), whose
    batch strategies refuse a diversification."""
    known = aggregation.STRATEGIES + (EXTRA_STRATEGIES if extra else ())
    if strategy not in known:
        raise BenchmarkError(f"unknown strategy {strategy!r}; choose from " + ", ".join(known))
    if strategy in BATCH_STRATEGIES and diversify_method != "none":
        raise BenchmarkError(f"{strategy} chooses a diverse batch by construction: it takes "
                             f"no --diversify (got {diversify_method!r})")
    if k < 1:
        raise BenchmarkError(f"K must be >= 1, got {k}")
    if diversify_method not in diversify.METHODS:
        raise BenchmarkError(f"unknown diversification {diversify_method!r}; choose from "
                             + ", ".join(diversify.METHODS))


def uses_k(strategy: str) -> bool:
    """Whether ``strategy``'s file score depends on K."""
    return strategy == "top_k" or strategy.endswith("_top_k")


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """``1 - max_c p_c`` per row of ``probs`` [n, n_classes]."""
    p = np.asarray(probs, dtype=np.float64)
    return 1.0 - p.max(axis=1) if len(p) else np.zeros(0)


def margin_uncertainty(probs: np.ndarray) -> np.ndarray:
    """``1 - (p_(1) - p_(2))`` per row: 1 when the two most probable classes tie, 0 when one
    class has all the probability."""
    p = np.asarray(probs, dtype=np.float64)
    if not len(p):
        return np.zeros(0)
    top2 = np.sort(p, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def bald(member_probs: np.ndarray) -> np.ndarray:
    """BALD per segment from an ensemble's probabilities [n_members, n, n_classes]: entropy
    of the mean minus the mean entropy, in bits (0 when the members agree)."""
    from sedal.sed.uncertainty import entropy

    P = np.asarray(member_probs, np.float64)
    if P.shape[1] == 0:
        return np.zeros(0)
    return np.maximum(entropy(P.mean(axis=0)) - np.mean([entropy(p) for p in P], axis=0), 0.0)


def extra_file_scores(strategy: str, probs: np.ndarray, offsets: np.ndarray, *,
                      k: int = 10) -> np.ndarray:
    """File scores of a :data:`SCORE_STRATEGIES` strategy (higher: queried first); for the
    :data:`ENSEMBLE_STRATEGIES`, ``probs`` are the members' [n_members, n, n_classes]."""
    if strategy in ENSEMBLE_STRATEGIES:
        values = bald(probs)
        return aggregation.top_k(values, offsets, k) if strategy == "bald_top_k" \
            else aggregation.mean(values, offsets)
    if strategy == "event_presence":
        return aggregation.maximum(1.0 - np.asarray(probs, np.float64)[:, 0], offsets)
    family, agg = strategy.rsplit("_", 1) if not strategy.endswith("_top_k") else (
        strategy[:-len("_top_k")], "top_k")
    values = least_confidence(probs) if family == "least_confidence" \
        else margin_uncertainty(probs)
    return aggregation.top_k(values, offsets, k) if agg == "top_k" \
        else aggregation.mean(values, offsets)


def coreset(pool_feats: np.ndarray, labelled_feats: np.ndarray, batch: int,
            random_state: int) -> np.ndarray:
    """``batch`` pool indices by k-center greedy from the labelled files' features
    (scikit-activeml's CoreSet on the file-level representation)."""
    from skactiveml.pool import CoreSet
    from skactiveml.utils import MISSING_LABEL

    X = np.concatenate([labelled_feats, pool_feats]).astype(np.float64)
    y = np.concatenate([np.zeros(len(labelled_feats)), np.full(len(pool_feats),
                                                                MISSING_LABEL)])
    idx = CoreSet(random_state=random_state, missing_label=MISSING_LABEL).query(
        X, y, batch_size=min(batch, len(pool_feats)))
    return np.asarray(idx, dtype=np.int64) - len(labelled_feats)


def gradient_embeddings(probs: np.ndarray, X: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """BADGE's embedding per file: ``sum_s (p_s - onehot(argmax p_s)) ⊗ x_s``
    [n_files, n_classes * n_features] (see the module docstring)."""
    p = np.asarray(probs, np.float64)
    resid = p.copy()
    resid[np.arange(len(p)), np.argmax(p, axis=1)] -= 1.0
    n_files = len(offsets) - 1
    out = np.zeros((n_files, p.shape[1] * X.shape[1]))
    for f in range(n_files):
        a, b = offsets[f], offsets[f + 1]
        out[f] = (resid[a:b].T @ np.asarray(X[a:b], np.float64)).ravel()
    return out


def kmeanspp_seeds(g: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (BADGE's): the row of largest norm, then rows drawn with
    probability proportional to the squared distance to the nearest chosen row."""
    n = len(g)
    batch = min(batch, n)
    if batch == 0:
        return np.zeros(0, np.int64)
    chosen = [int(np.argmax(np.einsum("ij,ij->i", g, g)))]
    d2 = np.einsum("ij,ij->i", g - g[chosen[0]], g - g[chosen[0]])
    while len(chosen) < batch:
        total = d2.sum()
        if total <= 0:  # every remaining row equals a chosen one: the next unchosen
            nxt = int(np.flatnonzero(~np.isin(np.arange(n), chosen))[0])
        else:
            nxt = int(rng.choice(n, p=d2 / total))
        chosen.append(nxt)
        d2 = np.minimum(d2, np.einsum("ij,ij->i", g - g[nxt], g - g[nxt]))
        d2[chosen] = 0.0
    return np.array(chosen, dtype=np.int64)
