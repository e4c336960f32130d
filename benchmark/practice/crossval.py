"""Cross-validation over a practitioner's labelled recordings (``query`` and ``detect``).

Folds are whole recordings. The held-out decisions of every fold serve two purposes: the
total IoU estimate of the detector (pooled over folds, as the benchmark pools its test
split) and the choice of the segment decision and event post-processing
(:func:`sedal.sed.postprocess.choose_decision`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from sedal.core.rng import derive_rng
from sedal.sed.estimator import Detector, unfitted
from sedal.sed.evaluate import iou_metrics
from sedal.sed.postprocess import choose_decision
from sedal.sed.rows import file_rows

#: Fewest labelled recordings for a cross-validated estimate.
MIN_RECORDINGS = 4
#: Most folds.
MAX_FOLDS = 5
#: Fewest labelled events for choosing the post-processing by cross-validation: with fewer,
#: a choice among the grid's 120 settings rests on a handful of matches (measured: with 12
#: events the choice swung to the grid's extremes), so the fixed defaults are used.
MIN_EVENTS = 20


def file_folds(n: int, random_state: int, n_folds: int = MAX_FOLDS
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index arrays of ``min(n_folds, n)`` folds over ``n`` recordings,
    drawn from ``random_state``."""
    k = min(n_folds, n)
    order = derive_rng(random_state, "query-cv").permutation(n)
    return [(np.setdiff1d(order, order[f::k]), order[f::k]) for f in range(k)]


def out_of_fold(embs: list[np.ndarray], labels: list[np.ndarray], classes: list[str],
                folds: list[tuple[np.ndarray, np.ndarray]],
                detector: Detector | None = None
                ) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Held-out ``(probabilities, decisions)`` of every recording (``None`` for a recording
    in no test fold), each fold's copy of ``detector`` fitted on its train recordings only."""
    out: list = [None] * len(embs)
    for train, test in folds:
        det = unfitted(detector, classes).fit(
            np.concatenate([embs[i] for i in train]), np.concatenate([labels[i] for i in train]))
        X = np.concatenate([embs[i] for i in test])
        offsets = np.concatenate([[0], np.cumsum([len(embs[i]) for i in test])])
        probs = det.predict_proba(X)
        pred = det.decide_proba(probs, offsets)
        for j, i in enumerate(test):
            out[i] = (probs[offsets[j]:offsets[j + 1]], pred[offsets[j]:offsets[j + 1]])
    return out


def cross_validated_iou(embs: list[np.ndarray], labels: list[np.ndarray], classes: list[str],
                        folds: list[tuple[np.ndarray, np.ndarray]],
                        detector: Detector | None = None) -> float | None:
    """Total IoU of the detector over held-out recordings, through :mod:`sedal.sed.evaluate`:
    the decisions of every fold are pooled into one test timeline. ``None`` when undefined."""
    return _pooled_iou(out_of_fold(embs, labels, classes, folds, detector), labels,
                       classes)


def _pooled_iou(held: list, labels: list[np.ndarray], classes: list[str]) -> float | None:
    """Total IoU of the held-out decisions of every tested recording, pooled."""
    tested = [i for i, h in enumerate(held) if h is not None]
    return iou_metrics(np.concatenate([labels[i] for i in tested]),
                       np.concatenate([held[i][1] for i in tested]), classes)["total_iou"]


@dataclass(frozen=True)
class CrossValidation:
    """What cross-validation over the labelled recordings found.

    Attributes
    ----------
    total_iou : float or None
        Pooled held-out total IoU.
    postprocess : dict or None
        The chosen ``merge_gap`` (s), ``min_duration`` (s), ``min_confidence``.
    event_f1, event_f1_raw : float or None
        Held-out event F1 (collar 0.2 s) with the chosen post-processing and without any.
    n_folds : int
    """

    total_iou: float | None
    postprocess: dict | None
    event_f1: float | None
    event_f1_raw: float | None
    n_folds: int


def cross_validate(embs: list[np.ndarray], labels: list[np.ndarray], classes: list[str],
                   reference: list[list[tuple]], *, random_state: int = 0,
                   detector: Detector | None = None) -> CrossValidation | None:
    """Cross-validate the detector over labelled recordings and choose the post-processing.

    Parameters
    ----------
    embs, labels : list of ndarray
        Per recording: segment embeddings and segment labels (class indices).
    classes : list of str
        Background first.
    reference : list of list of tuple
        Per recording: the labelled events ``(onset_s, offset_s, label)``.
    random_state : int
        Seed of the fold assignment.
    detector : Detector, optional
        Fitted afresh on each fold (default the paper's); its grid gives event times.

    Returns
    -------
    CrossValidation or None
        ``None`` with fewer than :data:`MIN_RECORDINGS` recordings or one class; the
        ``postprocess`` is ``None`` with fewer than :data:`MIN_EVENTS` labelled events.
    """
    n = len(embs)
    if n < MIN_RECORDINGS or len({int(c) for lab in labels for c in np.unique(lab)}) < 2:
        return None
    folds = file_folds(n, random_state)
    det = unfitted(detector, classes)
    held = out_of_fold(embs, labels, classes, folds, det)
    iou = _pooled_iou(held, labels, classes)
    ref = {i: [tuple(e[:3]) for e in evs] for i, evs in enumerate(reference)}
    if sum(len(v) for v in ref.values()) < MIN_EVENTS:
        return CrossValidation(iou, None, None, None, len(folds))
    post, f1, f1_raw = choose_decision(held, ref, classes, kernel=int(det.median_kernel),
                                       segment=det.segment_s, hop=det.hop_s)
    return CrossValidation(iou, post, f1, f1_raw, len(folds))


