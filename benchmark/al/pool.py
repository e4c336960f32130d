"""The labelled pool of an AL run: how its seed set is drawn, what it is made of, whether the
run started cold, and the label-free stopping signal (agreement between successive models).
"""

from __future__ import annotations

import numpy as np

SEED_SETS = ("random", "stratified", "typiclust")
#: TypiClust's neighbourhood size (its paper's K).
TYPICLUST_K = 20


def draw_seed_set(train: np.ndarray, n: int, rng: np.random.Generator, how: str = "random",
                  file_classes: list[set] | None = None, classes: list[str] | None = None,
                  file_features=None) -> np.ndarray:
    """The seed set: ``n`` training files (sorted file indices).

    ``"random"``: a uniform draw without replacement (the study's). ``"stratified"``: first
    one random file holding each event class (in ``classes`` order, skipping classes already
    present and classes no training file holds, and only while fewer than ``n`` are
    chosen), then uniform draws for the rest -- as a practitioner starts from a few known
    calls. ``file_classes[i]`` is the set of event classes in file ``i``. ``"typiclust"``:
    :func:`typiclust` on ``file_features()`` (a callable giving each file's feature vector,
    e.g. its mean segment embedding; label-free, so a cold start can use it).
    """
    if how not in SEED_SETS:
        raise ValueError(f"unknown seed set {how!r}; choose from {', '.join(SEED_SETS)}")
    if how == "random":
        return np.sort(rng.choice(train, size=n, replace=False))
    if how == "typiclust":
        return typiclust(train, n, file_features(), rng)
    chosen: list[int] = []
    for c in classes or []:
        if len(chosen) >= n or any(c in file_classes[f] for f in chosen):
            continue
        holders = np.array([f for f in train if c in file_classes[f]], dtype=np.int64)
        if len(holders):
            chosen.append(int(rng.choice(holders)))
    rest = np.setdiff1d(train, chosen)
    more = rng.choice(rest, size=n - len(chosen), replace=False) if n > len(chosen) else []
    return np.sort(np.concatenate([np.array(chosen, dtype=np.int64),
                                   np.asarray(more, dtype=np.int64)]))


def typiclust(train: np.ndarray, n: int, features: np.ndarray, rng: np.random.Generator,
              k: int = TYPICLUST_K) -> np.ndarray:
    """TypiClust's cold-start selection (Hacohen et al. 2022): k-means of the training files'
    ``features`` into ``n`` clusters (seeded from ``rng``, one BLAS/OpenMP thread), then from
    each cluster, largest first, its most typical file — the one with the smallest mean
    Euclidean distance to its ``k`` nearest neighbours among all training files (typicality
    is the inverse of that). Sorted file indices."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    X = np.asarray(features, np.float64)[train]
    n = min(n, len(train))
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=n, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(X)
    sq = np.einsum("ij,ij->i", X, X)
    kk = min(k, len(X) - 1)
    chosen = []
    sizes = np.bincount(km.labels_, minlength=n)
    for c in sorted(range(n), key=lambda c: (-sizes[c], c)):
        members = np.flatnonzero(km.labels_ == c)
        if not len(members):
            continue
        d2 = np.maximum(sq[members, None] + sq[None, :] - 2 * X[members] @ X.T, 0.0)
        d = np.sqrt(np.sort(d2, axis=1)[:, 1:kk + 1]) if kk > 0 else np.zeros((len(members), 1))
        chosen.append(int(train[members[np.argmin(d.mean(axis=1))]]))
    if len(chosen) < n:  # k-means left a cluster empty (duplicate files): most typical rest
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0)
        typ = np.sqrt(np.sort(d2, axis=1)[:, 1:kk + 1]).mean(axis=1) if kk > 0 \
            else np.zeros(len(X))
        rest = [int(train[i]) for i in np.argsort(typ, kind="stable")
                if int(train[i]) not in chosen]
        chosen += rest[:n - len(chosen)]
    return np.sort(np.array(chosen, dtype=np.int64))


def makeup(events: list[tuple], files: np.ndarray, classes: list[str]) -> dict:
    """What the files hold: the share with events, event boxes per class, and event seconds
    (sum of event durations, overlaps counted twice).

    ``events[i]`` is file ``i``'s ``((onset_s, offset_s, label), ...)``.
    """
    evs = [events[i] for i in files]
    out = {"labelled_event_fraction": float(np.mean([bool(e) for e in evs])) if evs else 0.0,
           "labelled_events": int(sum(len(e) for e in evs)),
           "labelled_event_seconds": round(float(sum(b - a for e in evs for a, b, _ in e)), 6)}
    for c in classes:
        out[f"labelled_events_{c}"] = int(sum(1 for e in evs for _, _, lab in e if lab == c))
    return out


def cold_start(events: list[tuple], seed_files: np.ndarray, classes: list[str]) -> dict:
    """Whether the seed set held any event file, and how many of the event classes."""
    present = {lab for i in seed_files for _, _, lab in events[i]}
    n_event_files = int(sum(bool(events[i]) for i in seed_files))
    return {"seed_event_files": n_event_files,
            "seed_classes": int(sum(c in present for c in classes)),
            "cold_start": n_event_files == 0}


def agreement(previous: np.ndarray | None, current: np.ndarray) -> float | None:
    """Cohen's kappa between two models' segment decisions on the same files (None without a
    previous model; 1.0 when both decide one and the same class everywhere).

    The stopping signal of Bloodgood & Vijay-Shanker (2009, "stabilizing predictions"):
    it needs no labels, so a practitioner can compute it.
    """
    from sklearn.metrics import cohen_kappa_score

    if previous is None:
        return None
    if np.array_equal(previous, current):
        return 1.0
    return float(cohen_kappa_score(previous, current))
