"""Temporal context for segment features: neighbouring segments of the same file.

Pure functions over a feature matrix ``X`` [n_segments, d] whose rows are the segments of
consecutive files, delimited by ``offsets`` [n_files + 1] (file ``i`` is rows
``offsets[i]:offsets[i + 1]``, in time order). A segment never sees another file: at the
edges of a file, stacking repeats the edge segment and pooling averages over the
neighbours that exist.
"""

from __future__ import annotations

import numpy as np

from .rows import check_offsets


def _file_bounds(offsets: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the first and one-past-last row of its file (``offsets`` validated against
    ``n_rows``)."""
    offsets = check_offsets(offsets, n_rows)
    lengths = np.diff(offsets)
    return np.repeat(offsets[:-1], lengths), np.repeat(offsets[1:], lengths)


def stack_neighbours(X: np.ndarray, offsets: np.ndarray, k: int) -> np.ndarray:
    """Each segment's features followed by those of its ``k`` neighbours on each side.

    Parameters
    ----------
    X : ndarray [n, d]
        Segment features, files concatenated in time order.
    offsets : ndarray [n_files + 1]
        Row offsets of the files.
    k : int
        Neighbours on each side (a hop each, e.g. 0.06 s); 0 returns ``X``.

    Returns
    -------
    ndarray [n, d * (2k + 1)], float32
        Blocks in the order: the segment itself, then ``-1, +1, -2, +2, ...``; a neighbour
        outside the file is replaced by the file's edge segment.

    Examples
    --------
    >>> X = np.arange(4, dtype=np.float32)[:, None]
    >>> stack_neighbours(X, np.array([0, 2, 4]), 1)[:, :].tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [2.0, 2.0, 3.0], [3.0, 2.0, 3.0]]
    """
    X = np.asarray(X, dtype=np.float32)
    if k < 0:
        raise ValueError("k must be >= 0")
    if k == 0:
        return X
    lo, hi = _file_bounds(offsets, len(X))
    rows = np.arange(len(X))
    d = X.shape[1]
    out = np.empty((len(X), d * (2 * k + 1)), dtype=np.float32)
    out[:, :d] = X
    col = d
    for step in range(1, k + 1):
        for sign in (-1, 1):
            idx = np.clip(rows + sign * step, lo, hi - 1)
            np.take(X, idx, axis=0, out=out[:, col:col + d])
            col += d
    return out


def pool_neighbours(X: np.ndarray, offsets: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """Each segment's features followed by the mean over centred windows of neighbours.

    Parameters
    ----------
    X : ndarray [n, d]
        Segment features, files concatenated in time order.
    offsets : ndarray [n_files + 1]
        Row offsets of the files.
    widths : tuple of int
        Odd window lengths in segments (with a 0.06 s hop, 5 spans 0.36 s and 17 spans
        1.08 s); the window is cut at the file's edges (mean over the rows inside).

    Returns
    -------
    ndarray [n, d * (1 + len(widths))], float32

    Examples
    --------
    >>> X = np.array([[0.], [3.], [6.], [9.]], dtype=np.float32)
    >>> pool_neighbours(X, np.array([0, 4]), (3,)).tolist()
    [[0.0, 1.5], [3.0, 3.0], [6.0, 6.0], [9.0, 7.5]]
    """
    X = np.asarray(X, dtype=np.float32)
    if any(w < 1 or w % 2 == 0 for w in widths):
        raise ValueError("pooling widths must be odd and >= 1")
    lo, hi = _file_bounds(offsets, len(X))
    d = X.shape[1]
    out = np.empty((len(X), d * (1 + len(widths))), dtype=np.float32)
    out[:, :d] = X
    offsets = np.asarray(offsets, dtype=np.int64)
    for a0, b0 in _row_blocks(offsets):  # bounded float64 cumulative sums
        csum = np.zeros((b0 - a0 + 1, d), dtype=np.float64)
        np.cumsum(X[a0:b0], axis=0, dtype=np.float64, out=csum[1:])
        rows = np.arange(a0, b0)
        for j, w in enumerate(widths):
            a = np.maximum(rows - w // 2, lo[a0:b0]) - a0
            b = np.minimum(rows + w // 2 + 1, hi[a0:b0]) - a0
            out[a0:b0, d * (j + 1):d * (j + 2)] = (csum[b] - csum[a]) / (b - a)[:, None]
    return out


def _row_blocks(offsets: np.ndarray, rows: int = 16384):
    """``(start, stop)`` row ranges of whole files, each about ``rows`` long."""
    start = offsets[0]
    for i in range(1, len(offsets)):
        if offsets[i] - start >= rows or i == len(offsets) - 1:
            if offsets[i] > start:
                yield int(start), int(offsets[i])
            start = offsets[i]