def postprocess_sentence(post: dict, cv: CrossValidation | None, *,
                         origin: str | None = None) -> str:
    """One line for a summary: the post-processing used and where it came from
    (``origin`` when given, else what ``cv`` says)."""
    what = (f"post-processing: merge same-class gaps <= {post['merge_gap']:g} s, drop events "
            f"< {post['min_duration']:g} s and below confidence {post['min_confidence']:g}")
    if "onset" in post:
        what += (f"; segments decided by hysteresis (onset {post['onset']:g}, offset "
                 f"{post['offset']:g})")
    if origin is not None:
        return f"{what} ({origin})"
    if cv is not None and cv.postprocess is not None and post == cv.postprocess:
        return (f"{what}; chosen by {cv.n_folds}-fold cross-validation over the labelled "
                f"recordings (held-out event F1, collar 0.2 s: {cv.event_f1:.3f}, "
                f"{cv.event_f1_raw:.3f} without post-processing)")
    if cv is None or cv.postprocess is None:
        return (what + f" (fixed defaults: choosing by cross-validation needs "
                f"{MIN_RECORDINGS} labelled recordings with {MIN_EVENTS} events)")
    return what + " (as given)"


#: C values tried by :func:`tune_detector` (log-spaced around the study's C = 1).
C_GRID = (0.01, 0.1, 1.0)
#: Median-filter kernels tried by :func:`tune_detector` (segments; 1 = none).
KERNEL_GRID = (1, 3, 5, 9)
#: Background weights tried by :func:`tune_detector` (below 1 favours events).
BG_GRID = (0.25, 0.5, 1.0, 2.0)


def tune_detector(X: np.ndarray, y: np.ndarray, offsets: np.ndarray, files: np.ndarray,
                  classes: list[str], detector: Detector | None = None, *,
                  C_grid=C_GRID, kernels=KERNEL_GRID, bg_priors=BG_GRID, n_splits: int = 3
                  ) -> tuple[Detector, list[dict]]:
    """Choose C, the median-filter kernel and the background weight by cross-validation
    grouped by file.

    The folds are scikit-learn's :class:`~sklearn.model_selection.GroupKFold` over ``files``
    only (a practitioner's labelled files, or a benchmark's training split: never the
    test split). For each C (fitted in increasing order, each fit warm-started from the
    previous C's), the held-out probabilities of every fold are decided with each kernel and
    background weight and pooled into one timeline; the (C, kernel, weight) with the highest
    pooled total IoU wins (ties to the smaller C, the smaller kernel, then the weight
    closest to 1).

    Parameters
    ----------
    X : ndarray [n, d]
        Features of every segment of the dataset (rows of files by ``offsets``).
    y : ndarray [n]
        Segment labels.
    offsets : ndarray [n_files + 1]
    files : ndarray of int
        The files to cross-validate over.
    classes : list of str
    detector : Detector, optional
        The detector tuned (default the paper's); its other parameters (class weights,
        tolerance, features) are kept as they are.

    Returns
    -------
    (Detector, list of dict)
        An unfitted copy of ``detector`` with the chosen ``C``, ``median_kernel`` and
        ``bg_prior``, and the pooled IoU of every cell.
    """
    from sklearn.model_selection import GroupKFold

    base = unfitted(detector, classes)
    files = np.sort(np.asarray(files))
    n_splits = min(n_splits, len(files))
    if n_splits < 2:
        return base, []
    folds = [(files[a], files[b]) for a, b in
             GroupKFold(n_splits=n_splits).split(files, groups=files)]

    held: dict[tuple[float, int, float], list[np.ndarray]] = {}
    refs: list[np.ndarray] = []
    for train, test in folds:
        tr, te = file_rows(offsets, train), file_rows(offsets, test)
        local = np.concatenate([[0], np.cumsum(offsets[test + 1] - offsets[test])])
        refs.append(y[te])
        det = clone(base).set_params(warm_start=True)  # each C starts from the previous C
        for C in sorted(C_grid):
            probs = det.set_params(C=float(C)).fit(X[tr], y[tr]).predict_proba(X[te])
            for k in kernels:
                for w in bg_priors:
                    held.setdefault((float(C), int(k), float(w)), []).append(
                        det.set_params(median_kernel=int(k), bg_prior=float(w))
                        .decide_proba(probs, local))
    ref = np.concatenate(refs)
    table = []
    for (C, k, w), parts in held.items():
        iou = iou_metrics(ref, np.concatenate(parts), classes)["total_iou"]
        table.append({"C": C, "kernel": k, "bg_prior": w, "total_iou": iou})
    best = max(table, key=lambda r: (-1.0 if r["total_iou"] is None else r["total_iou"],
                                     -r["C"], -r["kernel"], -abs(np.log(r["bg_prior"]))))
    return clone(base).set_params(C=best["C"], median_kernel=best["kernel"],
                                  bg_prior=best["bg_prior"]), table
