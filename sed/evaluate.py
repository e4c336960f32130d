"""The detector's settings, its one fit, its IoU metrics, and scoring on a dataset's test
split.

:class:`DetectorSettings` is the persisted form of the classifier and median-filter
settings; :func:`fit_segments` the one fit that :class:`sedal.sed.estimator.Detector` runs;
:func:`iou_metrics` the IoUs it reports. :func:`score`, :func:`fit_on_files` and
:func:`supervised` run a ``Detector`` on a dataset's feature store (``sedbench supervised``,
the detector studies).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from sedal.core.rng import check_random_state
from sedal.generator.manifest import Manifest

from .features import FeatureStore
from .metrics import macro_iou, per_class_iou, total_iou
from .model import SegmentClassifier

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
        0.725 (``tests/test_one_evaluation_path.py``).
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


def reference_events(doc: Manifest, split: str = "test") -> dict:
    """``{file_id: [(onset_s, offset_s, label), ...]}`` for every file of a split."""
    return {f.id: [(e.event_time, e.event_time + e.event_duration, e.label) for e in f.events]
            for f in doc.split(split)}


def score(store: FeatureStore, detector, doc: Manifest | None = None, *,
          with_f1: bool = True) -> dict:
    """Metrics of a fitted :class:`~sedal.sed.estimator.Detector` on the store's test split
    (:meth:`~sedal.sed.estimator.Detector.score`: segment IoUs, and sed_eval F1s if ``doc``).
    """
    test = store.file_rows("test")
    rows = store.rows(test)
    counts = store.offsets[test + 1] - store.offsets[test]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    ref = reference_events(doc) if with_f1 and doc is not None else None
    res = detector.score(np.asarray(store.embeddings[rows], dtype=np.float32),
                         store.labels[rows].astype(np.int64), offsets=offsets,
                         reference_events=ref, file_ids=[str(store.file_ids[f]) for f in test])
    out = res.to_dict()
    if ref is not None:
        out.update({"event_f1": res.event_f1, "segment_f1": res.segment_f1})
    return out


def fit_on_files(store: FeatureStore, files: np.ndarray, detector=None, *, threads: int = 1):
    """A fitted copy of ``detector`` (default the paper's; unfitted copy, its classes the
    store's) trained on the segments of the store's ``files``."""
    from .estimator import unfitted
    from .model import RowView

    det = unfitted(detector, store.classes, threads=threads)
    rows = store.rows(np.sort(files))
    return det.fit(RowView(store.embeddings, rows), store.labels[rows].astype(np.int64))


def supervised(store: FeatureStore, doc: Manifest, fraction: float = 1.0, *, random_state=0,
               detector=None, threads: int = 1) -> dict:
    """Train ``detector`` (default the paper's) on a random ``fraction`` of the training
    files and report test metrics.

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
    det = fit_on_files(store, train, detector, threads=threads)
    fit_s = time.perf_counter() - t0
    out = score(store, det, doc)
    out.update({"n_train_files": int(n), "fit_seconds": round(fit_s, 3),
                "solver_iterations": det.n_iter_, "converged": det.converged_})
    return out
