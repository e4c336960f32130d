"""Event metrics: THE event matching and event-based F1, and segment-based F1.

Event-based F1 has one implementation, :func:`event_f1` (a maximum one-to-one matching of
same-class events whose onsets and offsets are within the collars, as sed_eval's
``EventBasedMetrics`` with ``event_matching_type='optimal'`` match them; a test checks it
against sed_eval on random tables). It scores detectors (:func:`event_and_segment_f1`,
:meth:`sedal.sed.estimator.Detector.score`) and chooses post-processing
(:func:`sedal.sed.postprocess.choose_postprocess`). Segment-based F1 is sed_eval's.
"""

from __future__ import annotations

import numpy as np


def _event_list(events_by_file: dict[str, list[tuple[float, float, str]]]):
    from dcase_util.containers import MetaDataContainer

    rows = [{"filename": f, "event_onset": float(a), "event_offset": float(b),
             "event_label": lab} for f, evs in events_by_file.items() for a, b, lab in evs]
    return MetaDataContainer(rows)


def event_hits(reference: list, estimated: list, *, t_collar: float = 0.2,
               percentage_of_length: float = 0.2) -> int:
    """Correctly detected events of one recording, matched as sed_eval's event-based
    metrics match them (``event_matching_type='optimal'``).

    An estimated event can match a reference event of the same class when its onset lies
    within ``t_collar`` s of the reference onset and its offset within
    ``max(t_collar, percentage_of_length * reference length)`` s of the reference offset;
    the hits are a maximum one-to-one matching of those pairs.

    Parameters
    ----------
    reference, estimated : list of tuple
        ``(onset_s, offset_s, label, ...)``; fields after the label (e.g. a confidence)
        are ignored.

    Returns
    -------
    int
        The number of matched pairs.
    """
    return int(np.sum(_matching(reference, estimated, t_collar, percentage_of_length) >= 0))


