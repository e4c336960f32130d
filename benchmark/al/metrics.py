"""What an AL iteration measures on the test split: total / macro / per-class IoU (the
study's metric), event-based F1 overall and per class (every iteration) and, at the budgets
of :data:`PSDS_BUDGETS` and for references, PSDS scenarios 1 and 2 (``sed_scores_eval``) and
segment-based F1 (sed_eval, 1 s), which cost about a second each on 500 test files.

Event F1: onset collar 0.2 s, offset collar max(0.2 s, 20 % of the reference event's length),
optimal matching (:func:`sedal.sed.event_metrics.event_hits`, checked against sed_eval).
"""

from __future__ import annotations

import numpy as np

from sedal.sed.estimator import Detector
from sedal.sed.evaluate import iou_metrics
from sedal.sed.event_metrics import event_and_segment_f1, event_hits
from sedal.sed.metrics import file_intersections_unions
from sedal.sed.postprocess import smooth_files
from sedal.sed.psds import PSDS1, PSDS2, psds

#: Labelled fractions at which the costly metrics (PSDS 1 and 2, segment F1) are computed:
#: the first schedule step at or above each (measured cost: docs/benchmark.md).
PSDS_BUDGETS = (0.01, 0.05, 0.10, 0.20, 0.50)


def encode_test_iu(arrays: list[np.ndarray], file_ids: list[str]) -> dict:
    """The per-iteration test intersections and unions of a run, compactly for its record:
    shape [n_iterations, n_files, n_event_classes, 2] int32, zlib + base64, with the sha256
    of the test file ids in order (so that resamples pair the same files across runs)."""
    import base64
    import zlib

    from sedal.core.fsutil import sha256_bytes

    a = np.ascontiguousarray(np.stack(arrays).astype("<i4"))
    return {"shape": list(a.shape), "dtype": "int32", "unit": "segments",
            "test_files_sha256": sha256_bytes("\n".join(file_ids).encode()),
            "data": base64.b64encode(zlib.compress(a.tobytes(), 6)).decode("ascii")}


def decode_test_iu(d: dict) -> np.ndarray:
    """Inverse of :func:`encode_test_iu` (ValueError on a damaged field)."""
    import base64
    import binascii
    import zlib

    try:
        raw = zlib.decompress(base64.b64decode(d["data"], validate=True))
        a = np.frombuffer(raw, dtype="<i4").reshape([int(n) for n in d["shape"]])
    except (KeyError, TypeError, ValueError, binascii.Error, zlib.error) as exc:
        raise ValueError(f"damaged test_iu field: {exc}") from None
    return a.astype(np.int64)


def costly_iterations(fractions: list[float]) -> set[int]:
    """Iterations (indices into ``fractions``) that get PSDS and segment F1: for each of
    :data:`PSDS_BUDGETS`, the first fraction at or above it, plus the last iteration."""
    f = np.asarray(fractions, float)
    out = {len(f) - 1} if len(f) else set()
    for b in PSDS_BUDGETS:
        hit = np.flatnonzero(f >= b - 1e-9)
        if len(hit):
            out.add(int(hit[0]))
    return out


def event_f1_by_class(reference: dict, estimated: dict, classes: list[str]) -> dict:
    """Micro event F1 over files, overall and per class: ``{"event_f1": .., "event_f1_<c>":
    ..}`` (None for a class with neither reference nor estimated events)."""
    hits = dict.fromkeys(classes, 0)
    n_ref = dict.fromkeys(classes, 0)
    n_est = dict.fromkeys(classes, 0)
    for f, ref in reference.items():
        est = estimated.get(f, [])
        for c in classes:
            r = [e for e in ref if e[2] == c]
            s = [e for e in est if e[2] == c]
            n_ref[c] += len(r)
            n_est[c] += len(s)
            hits[c] += event_hits(r, s)
    out = {}
    tot = sum(n_ref.values()) + sum(n_est.values())
    out["event_f1"] = 2.0 * sum(hits.values()) / tot if tot else None
    for c in classes:
        d = n_ref[c] + n_est[c]
        out[f"event_f1_{c}"] = 2.0 * hits[c] / d if d else None
    return out


def evaluate_test(detector: Detector, X: np.ndarray, y: np.ndarray, offsets: np.ndarray,
                  file_ids: list[str], reference: dict, duration_s: float, *,
                  costly: bool, test_iu: list | None = None,
                  events_out: dict | None = None) -> dict:
    """Every metric of a fitted detector on the test files (rows ``X``, segment labels ``y``
    as class indices, ``offsets`` [n_files + 1] local to ``X``); ``reference`` maps each file
    id to its events ``(onset_s, offset_s, label)``; ``test_iu``: a list that gets the
    per-test-file intersections and unions ([n_files, n_event_classes, 2], segments);
    ``events_out``: a dict that gets the detected events per file id (the ones scored)."""
    classes = list(detector.class_names_)
    events = classes[1:]
    probs = detector.predict_proba(X)
    dec = detector.decide_proba(probs, offsets)
    m = iou_metrics(y, dec, classes)
    out = {"total_iou": m["total_iou"], "macro_iou": m["macro_iou"]}
    out.update({f"iou_{c}": v for c, v in m["per_class_iou"].items()})
    if test_iu is not None:  # per test file and event class, segments [n_files, n_cls, 2]
        inter, union = file_intersections_unions(y, dec, offsets, len(classes))
        test_iu.append(np.stack([inter[:, 1:], union[:, 1:]], axis=-1).astype(np.int32))
    est = {f: [tuple(e[:3]) for e in detector.events_from_proba(probs[a:b], dec[a:b],
                                                                duration_s)]
           for f, a, b in zip(file_ids, offsets[:-1], offsets[1:])}
    if events_out is not None:
        events_out.update(est)
    out.update(event_f1_by_class(reference, est, events))
    out["n_detected_events"] = int(sum(len(v) for v in est.values()))
    if costly:
        out["segment_f1"] = event_and_segment_f1(reference, est, events)["segment_f1"]
        k = int(detector.median_kernel)
        smoothed = smooth_files(probs, offsets, k)
        scores = {f: smoothed[a:b, 1:] for f, a, b in zip(file_ids, offsets[:-1], offsets[1:])}
        durations = dict.fromkeys(file_ids, float(duration_s))
        out["psds1"] = psds(scores, reference, durations, events, PSDS1)
        out["psds2"] = psds(scores, reference, durations, events, PSDS2)
    return out
