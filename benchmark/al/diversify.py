"""Diversifying a query batch among the top-scored candidates.

Both methods look at the top ``factor * batch`` files of the ranking (the
candidates) and choose ``batch`` of them:

- ``farthest``: greedy farthest-first traversal on each file's mean segment
  embedding. Each step picks the candidate whose Euclidean distance to the
  nearest already-labelled or already-chosen file is largest (ties: the
  better-ranked candidate).
- ``random_selection``: a uniformly random subset of the candidates.
"""

from __future__ import annotations

import numpy as np

METHODS = ("none", "farthest", "random_selection")


def _min_sq_dist(points: np.ndarray, refs: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Squared distance from each point to its nearest ref (inf if no ref)."""
    out = np.full(len(points), np.inf)
    if len(refs) == 0:
        return out
    pn = (points.astype(np.float64) ** 2).sum(1)
    for i in range(0, len(refs), chunk):
        r = refs[i:i + chunk].astype(np.float64)
        d = pn[:, None] - 2 * points.astype(np.float64) @ r.T + (r ** 2).sum(1)[None, :]
        np.minimum(out, d.min(axis=1), out=out)
    return np.maximum(out, 0.0)


def farthest(candidates: np.ndarray, features: np.ndarray, labelled: np.ndarray,
             batch: int) -> np.ndarray:
    """Farthest-first traversal.

    Parameters
    ----------
    candidates : ndarray of int
        Candidate file indices, best-ranked first.
    features : ndarray [n_files, d]
        One vector per file (mean segment embedding).
    labelled : ndarray of int
        Files already labelled.
    batch : int

    Returns
    -------
    ndarray of int
        The chosen files, in the order chosen.
    """
    candidates = np.asarray(candidates)
    batch = min(batch, len(candidates))
    pts = features[candidates]
    dist = _min_sq_dist(pts, features[np.asarray(labelled, dtype=np.int64)])
    chosen: list[int] = []
    taken = np.zeros(len(candidates), dtype=bool)
    for _ in range(batch):
        d = np.where(taken, -1.0, dist)
        j = int(np.argmax(d))  # first (best-ranked) among equals
        chosen.append(j)
        taken[j] = True
        diff = pts - pts[j]
        np.minimum(dist, (diff.astype(np.float64) ** 2).sum(1), out=dist)
    return candidates[np.array(chosen, dtype=np.int64)]


def random_selection(candidates: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random subset of ``batch`` candidates (in candidate order)."""
    candidates = np.asarray(candidates)
    batch = min(batch, len(candidates))
    pick = np.sort(rng.choice(len(candidates), size=batch, replace=False))
    return candidates[pick]


def select(method: str, ranking: np.ndarray, batch: int, *, factor: int = 3,
           features: np.ndarray | None = None, labelled: np.ndarray | None = None,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Choose ``batch`` files from a ranking (best first) with a diversification method."""
    if method not in METHODS:
        raise ValueError(f"unknown diversification {method!r}; choose from {', '.join(METHODS)}")
    if method == "none":
        return np.asarray(ranking[:batch])
    cands = np.asarray(ranking[:max(batch, factor * batch)])
    if method == "farthest":
        return farthest(cands, features, labelled if labelled is not None else np.zeros(0, int),
                        batch)
    return random_selection(cands, batch, rng)
