"""Post-processing: median filter over time, argmax, and segment -> event merging."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from .grid import HOP_S, SEGMENT_S, segment_span


def smooth(probs: np.ndarray, kernel: int = 3) -> np.ndarray:
    """Median filter each class column of ``probs`` [n_segments, n_classes] along time.

    Edges repeat the nearest segment (``mode='nearest'``); ``kernel`` 1 is a no-op.
    """
    if kernel <= 1 or len(probs) == 0:
        return probs
    return median_filter(probs, size=(kernel, 1), mode="nearest")


def decode(probs: np.ndarray, offsets: np.ndarray, kernel: int = 3,
           bg_prior: float = 1.0) -> np.ndarray:
    """Per-segment class decisions for many files.

    Parameters
    ----------
    probs : ndarray [n_segments_total, n_classes]
        Raw class probabilities of every segment, files concatenated.
    offsets : ndarray [n_files + 1]
        File ``f`` owns rows ``offsets[f]:offsets[f+1]``.
    kernel : int
        Median-filter length in segments, applied within each file only.
    bg_prior : float
        Weight of the background column (class 0) before the decision: below 1 favours
        events, above 1 background (1: the plain argmax).

    Returns
    -------
    ndarray [n_segments_total] of int
    """
    out = np.empty(len(probs), dtype=np.int64)
    if bg_prior != 1.0:
        probs = probs.copy()
        probs[:, 0] *= bg_prior
    for a, b in zip(offsets[:-1], offsets[1:]):
        out[a:b] = np.argmax(smooth(probs[a:b], kernel), axis=1)
    return out


def segments_to_events(labels: np.ndarray, classes: list[str], segment: float = SEGMENT_S,
                       hop: float = HOP_S) -> list[tuple[float, float, str]]:
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
    return [(*segment_span(i, j, segment, hop), classes[c])
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
                           segment: float = SEGMENT_S, hop: float = HOP_S
                           ) -> list[tuple[float, float, str, float]]:
    """:func:`segments_to_events` plus a confidence per event: the mean probability of the
    event's class over its segments (raw probabilities, before the median filter).

    Returns
    -------
    list of (onset_s, offset_s, label, confidence)
    """
    return [(*segment_span(i, j, segment, hop), classes[c],
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


#: The settings :func:`choose_postprocess` tries (seconds, seconds, probability), each
#: axis from the least post-processing upwards. The least still bridges a one-hop (0.06 s)
#: gap and drops events shorter than a segment: finer than the detector's resolution.
POSTPROCESS_GRID: dict[str, tuple[float, ...]] = {
    "merge_gap": (HOP_S, SEGMENT_S, 0.24, 0.48, 0.96),
    "min_duration": (SEGMENT_S, 0.24, 0.48, 0.96),
    "min_confidence": (0.0, 0.4, 0.5, 0.6, 0.7, 0.8),
}


def choose_postprocess(raw: dict, reference: dict, grid: dict | None = None, *,
                       t_collar: float = 0.2, percentage_of_length: float = 0.2
                       ) -> tuple[dict, float, float]:
    """The :func:`clean_events` settings that maximise event-based F1 on held-out data.

    Parameters
    ----------
    raw : dict
        ``{recording: [(onset_s, offset_s, label, confidence), ...]}``: the detector's
        events before post-processing, on recordings it was not trained on (e.g.
        cross-validation folds).
    reference : dict
        ``{recording: [(onset_s, offset_s, label), ...]}``: the people's labels of the
        same recordings.
    grid : dict, optional
        Values to try per setting (default :data:`POSTPROCESS_GRID`).
    t_collar, percentage_of_length : float
        The event matching of :func:`sedal.sed.event_metrics.event_f1` (seconds, fraction).

    Returns
    -------
    (settings, f1, f1_raw)
        The best settings (ties go to the least post-processing: the first in grid order),
        their F1 and the F1 of the raw events.
    """
    from itertools import product

    from .event_metrics import event_f1

    grid = POSTPROCESS_GRID if grid is None else grid
    names = ("merge_gap", "min_duration", "min_confidence")
    kw = {"t_collar": t_collar, "percentage_of_length": percentage_of_length}
    f1_raw = event_f1(reference, raw, **kw)
    best, best_f1 = None, -1.0
    for values in product(*(grid[n] for n in names)):
        post = dict(zip(names, values))
        est = {k: clean_events(raw.get(k, []), **post) for k in reference}
        f1 = event_f1(reference, est, **kw)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = post, f1
    return best, best_f1, f1_raw
