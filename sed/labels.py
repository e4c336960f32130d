"""Segment labels from a dataset's ground truth.

Coverage rule
-------------
Segment ``i`` spans ``[i * hop, i * hop + segment]`` seconds. Its label is the
event class whose events cover **at least 50 %** of that span; if two classes
both do (only possible with overlapping events), the larger coverage wins and an
exact tie goes to the class listed first. Otherwise the label is background
(index 0). Class indices: 0 = background, then the foreground labels in sorted
order.
"""

from __future__ import annotations

import numpy as np

from .grid import HOP_S, SEGMENT_S

BACKGROUND = "background"


def class_list(fg_labels) -> list[str]:
    """``['background', *sorted(fg_labels)]``."""
    return [BACKGROUND, *sorted(set(fg_labels))]



def segment_labels(events, n_segments: int, classes: list[str], segment: float = SEGMENT_S,
                   hop: float = HOP_S, min_coverage: float = 0.5) -> np.ndarray:
    """Class index per segment (int8) from events ``[(onset_s, offset_s, label), ...]``.

    Parameters
    ----------
    events : iterable of (float, float, str)
        Onset and offset in seconds, and the class label.
    n_segments : int
    classes : list of str
        Index 0 must be background.
    segment, hop : float
        Segment length and hop, in seconds.
    min_coverage : float
        Fraction of the segment a class must cover.

    Examples
    --------
    >>> segment_labels([(0.0, 0.09, "dog")], 3, ["background", "dog"])
    array([1, 0, 0], dtype=int8)
    """
    starts = np.arange(n_segments) * hop
    ends = starts + segment
    cover = np.zeros((len(classes), n_segments))
    index = {c: i for i, c in enumerate(classes)}
    for onset, offset, label in events:
        if label not in index:
            raise ValueError(f"unknown class {label!r}")
        ov = np.clip(np.minimum(ends, offset) - np.maximum(starts, onset), 0.0, None)
        cover[index[label]] += ov / segment
    cover[0] = 0.0
    best = np.argmax(cover, axis=0)  # first index wins an exact tie
    ok = cover[best, np.arange(n_segments)] >= min_coverage - 1e-12
    return np.where(ok, best, 0).astype(np.int8)
