"""The detector's output in time: median-filtered decisions, post-processed events and the
one scoring path, from a fitted estimator's segment probabilities.

:class:`TimeOutputMixin` is mixed into :class:`sedal.sed.estimator.Detector`; it needs the
host's ``predict_proba``, ``class_names_``, ``median_kernel``, ``bg_prior``, ``thresholds``,
``postprocess``, ``segment_s`` and ``hop_s``. Rows are segments, one file after another;
``groups`` or ``offsets`` say where files start (neither: all rows are one file).
"""

from __future__ import annotations

import numpy as np

from sedal.sed.detections import DetectionScore, Event, offsets_of

from .evaluate import iou_metrics
from .postprocess import clean_events, decode, events_with_confidence


class TimeOutputMixin:
    """Decisions, events and scores of a segment classifier in time (see module doc)."""

    def decide_proba(self, probs: np.ndarray, offsets) -> np.ndarray:
        """Median-filtered decisions (class indices) from raw probabilities ``probs``."""
        return decode(probs, offsets_of(len(probs), None, offsets), int(self.median_kernel),
                      float(self.bg_prior), self.thresholds)

    def decide(self, X, groups=None, *, offsets=None) -> np.ndarray:
        """Per-segment class indices [n]: the median filter within each file, then the
        (background-weighted) argmax."""
        return self._decided(X, groups, offsets)[2]

    def _decided(self, X, groups, offsets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw probabilities, file offsets, decisions) of the rows ``X``."""
        probs = self.predict_proba(X)
        off = offsets_of(len(probs), groups, offsets)
        return probs, off, self.decide_proba(probs, off)

    def events_from_proba(self, probs: np.ndarray, decisions: np.ndarray,
                          duration_s: float | None = None) -> list[Event]:
        """The post-processed events of ONE file from its probabilities and decisions,
        clipped to ``duration_s`` when given."""
        raw = events_with_confidence(probs, decisions, self.class_names_, self.segment_s,
                                     self.hop_s)
        post = self.postprocess
        events = clean_events(raw, merge_gap=post["merge_gap"],
                              min_duration=post["min_duration"],
                              min_confidence=post["min_confidence"])
        if duration_s is not None:
            end = round(float(duration_s), 6)
            events = [(a, min(b, end), lab, c) for a, b, lab, c in events]
        return [Event(*e) for e in events]

    def predict_events(self, X, groups=None, *, offsets=None, durations_s=None
                       ) -> list[list[Event]]:
        """The events of every file (a list per file, in file order)."""
        probs, off, pred = self._decided(X, groups, offsets)
        out = []
        for i, (a, b) in enumerate(zip(off[:-1], off[1:])):
            d = None if durations_s is None else durations_s[i]
            out.append(self.events_from_proba(probs[a:b], pred[a:b], d))
        return out

    # -- scoring ---------------------------------------------------------------------------
    def score(self, X, y, groups=None, *, offsets=None, reference_events: dict | None = None,
              file_ids=None) -> DetectionScore:
        """The one metric path: IoUs of the decisions against segment labels ``y`` and, with
        ``reference_events`` (``{file_id: [(onset_s, offset_s, label), ...]}``, ``file_ids``
        naming the files in row order), the event and segment F1 of :meth:`predict_events`
        (:func:`sedal.sed.event_metrics.event_and_segment_f1`)."""
        from .event_metrics import event_and_segment_f1

        y_idx = self._labels(y, fitting=False)
        probs, off, pred = self._decided(X, groups, offsets)
        m = iou_metrics(y_idx, pred, self.class_names_)
        f1 = {}
        if reference_events is not None:
            if m["total_iou"] is None:
                f1 = {"event_f1": None, "segment_f1": None}
            else:
                est = {str(f): [e[:3] for e in self.events_from_proba(probs[a:b], pred[a:b])]
                       for f, a, b in zip(file_ids, off[:-1], off[1:])}
                f1 = event_and_segment_f1(reference_events, est, self.class_names_[1:])
        return DetectionScore(m["total_iou"], m["macro_iou"], m["per_class_iou"],
                              warning=m.get("warning"), **f1)
