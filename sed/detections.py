"""Typed detection records: an :class:`Event`, the :class:`DetectionScore` of a set of files, and
the row offsets of files in a segment matrix."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sedal.sed.rows import check_offsets


class Event(NamedTuple):
    """One detected or annotated event (seconds from the start of its file)."""

    onset: float
    offset: float
    label: str
    confidence: float = 1.0


class DetectionScore(float):
    """What :meth:`Detector.score` measures on a set of files.

    The object IS the study's total IoU as a float (NaN when undefined), so it also serves
    where scikit-learn expects a number; the other metrics are its attributes.

    Attributes
    ----------
    total_iou, macro_iou : float or None
        IoUs over the concatenated files at segment resolution; ``None`` when the reference
        holds no event segment (0/0, undefined).
    per_class_iou : dict
        Event class -> IoU (``None`` where undefined).
    event_f1, segment_f1 : float or None
        Event-based F1 (onset collar 0.2 s, offset collar max(0.2 s, 20 %);
        :mod:`sedal.sed.event_metrics`) and sed_eval's segment-based F1 (1 s), when
        reference events were given.
    warning : str or None
        Why a metric is undefined.
    """

    def __new__(cls, total_iou, macro_iou=None, per_class_iou=None, event_f1=None,
                segment_f1=None, warning=None):
        obj = super().__new__(cls, math.nan if total_iou is None else float(total_iou))
        obj.total_iou = total_iou
        obj.macro_iou = macro_iou
        obj.per_class_iou = dict(per_class_iou or {})
        obj.event_f1 = event_f1
        obj.segment_f1 = segment_f1
        obj.warning = warning
        return obj

    def __repr__(self) -> str:
        return (f"DetectionScore(total_iou={self.total_iou!r}, macro_iou={self.macro_iou!r}, "
                f"event_f1={self.event_f1!r}, segment_f1={self.segment_f1!r})")

    def to_dict(self) -> dict:
        """The metrics as the results and reports record them (F1s only when measured)."""
        d = {"total_iou": self.total_iou, "macro_iou": self.macro_iou,
             "per_class_iou": dict(self.per_class_iou)}
        if self.warning is not None:
            d["warning"] = self.warning
        return d


def offsets_of(n_rows: int, groups=None, offsets=None) -> np.ndarray:
    """Row offsets ``[n_files + 1]`` from ``groups`` (contiguous file ids per row) or
    ``offsets``; all rows one file when both are ``None``."""
    if offsets is not None:
        return check_offsets(offsets, n_rows)
    if groups is None:
        return np.array([0, n_rows], dtype=np.int64)
    g = np.asarray(groups)
    if len(g) != n_rows:
        raise ValueError("groups needs one file id per row")
    if n_rows == 0:
        return np.zeros(1, np.int64)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    if len(np.unique(g)) != len(starts):
        raise ValueError("the rows of each file (group) must be contiguous")
    return np.r_[starts, n_rows].astype(np.int64)