def _matching(reference: list, estimated: list, t_collar: float,
              percentage_of_length: float) -> np.ndarray:
    """For each reference event the index of its matched estimated event, or -1
    (the maximum one-to-one matching of :func:`event_hits`)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    none = np.full(len(reference), -1, dtype=np.int64)
    if not reference or not estimated:
        return none
    ref = np.array([(float(e[0]), float(e[1])) for e in reference])
    est = np.array([(float(e[0]), float(e[1])) for e in estimated])
    same = (np.array([e[2] for e in reference], dtype=object)[:, None]
            == np.array([e[2] for e in estimated], dtype=object)[None, :])
    onset_ok = np.abs(ref[:, :1] - est[None, :, 0]) <= t_collar + 1e-9
    tol = np.maximum(t_collar, percentage_of_length * (ref[:, 1] - ref[:, 0]))[:, None]
    offset_ok = np.abs(ref[:, 1:] - est[None, :, 1]) <= tol + 1e-9
    hit = same & onset_ok & offset_ok
    if not hit.any():
        return none
    return np.asarray(maximum_bipartite_matching(csr_matrix(hit.astype(np.int8)),
                                                 perm_type="column"), dtype=np.int64)


#: The kinds of :func:`event_errors`, reference side then estimated side.
ERROR_KINDS = ("hit", "fragmented", "mislocated", "confused", "missed", "false_alarm")


def event_errors(reference: dict, estimated: dict, classes: list[str], *,
                 t_collar: float = 0.2, percentage_of_length: float = 0.2) -> dict:
    """What limits event F1, per class: each reference event and each unmatched estimated
    event put in one kind.

    Reference events (matched as :func:`event_hits` matches):

    - ``hit``: matched;
    - ``fragmented``: not matched, overlapped by two or more estimated events of its class;
    - ``mislocated``: not matched, overlapped by exactly one of its class (onset or offset
      outside the collars);
    - ``confused``: overlapped by no estimated event of its class but by one of another;
    - ``missed``: overlapped by no estimated event at all.

    Estimated events: ``false_alarm`` when matched to nothing and overlapping no reference
    event of its class (unmatched ones that do overlap are counted on the reference side).

    Parameters
    ----------
    reference, estimated : dict
        ``{recording: [(onset_s, offset_s, label, ...), ...]}``.
    classes : list of str
        The event classes to count.

    Returns
    -------
    dict
        ``{class: {kind: count, "n_reference": .., "n_estimated": ..}}``.

    Examples
    --------
    >>> ref = {"a": [(1.0, 2.0, "dog"), (5.0, 6.0, "dog"), (8.0, 9.0, "dog")]}
    >>> est = {"a": [(1.05, 2.0, "dog"), (5.0, 5.4, "dog"), (5.6, 6.0, "dog"),
    ...              (8.0, 9.0, "baby"), (3.0, 3.5, "dog")]}
    >>> e = event_errors(ref, est, ["dog"])["dog"]
    >>> [e[k] for k in ERROR_KINDS]
    [1, 1, 0, 1, 0, 1]
    """
    out = {c: {**dict.fromkeys(ERROR_KINDS, 0), "n_reference": 0, "n_estimated": 0}
           for c in classes}
    for f in reference:
        ref = [e for e in reference[f] if e[2] in out]
        est = [e for e in estimated.get(f, []) if e[2] in out]
        match = _matching(ref, est, t_collar, percentage_of_length)
        matched = set(int(m) for m in match if m >= 0)
        for r, m in zip(ref, match):
            c = out[r[2]]
            c["n_reference"] += 1
            over = [e for e in estimated.get(f, []) if e[0] < r[1] and e[1] > r[0]]
            own = sum(1 for e in over if e[2] == r[2])
            kind = ("hit" if m >= 0 else "fragmented" if own >= 2 else "mislocated"
                    if own == 1 else "confused" if over else "missed")
            c[kind] += 1
        for j, e in enumerate(est):
            out[e[2]]["n_estimated"] += 1
            if j not in matched and not any(r[2] == e[2] and r[0] < e[1] and r[1] > e[0]
                                            for r in ref):
                out[e[2]]["false_alarm"] += 1
    return out


def event_f1(reference: dict, estimated: dict, *, t_collar: float = 0.2,
             percentage_of_length: float = 0.2) -> float:
    """Micro-averaged event-based F1 over recordings (the matching of :func:`event_hits`),
    as sed_eval computes it, without sed_eval's containers (fast enough to score a grid
    of post-processing settings).

    Parameters
    ----------
    reference, estimated : dict
        ``{recording: [(onset_s, offset_s, label, ...), ...]}``; recordings of
        ``reference`` missing from ``estimated`` have no estimated events.

    Returns
    -------
    float
        ``2 hits / (n_reference + n_estimated)``; 0.0 when both are empty.
    """
    n_ref = sum(len(v) for v in reference.values())
    n_est = sum(len(estimated.get(k, [])) for k in reference)
    hits = sum(event_hits(reference[k], estimated.get(k, []), t_collar=t_collar,
                          percentage_of_length=percentage_of_length) for k in reference)
    return 2.0 * hits / (n_ref + n_est) if n_ref + n_est else 0.0


def event_and_segment_f1(reference: dict, estimated: dict, labels: list[str], *,
                         t_collar: float = 0.2, percentage_of_length: float = 0.2,
                         time_resolution: float = 1.0) -> dict:
    """Event-based F1 (:func:`event_f1`: onset collar ``t_collar`` s, offsets within
    ``max(t_collar, percentage_of_length * length)``) and sed_eval's segment-based F1
    (``time_resolution`` s), both micro-averaged over recordings and the event classes
    ``labels``.

    Parameters
    ----------
    reference, estimated : dict
        ``{file_id: [(onset_s, offset_s, label, ...), ...]}``; every file of the test set
        must be a key of ``reference`` (files without events map to ``[]``).
    labels : list of str
        Event classes (no background); events of other labels are ignored.

    Returns
    -------
    dict
        ``{"event_f1": float, "segment_f1": float}``.
    """
    import warnings

    import sed_eval

    keep = set(labels)
    ref = {f: [tuple(e[:3]) for e in reference[f] if e[2] in keep] for f in reference}
    est = {f: [tuple(e[:3]) for e in estimated.get(f, []) if e[2] in keep] for f in reference}
    seg = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=labels,
                                                   time_resolution=time_resolution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in sorted(ref):
            seg.evaluate(reference_event_list=_event_list({f: ref[f]}),
                         estimated_event_list=_event_list({f: est[f]}))
    s = seg.results_overall_metrics()["f_measure"]["f_measure"]
    return {"event_f1": event_f1(ref, est, t_collar=t_collar,
                                 percentage_of_length=percentage_of_length),
            "segment_f1": float(np.nan_to_num(s))}
