"""File scores from ragged per-segment values (the study's aggregation strategies).

Every function takes ``values`` [n_segments] (segments of all files concatenated)
and ``offsets`` [n_files + 1] (file ``f`` owns ``values[offsets[f]:offsets[f+1]]``)
and returns one score per file. They are pure and vectorised (no Python loop
over files). A file with no segment scores 0.

The segment values are Shannon entropies in bits of the classifier's raw class
probabilities (before the median filter), :func:`sedal.sed.uncertainty.entropy`.
"""

from __future__ import annotations

import numpy as np

from sedal.sed.rows import check_offsets
from sedal.sed.uncertainty import entropy

STRATEGIES = ("top_k", "mean", "median", "max", "mean_event", "random")


def _check(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    offsets = check_offsets(offsets, len(values))
    return values, offsets, np.diff(offsets)


def _file_index(lengths: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(lengths)), lengths)


def _sorted_within_files(values, offsets, lengths):
    """Values sorted ascending inside each file (files stay in place)."""
    idx = _file_index(lengths)
    order = np.lexsort((values, idx))
    return values[order]


def _padded(values, offsets, lengths, fill: float) -> np.ndarray | None:
    """Files as rows of a [n_files, max_len] matrix padded with ``fill``; ``None`` when
    padding would more than double the memory (very ragged files)."""
    if len(lengths) == 0:
        return None
    width = int(lengths.max())
    if width == 0 or width * len(lengths) > 2 * len(values) + 1024:
        return None
    m = np.full((len(lengths), width), fill)
    idx = _file_index(lengths)
    m[idx, np.arange(len(values)) - offsets[idx]] = values
    return m


def mean(values, offsets) -> np.ndarray:
    """Mean of each file's values."""
    values, offsets, lengths = _check(values, offsets)
    sums = np.bincount(_file_index(lengths), weights=values, minlength=len(lengths))
    return np.divide(sums, lengths, out=np.zeros(len(lengths)), where=lengths > 0)


def maximum(values, offsets) -> np.ndarray:
    """Max of each file's values."""
    values, offsets, lengths = _check(values, offsets)
    out = np.zeros(len(lengths))
    nz = lengths > 0
    if nz.any():
        out[nz] = np.maximum.reduceat(values, offsets[:-1][nz])
    return out


def median(values, offsets) -> np.ndarray:
    """Median of each file's values (mean of the two middle values for even lengths)."""
    values, offsets, lengths = _check(values, offsets)
    out = np.zeros(len(lengths))
    nz = lengths > 0
    m = _padded(values, offsets, lengths, np.inf)
    if m is not None:
        m.sort(axis=1)
        rows = np.flatnonzero(nz)
        out[nz] = (m[rows, (lengths[nz] - 1) // 2] + m[rows, lengths[nz] // 2]) / 2
        return out
    s = _sorted_within_files(values, offsets, lengths)
    lo = offsets[:-1][nz] + (lengths[nz] - 1) // 2
    hi = offsets[:-1][nz] + lengths[nz] // 2
    out[nz] = (s[lo] + s[hi]) / 2
    return out


def top_k(values, offsets, k: int = 10) -> np.ndarray:
    """Mean of each file's ``k`` highest values (all of them if the file is shorter)."""
    if int(k) < 1:
        raise ValueError(f"K must be >= 1, got {k}")
    values, offsets, lengths = _check(values, offsets)
    n = np.minimum(lengths, k)
    m = _padded(values, offsets, lengths, -np.inf)
    if m is not None:
        width = m.shape[1]
        top = m if k >= width else np.partition(m, width - k, axis=1)[:, width - k:]
        sums = np.where(np.isfinite(top), top, 0.0).sum(axis=1)
        return np.divide(sums, n, out=np.zeros(len(lengths)), where=n > 0)
    s = _sorted_within_files(values, offsets, lengths)
    idx = _file_index(lengths)
    # position from the top inside its file: 0 for the largest
    from_top = offsets[idx + 1] - 1 - np.arange(len(values))
    keep = from_top < k
    sums = np.bincount(idx[keep], weights=s[keep], minlength=len(lengths))
    return np.divide(sums, n, out=np.zeros(len(lengths)), where=n > 0)


def mean_event(values, offsets, is_event) -> np.ndarray:
    """Mean over the segments predicted as an event class; a file with none scores 0.

    ``is_event`` [n_segments] is True where the segment's argmax class (raw
    probabilities) is not background.
    """
    values, offsets, lengths = _check(values, offsets)
    is_event = np.asarray(is_event, dtype=bool)
    idx = _file_index(lengths)
    sums = np.bincount(idx, weights=np.where(is_event, values, 0.0), minlength=len(lengths))
    cnt = np.bincount(idx, weights=is_event.astype(np.float64), minlength=len(lengths))
    return np.divide(sums, cnt, out=np.zeros(len(lengths)), where=cnt > 0)


def random(n_files: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random scores (the random-sampling baseline)."""
    return rng.random(n_files)


def file_scores(strategy: str, probs: np.ndarray, offsets: np.ndarray, *, k: int = 10,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Score files from raw segment probabilities with a named strategy.

    Parameters
    ----------
    strategy : str
        One of :data:`STRATEGIES`.
    probs : ndarray [n_segments, n_classes]
        Raw class probabilities (column 0 = background).
    offsets : ndarray [n_files + 1]
    k : int
        K of ``top_k``.
    rng : numpy.random.Generator
        Needed by ``random``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if strategy == "random":
        if rng is None:
            raise ValueError("the random strategy needs rng")
        return random(len(offsets) - 1, rng)
    h = entropy(probs)
    if strategy == "top_k":
        return top_k(h, offsets, k)
    if strategy == "mean":
        return mean(h, offsets)
    if strategy == "median":
        return median(h, offsets)
    if strategy == "max":
        return maximum(h, offsets)
    return mean_event(h, offsets, np.argmax(probs, axis=1) != 0)


def rank(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """File indices by decreasing score; ties broken uniformly at random from ``rng``."""
    tiebreak = rng.random(len(scores))
    return np.lexsort((tiebreak, -np.asarray(scores, dtype=np.float64)))
