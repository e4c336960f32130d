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


def smooth_files(probs: np.ndarray, offsets: np.ndarray, kernel: int = 3) -> np.ndarray:
    """:func:`smooth` within each file of a concatenation, as one vectorised pass.

    Parameters
    ----------
    probs : ndarray [n_segments_total, n_classes]
        Every file's rows, concatenated.
    offsets : ndarray [n_files + 1]
        File ``f`` owns rows ``offsets[f]:offsets[f+1]`` (from 0 to ``len(probs)``).
    kernel : int
        Median-filter length in segments.

    Returns
    -------
    ndarray
        The same values as :func:`smooth` file by file: for an odd ``kernel`` each output is
        the middle of the window's sorted values, the window clipped to the file's rows
        (scipy's ``mode='nearest'``); even kernels go file by file.

    Raises
    ------
    ValueError
        When ``probs`` is not 2-D or ``offsets`` do not rise from 0 to ``len(probs)``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError("probs must be [n_segments, n_classes]")
    if kernel <= 1 or len(probs) == 0:
        return probs
    lengths = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != len(probs) or (lengths < 0).any():
        raise ValueError("offsets must rise from 0 to len(probs)")
    if kernel % 2 == 0:
        return np.concatenate([smooth(probs[a:b], kernel)
                               for a, b in zip(offsets[:-1], offsets[1:])])
    first = np.repeat(offsets[:-1], lengths)
    last = np.repeat(offsets[1:] - 1, lengths)
    rows = np.arange(len(probs))
    h = kernel // 2
    if h == 1:  # the median of three, exactly, without a sort
        a, b, c = (probs[np.clip(rows + j, first, last)] for j in (-1, 0, 1))
        return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    window = np.stack([probs[np.clip(rows + j, first, last)] for j in range(-h, h + 1)])
    return np.partition(window, h, axis=0)[h]


def hysteresis(probs: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """Per-segment decisions of ONE file by two thresholds on the event classes'
    probabilities (columns 1..; column 0 is background).

    An event of class ``c`` starts at a segment where ``probs[:, c] >= onset`` (the most
    probable such class) and continues while ``probs[:, c] >= offset``; when it ends (or
    another class rises above ``onset`` with a higher probability) the next segment is
    decided afresh. Segments in no event are background (0).

    Parameters
    ----------
    probs : ndarray [n_segments, n_classes]
        Probabilities of one file (e.g. median-filtered).
    onset, offset : float
        Thresholds in [0, 1], ``offset <= onset``.

    Examples
    --------
    >>> p = np.array([[.9, .1], [.4, .6], [.6, .4], [.7, .3], [.5, .5]])
    >>> hysteresis(p, 0.55, 0.35).tolist()
    [0, 1, 1, 0, 0]
    """
    if not 0.0 <= offset <= onset <= 1.0:
        raise ValueError("hysteresis thresholds need 0 <= offset <= onset <= 1")
    out = np.zeros(len(probs), dtype=np.int64)
    if probs.shape[1] < 2:
        return out
    ev = probs[:, 1:]
    best = np.argmax(ev, axis=1)
    best_p = ev[np.arange(len(ev)), best]
    active = -1
    for t in range(len(ev)):
        if best_p[t] >= onset and (active < 0 or best[t] != active and best_p[t] > ev[t, active]):
            active = int(best[t])
        elif active >= 0 and ev[t, active] < offset:
            active = -1
        out[t] = active + 1
    return out


def decode(probs: np.ndarray, offsets: np.ndarray, kernel: int = 3,
           bg_prior: float = 1.0, thresholds: tuple[float, float] | None = None
           ) -> np.ndarray:
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
        events, above 1 background (1: the plain argmax). Not used with ``thresholds``.
    thresholds : (onset, offset), optional
        Decide each file's median-filtered probabilities by :func:`hysteresis` instead of
        the argmax (``None``: the argmax, the study's decision).

    Returns
    -------
    ndarray [n_segments_total] of int
    """
    if thresholds is not None:
        on, off = thresholds
        smoothed = smooth_files(probs, offsets, kernel)
        out = np.empty(len(probs), dtype=np.int64)
        for a, b in zip(offsets[:-1], offsets[1:]):
            out[a:b] = hysteresis(smoothed[a:b], float(on), float(off))
        return out
    if bg_prior != 1.0:
        probs = probs.copy()
        probs[:, 0] *= bg_prior
    return np.argmax(smooth_files(probs, offsets, kernel), axis=1).astype(np.int64, copy=False)


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


#: Hysteresis thresholds ``(onset, offset)`` :func:`choose_decision` tries after the
#: argmax (``None``), stated before any was measured: onsets from permissive to strict, each
#: with a lower offset that lets an event outlast its onset's confidence.
HYSTERESIS_GRID: tuple[tuple[float, float] | None, ...] = (
    None, (0.3, 0.1), (0.3, 0.2), (0.5, 0.2), (0.5, 0.3), (0.7, 0.3), (0.7, 0.5))


def choose_decision(held: list[tuple[np.ndarray, np.ndarray]], reference: dict,
                    classes: list[str], *, kernel: int, segment: float = SEGMENT_S,
                    hop: float = HOP_S, thresholds=HYSTERESIS_GRID, grid: dict | None = None
                    ) -> tuple[dict, float, float]:
    """The segment decision (argmax or hysteresis thresholds) and the event clean-up that
    maximise event-based F1 on held-out data.

    Parameters
    ----------
    held : list of (probs, decisions)
        Per recording (keys of ``reference`` are indices into it): raw class probabilities
        [n_segments, n_classes] of a detector that was not trained on it, and its argmax
        decisions (median-filtered, as the detector decides).
    reference : dict
        ``{index: [(onset_s, offset_s, label), ...]}``.
    classes : list of str
        Background first.
    kernel : int
        The detector's median-filter length (segments), applied before the thresholds.
    thresholds : sequence
        ``None`` (the argmax) and ``(onset, offset)`` pairs to try
        (default :data:`HYSTERESIS_GRID`).
    grid : dict, optional
        The clean-up grid of :func:`choose_postprocess`.

    Returns
    -------
    (settings, f1, f1_raw)
        The :func:`clean_events` keywords, plus ``onset`` and ``offset`` when thresholds
        won (ties go to the argmax and the least post-processing); their F1; the F1 of the
        argmax's raw events.
    """
    best, best_f1, f1_raw = None, -1.0, 0.0
    for th in thresholds:
        raw = {}
        for i, (probs, dec) in enumerate(held):
            if th is not None:
                dec = decode(probs, np.array([0, len(probs)]), kernel, thresholds=th)
            raw[i] = events_with_confidence(probs, dec, classes, segment, hop)
        post, f1, f1_r = choose_postprocess(raw, reference, grid)
        if th is None:
            f1_raw = f1_r
        if f1 > best_f1 + 1e-12:
            best = dict(post) if th is None else {**post, "onset": th[0], "offset": th[1]}
            best_f1 = f1
    return best, best_f1, f1_raw
