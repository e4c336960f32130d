"""Detection metrics: total IoU (the study's), per-class and macro IoU, and sed_eval F1s.

All IoUs are computed on the concatenated test timeline at segment
resolution, from per-segment class indices (0 = background).
"""

from __future__ import annotations

import numpy as np


def validate(reference: np.ndarray, estimated: np.ndarray, n_classes: int) -> None:
    """Check that two label sequences are comparable.

    Raises
    ------
    ValueError
        Different lengths, non-integer labels, or labels outside ``[0, n_classes)``.
    """
    if reference.shape != estimated.shape or reference.ndim != 1:
        raise ValueError(f"label arrays differ in shape: {reference.shape} vs {estimated.shape}")
    for name, a in (("reference", reference), ("estimated", estimated)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0
                       or a.max() >= n_classes):
            raise ValueError(f"{name} labels must be integers in [0, {n_classes})")


def intersections_unions(reference, estimated, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class segment counts ``|pred ∩ ref|`` and ``|pred ∪ ref|`` (index 0 = background)."""
    reference = np.asarray(reference)
    estimated = np.asarray(estimated)
    validate(reference, estimated, n_classes)
    both = np.bincount(reference[reference == estimated], minlength=n_classes)
    ref_n = np.bincount(reference, minlength=n_classes)
    est_n = np.bincount(estimated, minlength=n_classes)
    return both, ref_n + est_n - both


def total_iou(reference, estimated, n_classes: int) -> float:
    """The study's total IoU.

    .. math:: \\mathrm{IoU}_{total} = \\frac{\\sum_{c \\ne bg} |P_c \\cap R_c|}
              {\\sum_{c \\ne bg} |P_c \\cup R_c|}

    where :math:`P_c` and :math:`R_c` are the sets of segments predicted and
    annotated as class ``c`` over the concatenated test set. If no segment is
    annotated or predicted as an event (empty union), the result is 1.0.
    """
    inter, union = intersections_unions(reference, estimated, n_classes)
    u = union[1:].sum()
    return 1.0 if u == 0 else float(inter[1:].sum() / u)


def per_class_iou(reference, estimated, classes: list[str]) -> dict[str, float | None]:
    """``|P_c ∩ R_c| / |P_c ∪ R_c|`` for each event class (``None`` where the union is empty)."""
    inter, union = intersections_unions(reference, estimated, len(classes))
    return {c: (float(inter[i] / union[i]) if union[i] else None)
            for i, c in enumerate(classes) if i > 0}


def macro_iou(reference, estimated, classes: list[str]) -> float:
    """Mean of the per-class IoUs over event classes with a non-empty union (1.0 if none)."""
    vals = [v for v in per_class_iou(reference, estimated, classes).values() if v is not None]
    return float(np.mean(vals)) if vals else 1.0


def _event_list(events_by_file: dict[str, list[tuple[float, float, str]]]):
    from dcase_util.containers import MetaDataContainer

    rows = [{"filename": f, "event_onset": float(a), "event_offset": float(b),
             "event_label": lab} for f, evs in events_by_file.items() for a, b, lab in evs]
    return MetaDataContainer(rows)


def sed_eval_f1(reference: dict, estimated: dict, labels: list[str], *, t_collar: float = 0.2,
                percentage_of_length: float = 0.2, time_resolution: float = 1.0) -> dict:
    """Event-based F1 (collar ``t_collar`` s, offsets within ``percentage_of_length``
    of the event length) and segment-based F1 (``time_resolution`` s), micro-averaged,
    through sed_eval.

    Parameters
    ----------
    reference, estimated : dict
        ``{file_id: [(onset_s, offset_s, label), ...]}``; every file of the test set
        must be a key of ``reference`` (files without events map to ``[]``).
    labels : list of str
        Event classes (no background).

    Returns
    -------
    dict
        ``{"event_f1": float, "segment_f1": float}``.
    """
    import warnings

    import sed_eval

    ev = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=labels, t_collar=t_collar, percentage_of_length=percentage_of_length)
    seg = sed_eval.sound_event.SegmentBasedMetrics(
        event_label_list=labels, time_resolution=time_resolution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in sorted(reference):
            ref = _event_list({f: reference[f]})
            est = _event_list({f: estimated.get(f, [])})
            ev.evaluate(reference_event_list=ref, estimated_event_list=est)
            seg.evaluate(reference_event_list=ref, estimated_event_list=est)
    e = ev.results_overall_metrics()["f_measure"]["f_measure"]
    s = seg.results_overall_metrics()["f_measure"]["f_measure"]
    return {"event_f1": float(np.nan_to_num(e)), "segment_f1": float(np.nan_to_num(s))}


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
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    if not reference or not estimated:
        return 0
    ref = np.array([(float(e[0]), float(e[1])) for e in reference])
    est = np.array([(float(e[0]), float(e[1])) for e in estimated])
    same = (np.array([e[2] for e in reference], dtype=object)[:, None]
            == np.array([e[2] for e in estimated], dtype=object)[None, :])
    onset_ok = np.abs(ref[:, :1] - est[None, :, 0]) <= t_collar + 1e-9
    tol = np.maximum(t_collar, percentage_of_length * (ref[:, 1] - ref[:, 0]))[:, None]
    offset_ok = np.abs(ref[:, 1:] - est[None, :, 1]) <= tol + 1e-9
    hit = same & onset_ok & offset_ok
    if not hit.any():
        return 0
    match = maximum_bipartite_matching(csr_matrix(hit.astype(np.int8)), perm_type="column")
    return int(np.sum(match >= 0))


def event_f1(reference: dict, estimated: dict, *, t_collar: float = 0.2,
             percentage_of_length: float = 0.2) -> float:
    """Micro-averaged event-based F1 over recordings (the matching of :func:`event_hits`),
    as :func:`sed_eval_f1` computes it, without sed_eval's containers (fast enough to
    score a grid of post-processing settings).

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
