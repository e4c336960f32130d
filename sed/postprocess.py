"""Post-processing: median filter over time, argmax, and segment -> event merging."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter


def smooth(probs: np.ndarray, kernel: int = 3) -> np.ndarray:
    """Median filter each class column of ``probs`` [n_segments, n_classes] along time.

    Edges repeat the nearest segment (``mode='nearest'``); ``kernel`` 1 is a no-op.
    """
    if kernel <= 1 or len(probs) == 0:
        return probs
    return median_filter(probs, size=(kernel, 1), mode="nearest")


def decode(probs: np.ndarray, offsets: np.ndarray, kernel: int = 3) -> np.ndarray:
    """Per-segment class decisions for many files.

    Parameters
    ----------
    probs : ndarray [n_segments_total, n_classes]
        Raw class probabilities of every segment, files concatenated.
    offsets : ndarray [n_files + 1]
        File ``f`` owns rows ``offsets[f]:offsets[f+1]``.
    kernel : int
        Median-filter length in segments, applied within each file only.

    Returns
    -------
    ndarray [n_segments_total] of int
    """
    out = np.empty(len(probs), dtype=np.int64)
    for a, b in zip(offsets[:-1], offsets[1:]):
        out[a:b] = np.argmax(smooth(probs[a:b], kernel), axis=1)
    return out


def segments_to_events(labels: np.ndarray, classes: list[str], segment: float = 0.12,
                       hop: float = 0.06) -> list[tuple[float, float, str]]:
    """Merge runs of the same non-background class into events.

    Segment ``i`` *owns* the hop-long interval centred in it,
    ``[i * hop + (segment - hop) / 2, (i + 1) * hop + (segment - hop) / 2]``
    seconds, so a run of segments ``i..j`` becomes one event from
    ``i * hop + (segment - hop) / 2`` to ``(j + 1) * hop + (segment - hop) / 2``.

    Returns
    -------
    list of (onset_s, offset_s, label)

    Examples
    --------
    >>> segments_to_events(np.array([0, 1, 1, 0, 2]), ["bg", "dog", "baby"])
    [(0.09, 0.21, 'dog'), (0.27, 0.33, 'baby')]
    """
    events = []
    shift = (segment - hop) / 2
    n = len(labels)
    i = 0
    while i < n:
        c = int(labels[i])
        j = i
        while j + 1 < n and labels[j + 1] == c:
            j += 1
        if c != 0:
            events.append((round(i * hop + shift, 6), round((j + 1) * hop + shift, 6), classes[c]))
        i = j + 1
    return events
