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
    shift = (segment - hop) / 2
    return [(round(i * hop + shift, 6), round((j + 1) * hop + shift, 6), classes[c])
            for i, j, c in _runs(labels) if c != 0]


def _runs(labels: np.ndarray):
    """``(first, last, class)`` of every run of equal labels, in order."""
    n = len(labels)
    i = 0
    while i < n:
        c = int(labels[i])
        j = i
        while j + 1 < n and labels[j + 1] == c:
            j += 1
        yield i, j, c
        i = j + 1


def events_with_confidence(probs: np.ndarray, decisions: np.ndarray, classes: list[str],
                           segment: float = 0.12, hop: float = 0.06
                           ) -> list[tuple[float, float, str, float]]:
    """:func:`segments_to_events` plus a confidence per event: the mean probability of the
    event's class over its segments (raw probabilities, before the median filter).

    Returns
    -------
    list of (onset_s, offset_s, label, confidence)
    """
    shift = (segment - hop) / 2
    return [(round(i * hop + shift, 6), round((j + 1) * hop + shift, 6), classes[c],
             round(float(np.mean(probs[i:j + 1, c])), 4))
            for i, j, c in _runs(decisions) if c != 0]


def clean_events(events: list[tuple[float, float, str, float]], *, merge_gap: float = 0.0,
                 min_duration: float = 0.0, min_confidence: float = 0.0
                 ) -> list[tuple[float, float, str, float]]:
    """Post-process detected events, in this order:

    1. merge events of the same class separated by at most ``merge_gap`` seconds (the
       confidence of the merged event is the duration-weighted mean);
    2. drop events shorter than ``min_duration`` seconds;
    3. drop events whose confidence is below ``min_confidence``.

    Examples
    --------
    >>> clean_events([(0.0, 0.1, "dog", 0.9), (0.15, 0.3, "dog", 0.6)], merge_gap=0.1)
    [(0.0, 0.3, 'dog', 0.72)]
    """
    merged: list[list] = []
    for a, b, lab, conf in sorted(events):
        if merged and merged[-1][2] == lab and a - merged[-1][1] <= merge_gap + 1e-9:
            pa, pb, _, pc = merged[-1]
            da, db = pb - pa, b - a
            merged[-1] = [pa, max(pb, b), lab, (pc * da + conf * db) / max(da + db, 1e-12)]
        else:
            merged.append([a, b, lab, conf])
    return [(a, b, lab, round(c, 4)) for a, b, lab, c in merged
            if b - a >= min_duration - 1e-9 and c >= min_confidence]
