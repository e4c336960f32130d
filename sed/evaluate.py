"""THE one evaluation path: fit -> predict -> median filter -> events -> metrics.

``sedbench supervised``, the active-learning loop (and its fully supervised reference) and
``sedbench query``'s cross-validation all go through :func:`fit_segments` and
:func:`evaluate_segments`, with the same :class:`DetectorSettings`, so a number means the
same thing wherever it is printed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from sedal.core.rng import check_random_state
from sedal.generator.manifest import Manifest

from .features import FeatureStore
from .metrics import macro_iou, per_class_iou, sed_eval_f1, total_iou
from .model import SegmentClassifier
from .postprocess import decode, segments_to_events

#: Class weightings of the detector's logistic regression.
CLASS_WEIGHTS = (None, "balanced")


@dataclass(frozen=True)
class DetectorSettings:
    """The detector: classifier hyper-parameters and post-processing.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation of the logistic regression.
    tol : float
        Tolerance every fit runs to (scikit-learn's gradient criterion). 1e-5, not
        scikit-learn's 1e-4: measured on a 300-file dataset with scikit-learn's lbfgs, a
        from-scratch fit at 1e-4 stopped 162 iterations in at total IoU 0.717, while
        warm-started fits and from-scratch fits at 1e-5 or 1e-6 all reached the optimum's
        0.725 (``tests/test_evaluation_identity.py``).
    max_iter : int
        Safety stop only; a fit that reaches it is recorded as not converged.
    kernel : int
        Median-filter length in segments (odd; 1 = none).
    class_weight : {None, 'balanced'}
        Class weights of the logistic regression's loss: none (the study's) or inversely
        proportional to each class's segment count in the training set.
    bg_prior : float
        Weight of the background probability before each segment's decision (1: the
        study's plain argmax; below 1 favours events).
    """

    C: float = 1.0
    tol: float = 1e-5
    max_iter: int = 10_000
    kernel: int = 3
    class_weight: str | None = None
    bg_prior: float = 1.0

    def __post_init__(self):
        if not self.C > 0 or not self.tol > 0 or self.max_iter < 1 or self.kernel < 1:
            raise ValueError("detector settings need C > 0, tol > 0, max_iter >= 1, kernel >= 1")
        if not 0 < self.bg_prior < float("inf"):
            raise ValueError("bg_prior must be a positive number")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got "
                             f"{self.class_weight!r}")

    def classifier(self, n_classes: int) -> SegmentClassifier:
        """An unfitted classifier with these settings."""
        return SegmentClassifier(n_classes, C=self.C, tol=self.tol, max_iter=self.max_iter,
                                 class_weight=self.class_weight)

    def to_dict(self) -> dict:
        """The settings; options at their default are left out, so that adding an option
        never changes the identity (and keys) of results made without it."""
        d = asdict(self)
        if d["class_weight"] is None:
            d.pop("class_weight")
        if d["bg_prior"] == 1.0:
            d.pop("bg_prior")
        return d


#: The study's detector (patch embeddings, LR with C = 1, median 3), fitted to convergence.
PAPER = DetectorSettings()


def fit_segments(X: np.ndarray, y: np.ndarray, n_classes: int,
                 settings: DetectorSettings = PAPER, *,
                 warm_start_from: SegmentClassifier | None = None,
                 threads: int = 1) -> SegmentClassifier:
    """Fit the segment classifier on embeddings ``X`` [n, d] and labels ``y`` [n].

    The fit runs under an explicit BLAS/OpenMP thread budget (``threads``, default 1):
    measured here, a 200-iteration fit on 1320 segments took 25.6 s with the default
    threads on a busy machine and 0.89 s with one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, int(threads))):
        return settings.classifier(n_classes).fit(X, y, warm_start_from=warm_start_from)


