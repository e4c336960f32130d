"""Threshold-independent event metrics: the polyphonic sound detection score (PSDS).

Computed by ``sed_scores_eval`` (Ebbers et al., the DCASE task 4 implementation) from the
classifier's segment posteriors after the median filter -- the scores, not the decisions.
The two parameter sets are DCASE 2021-2023 task 4's:

- scenario 1: detection tolerance criterion (dtc) 0.7, ground-truth intersection criterion
  (gtc) 0.7, alpha_ct 0, alpha_st 1, max_efpr 100 per hour;
- scenario 2: dtc 0.1, gtc 0.1, cross-trigger tolerance (cttc) 0.3, alpha_ct 0.5,
  alpha_st 1, max_efpr 100 per hour.
"""

from __future__ import annotations

import numpy as np

from .grid import HOP_S, SEGMENT_S

PSDS1 = {"dtc_threshold": 0.7, "gtc_threshold": 0.7, "alpha_ct": 0.0, "alpha_st": 1.0,
         "max_efpr": 100.0}
PSDS2 = {"dtc_threshold": 0.1, "gtc_threshold": 0.1, "cttc_threshold": 0.3, "alpha_ct": 0.5,
         "alpha_st": 1.0, "max_efpr": 100.0}


def segment_timestamps(n_segments: int, segment_s: float = SEGMENT_S,
                       hop_s: float = HOP_S) -> np.ndarray:
    """Boundaries [n + 1] in seconds of the hop-long intervals the segments own
    (:func:`sedal.sed.grid.segment_span`)."""
    shift = (segment_s - hop_s) / 2
    return np.round(shift + hop_s * np.arange(n_segments + 1), 6)


def score_tables(scores_by_file: dict[str, np.ndarray], classes: list[str]) -> dict:
    """``sed_scores_eval`` score data frames from ``{file: scores [n_segments, n_classes]}``
    (event classes only, no background column)."""
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    return {f: create_score_dataframe(np.ascontiguousarray(s, dtype=float),
                                      segment_timestamps(len(s)), event_classes=list(classes))
            for f, s in scores_by_file.items()}


def psds(scores_by_file: dict[str, np.ndarray], reference: dict, durations: dict,
         classes: list[str], scenario: dict) -> float | None:
    """PSDS of segment scores against reference events.

    Parameters
    ----------
    scores_by_file : dict
        File id -> median-filtered posteriors of the event classes [n_segments, n_classes].
    reference : dict
        File id -> ``[(onset_s, offset_s, label), ...]`` (every scored file; ``[]`` for none).
    durations : dict
        File id -> audio duration in seconds.
    classes : list of str
        The event classes, in the score columns' order.
    scenario : dict
        :data:`PSDS1` or :data:`PSDS2` (keyword arguments of ``sed_scores_eval``'s psds).

    Returns
    -------
    float or None
        PSDS in [0, 1]; None when a class has no reference event (PSDS is undefined then).
    """
    from sed_scores_eval import intersection_based

    present = {e[2] for evs in reference.values() for e in evs}
    if not set(classes) <= present:
        return None
    gt = {f: [(float(a), float(b), str(lab)) for a, b, lab, *_ in reference[f]]
          for f in scores_by_file}
    value = intersection_based.psds(scores=score_tables(scores_by_file, classes),
                                    ground_truth=gt, audio_durations=dict(durations),
                                    num_jobs=1, **scenario)[0]
    return float(value)