def segment_decisions(clf: SegmentClassifier, X: np.ndarray, offsets: np.ndarray,
                      kernel: int, bg_prior: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, decisions): raw class probabilities and median-filtered argmax (the
    background weighted by ``bg_prior``), the filter applied within each file (``offsets``
    [n_files + 1] into the rows of ``X``)."""
    probs = clf.predict_proba(X)
    return probs, decode(probs, offsets, kernel, bg_prior)


def iou_metrics(reference: np.ndarray, decisions: np.ndarray, classes: list[str]) -> dict:
    """Total, macro and per-class IoU of per-segment decisions.

    When the reference holds no event segment, every IoU is 0/0: reported as ``None``
    (undefined) with a ``warning``, never as a perfect score.
    """
    if not np.any(reference > 0):
        return {"total_iou": None, "macro_iou": None,
                "per_class_iou": {c: None for c in classes[1:]},
                "warning": "the test split has no event segments: IoU is undefined"}
    return {"total_iou": total_iou(reference, decisions, len(classes)),
            "macro_iou": macro_iou(reference, decisions, classes),
            "per_class_iou": per_class_iou(reference, decisions, classes)}


def evaluate_segments(clf: SegmentClassifier, X: np.ndarray, reference: np.ndarray,
                      offsets: np.ndarray, classes: list[str], kernel: int,
                      bg_prior: float = 1.0) -> dict:
    """IoU metrics of ``clf`` on test segments ``X`` (files delimited by ``offsets``).

    Also returns the ``decisions`` (per segment) for event-level scoring.
    """
    _, pred = segment_decisions(clf, X, offsets, kernel, bg_prior)
    return {**iou_metrics(np.asarray(reference), pred, classes), "decisions": pred}


def reference_events(doc: Manifest, split: str = "test") -> dict:
    """``{file_id: [(onset_s, offset_s, label), ...]}`` for every file of a split."""
    return {f.id: [(e.event_time, e.event_time + e.event_duration, e.label) for e in f.events]
            for f in doc.split(split)}


def score(store: FeatureStore, clf: SegmentClassifier, doc: Manifest | None = None, *,
          kernel: int = PAPER.kernel, with_f1: bool = True, bg_prior: float = 1.0) -> dict:
    """Metrics of ``clf`` on the test split (segment IoUs, and sed_eval F1s if ``doc``)."""
    test = store.file_rows("test")
    rows = store.rows(test)
    counts = store.offsets[test + 1] - store.offsets[test]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = evaluate_segments(clf, np.asarray(store.embeddings[rows], dtype=np.float32),
                            store.labels[rows].astype(np.int64), offsets, store.classes, kernel,
                            bg_prior)
    pred = out.pop("decisions")
    if with_f1 and doc is not None:
        if out["total_iou"] is None:
            out.update({"event_f1": None, "segment_f1": None})
        else:
            seg, hop = store.meta["params"]["segment"], store.meta["params"]["hop"]
            est = {str(store.file_ids[f]): segments_to_events(pred[offsets[i]:offsets[i + 1]],
                                                              store.classes, seg, hop)
                   for i, f in enumerate(test)}
            out.update(sed_eval_f1(reference_events(doc), est, store.classes[1:]))
    return out


def fit_on_files(store: FeatureStore, files: np.ndarray,
                 settings: DetectorSettings = PAPER, *, threads: int = 1) -> SegmentClassifier:
    """Fit the detector's classifier on the segments of the store's ``files``."""
    from .model import RowView

    rows = store.rows(np.sort(files))
    return fit_segments(RowView(store.embeddings, rows), store.labels[rows].astype(np.int64),
                        len(store.classes), settings, threads=threads)


def supervised(store: FeatureStore, doc: Manifest, fraction: float = 1.0, *, random_state=0,
               settings: DetectorSettings = PAPER, threads: int = 1) -> dict:
    """Train on a random ``fraction`` of the training files and report test metrics.

    Returns
    -------
    dict
        ``total_iou``, ``macro_iou``, ``per_class_iou``, ``event_f1``, ``segment_f1``,
        ``n_train_files``, ``fit_seconds``, ``solver_iterations`` and ``converged``.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    train = store.file_rows("train")
    n = max(1, int(round(fraction * len(train))))
    if n < len(train):
        rng = check_random_state(random_state, "supervised-fraction")
        train = np.sort(rng.choice(train, size=n, replace=False))
    t0 = time.perf_counter()
    clf = fit_on_files(store, train, settings, threads=threads)
    fit_s = time.perf_counter() - t0
    out = score(store, clf, doc, kernel=settings.kernel, bg_prior=settings.bg_prior)
    out.update({"n_train_files": int(n), "fit_seconds": round(fit_s, 3),
                "solver_iterations": clf.n_iter_, "converged": bool(clf.converged_)})
    return out
