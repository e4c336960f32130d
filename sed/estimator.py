"""The detector as one scikit-learn-style estimator: features spec, segment classifier,
median filter and event post-processing.

Every caller that fits, predicts or scores a detector (``sedbench supervised``, the AL loop
and its reference, ``query``, ``detect``, ``annotate``, the detector studies) goes through
:class:`Detector`, so a number means the same thing wherever it is printed.

Rows of ``X`` are segments (:data:`sedal.sed.grid.SEGMENT_S` long every
:data:`sedal.sed.grid.HOP_S`), one file after another. Methods that work in time (the median
filter, events, scores) need to know where files start: pass ``groups`` (one file id per row,
each file's rows contiguous) or ``offsets`` (``[n_files + 1]`` row offsets); with neither,
all rows are one file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .detector import PRESETS, DetectorSpec
from .errors import SedError
from .evaluate import DetectorSettings, fit_segments
from .grid import HOP_S, SEGMENT_S
from .model import RowView
from .time_output import TimeOutputMixin


def unfitted(detector: Detector | None, classes: list[str], **params) -> Detector:
    """An unfitted copy of ``detector`` (default: the paper's) over ``classes``, with
    ``params`` set; the original is left as it is."""
    from sklearn.base import clone

    base = detector if detector is not None else Detector.paper()
    return clone(base).set_params(classes=list(classes), **params)


class Detector(TimeOutputMixin, ClassifierMixin, BaseEstimator):
    """Sound event detector over segment embeddings.

    Parameters
    ----------
    classes : list of str, optional
        Class names, background first; labels ``y`` are indices into it. Without it the
        classes are the sorted distinct values of ``y`` at fit time (the first is taken as
        background).
    modes, stack, pool, scores
        The features spec (:class:`sedal.sed.detector.DetectorSpec`): YAMNet embedding
        stores, neighbours stacked on each side, centred pooling widths (segments), YAMNet's
        class scores appended. Used by :meth:`features`; :meth:`fit` takes the built rows.
    C, tol, max_iter, class_weight
        The logistic regression (:class:`sedal.sed.model.SegmentClassifier`): inverse L2
        strength, gradient tolerance every fit runs to, safety stop, class weights.
    median_kernel : int
        Median-filter length in segments (odd; 1 = none), applied within each file.
    bg_prior : float
        Weight of the background probability before each segment's decision (1: argmax).
    merge_gap_s, min_duration_s : float
        Event post-processing in seconds: same-class events at most ``merge_gap_s`` apart
        are merged, then events shorter than ``min_duration_s`` dropped (0, 0: the study's
        plain runs of equal decisions).
    min_confidence : float
        Events whose mean class probability is below it are dropped (0: none).
    onset, offset : float, optional
        Hysteresis thresholds (probabilities) deciding the median-filtered segments
        (:func:`sedal.sed.postprocess.hysteresis`) instead of the argmax; both or neither
        (``None``: the argmax, the study's decision).
    segment_s, hop_s : float
        The segment grid the rows come from (seconds).
    warm_start : bool
        A refit starts the solver from the previous fit (same optimum to ``tol``, fewer
        iterations) when the classes present are the same.
    threads : int
        BLAS/OpenMP threads of a fit (results do not depend on it).
    name : str
        Preset name recorded in results and saved models.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.tile(np.repeat([0, 1, 0], [20, 10, 30]), 2)  # two files of 60 segments
    >>> X = np.random.default_rng(0).normal(size=(120, 4)).astype(np.float32)
    >>> X[:, 0] += 3 * y
    >>> det = Detector.paper(classes=["background", "dog"]).fit(X, y)
    >>> det.decide(X, offsets=[0, 60, 120]).shape
    (120,)
    >>> float(det.score(X, y, offsets=[0, 60, 120])) > 0.8
    True
    >>> e = det.predict_events(X[:60])[0][0]  # segments 20-29: 1.23-1.83 s
    >>> e.label, abs(e.onset - 1.23) <= 0.12, abs(e.offset - 1.83) <= 0.12
    ('dog', True, True)
    """

    def __init__(self, classes=None, modes=("patch",), stack=0, pool=(), scores=False,
                 C=1.0, tol=1e-5, max_iter=10_000, class_weight=None, median_kernel=3,
                 bg_prior=1.0, merge_gap_s=0.0, min_duration_s=0.0, min_confidence=0.0,
                 onset=None, offset=None, segment_s=SEGMENT_S, hop_s=HOP_S, warm_start=False,
                 threads=1, name="custom"):
        self.classes = classes
        self.modes = modes
        self.stack = stack
        self.pool = pool
        self.scores = scores
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.median_kernel = median_kernel
        self.bg_prior = bg_prior
        self.merge_gap_s = merge_gap_s
        self.min_duration_s = min_duration_s
        self.min_confidence = min_confidence
        self.onset = onset
        self.offset = offset
        self.segment_s = segment_s
        self.hop_s = hop_s
        self.warm_start = warm_start
        self.threads = threads
        self.name = name

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: DetectorSpec, **params) -> Detector:
        """The estimator of a persisted spec (``params`` set the other parameters)."""
        s = spec.settings
        return cls(modes=tuple(spec.modes), stack=spec.stack, pool=tuple(spec.pool),
                   scores=spec.scores, C=s.C, tol=s.tol, max_iter=s.max_iter,
                   class_weight=s.class_weight, median_kernel=s.kernel, bg_prior=s.bg_prior,
                   name=spec.name, **params)

    @classmethod
    def preset(cls, name: str, **params) -> Detector:
        """A named preset (``paper``, ``field``); ``params`` override its parameters."""
        try:
            spec = PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown detector preset {name!r}; choose from "
                             f"{', '.join(PRESETS)}") from None
        det = cls.from_spec(spec)
        return det.set_params(**params) if params else det

    @classmethod
    def paper(cls, **params) -> Detector:
        """The study's detector: patch embeddings, LR with C = 1, median filter 3, events as
        runs of equal decisions."""
        return cls.preset("paper", **params)

    @classmethod
    def field(cls, **params) -> Detector:
        """The ``field`` preset (see :data:`sedal.sed.detector.FIELD_DETECTOR`)."""
        return cls.preset("field", **params)

    def settings(self) -> DetectorSettings:
        """The classifier and median-filter settings in their persisted form (validated)."""
        return DetectorSettings(C=self.C, tol=self.tol, max_iter=self.max_iter,
                                kernel=self.median_kernel, class_weight=self.class_weight,
                                bg_prior=self.bg_prior)

    def spec(self) -> DetectorSpec:
        """The persisted spec (features + settings) of this detector."""
        return DetectorSpec(name=self.name, modes=tuple(self.modes), stack=int(self.stack),
                            pool=tuple(self.pool), scores=bool(self.scores),
                            settings=self.settings())

    @property
    def postprocess(self) -> dict:
        """The post-processing after the median filter: the
        :func:`sedal.sed.postprocess.clean_events` keywords, and ``onset`` / ``offset``
        when hysteresis thresholds decide the segments (absent: the argmax)."""
        post = {"merge_gap": self.merge_gap_s, "min_duration": self.min_duration_s,
                "min_confidence": self.min_confidence}
        if self.thresholds is not None:
            post.update(onset=self.thresholds[0], offset=self.thresholds[1])
        return post

    @property
    def thresholds(self) -> tuple[float, float] | None:
        """``(onset, offset)`` of the hysteresis decision, or ``None`` (the argmax)."""
        if self.onset is None and self.offset is None:
            return None
        if self.onset is None or self.offset is None:
            raise ValueError("hysteresis needs both onset and offset thresholds")
        on, off = float(self.onset), float(self.offset)
        if not 0.0 <= off <= on <= 1.0:
            raise ValueError("hysteresis thresholds need 0 <= offset <= onset <= 1")
        return on, off

    def with_postprocess(self, post: dict | None) -> Detector:
        """This detector with :meth:`postprocess` set from ``post`` (``None``: unchanged; a
        key ``post`` lacks keeps its current value)."""
        if post:
            self.set_params(merge_gap_s=post.get("merge_gap", self.merge_gap_s),
                            min_duration_s=post.get("min_duration", self.min_duration_s),
                            min_confidence=post.get("min_confidence", self.min_confidence),
                            onset=post.get("onset", self.onset),
                            offset=post.get("offset", self.offset))
        return self

    def features(self, dataset, base=None, *, yamnet_path=None, progress: bool = False,
                 rebuild: str = "auto"):
        """The dataset's feature store as this detector sees it
        (:func:`sedal.sed.detector.detector_store`)."""
        from .detector import detector_store

        return detector_store(dataset, self.spec(), base, yamnet_path=yamnet_path,
                              progress=progress, rebuild=rebuild)

    # -- fitting ---------------------------------------------------------------------------
    def _labels(self, y, fitting: bool) -> np.ndarray:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        if y is None:
            raise ValueError("Detector requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if fitting:
            if self.classes is not None:
                self.classes_ = np.arange(len(self.classes))
                self.class_names_ = [str(c) for c in self.classes]
            else:
                self.classes_ = np.unique(y)
                self.class_names_ = [str(c) for c in self.classes_]
        if self.classes is not None:
            if not np.issubdtype(y.dtype, np.integer) and len(y):
                raise ValueError("with classes given, labels must be integer class indices")
            return y.astype(np.int64)
        idx = np.searchsorted(self.classes_, y)
        if len(y) and (np.any(idx >= len(self.classes_)) or np.any(self.classes_[
                np.minimum(idx, len(self.classes_) - 1)] != y)):
            raise ValueError("y holds labels not seen in fit")
        return idx.astype(np.int64)

    def _rows(self, X, reset: bool = False):
        """``X`` as float32 rows (a :class:`~sedal.sed.model.RowView` as it is: the fit
        checks its values chunk by chunk); NaN and infinite values are refused."""
        if isinstance(X, RowView):
            rows = X
        else:
            from sklearn.utils.validation import check_array

            rows = check_array(X, dtype=np.float32)
        if reset:
            self.n_features_in_ = rows.shape[1]
        elif self.n_features_in_ is not None and rows.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {rows.shape[1]} features, but Detector is expecting "
                             f"{self.n_features_in_} features as input")
        elif self.n_features_in_ is None:  # a loaded model knows only the columns it reads
            cols = getattr(getattr(self, "classifier_", None), "cols_", None)
            if cols is not None and len(cols) and int(cols.max()) >= rows.shape[1]:
                where = getattr(self, "saved_from_", None)
                raise SedError(f"{where + ': ' if where else ''}the model reads feature "
                               f"column {int(cols.max())} but the features have "
                               f"{rows.shape[1]} columns (a model for other features?)")
        return rows

    def fit(self, X, y, groups=None) -> Detector:
        """Fit the segment classifier on rows ``X`` [n, d] with labels ``y`` [n].

        ``groups`` (file ids) is accepted for scikit-learn's grouped cross-validation; a fit
        does not depend on it. With ``warm_start``, the previous fit initialises the solver.
        """
        prev = getattr(self, "classifier_", None) if self.warm_start else None
        X = self._rows(X, reset=True)
        y_idx = self._labels(y, fitting=True)
        if len(y_idx) != len(X) or len(y_idx) == 0:
            raise ValueError("X must be [n, d] with n == len(y) > 0")
        if self.classes is not None and (y_idx.min() < 0 or y_idx.max() >= len(self.classes)):
            raise ValueError(f"labels must be in [0, {len(self.classes)})")
        self.classifier_ = fit_segments(X, y_idx, len(self.classes_), self.settings(),
                                        warm_start_from=prev, threads=self.threads)
        return self

    @property
    def n_iter_(self) -> int:
        """Solver iterations of the last fit."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.n_iter_

    @property
    def converged_(self) -> bool:
        """Whether the last fit reached ``tol``."""
        check_is_fitted(self, "classifier_")
        return bool(self.classifier_.converged_)

    # -- prediction ------------------------------------------------------------------------
    def predict_proba(self, X) -> np.ndarray:
        """Raw class probabilities [n, n_classes] (float32), before the median filter."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(self._rows(X))

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load`) has run."""
        return getattr(self, "classifier_", None) is not None

    @property
    def sees_classes(self) -> bool:
        """Whether the last fit saw two or more classes (one class: a constant model that a
        saved model cannot hold)."""
        return self.is_fitted and self.classifier_.lr_ is not None

    def class_logits(self, X) -> np.ndarray:
        """Class logits [n, n_classes] (float32; ``-inf`` for classes absent from training);
        their softmax is :meth:`predict_proba`. Rows are not validated (a fast path for
        ranking large collections)."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.decision_function(X)

    def linear_map(self):
        """``(cols, w, b)``: the fitted model as one linear map on the raw feature columns
        ``cols`` (the scaler folded in); :meth:`logits` of ``X[:, cols] @ w.T + b`` are the
        :meth:`class_logits`. ``None`` when the last fit saw one class."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.linear_map() if self.sees_classes else None

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Class logits [n, n_classes] from the :meth:`linear_map` output ``z``."""
        return self.classifier_.logits(z)

    def predict(self, X) -> np.ndarray:
        """Each row's class on its own (background weighted by ``bg_prior``, no temporal
        filter: rows are independent, as scikit-learn expects); :meth:`decide` is the
        detector's decision in time."""
        p = self.predict_proba(X)
        if self.bg_prior != 1.0:
            p[:, 0] *= self.bg_prior
        return self.classes_[np.argmax(p, axis=1)]

    # -- persistence -----------------------------------------------------------------------
    def save(self, path, *, features: dict, weights_sha256: str,
             trained_on: dict | None = None) -> Path:
        """Write the fitted detector to the folder ``path`` (:mod:`sedal.sed.savedmodel`)."""
        from .savedmodel import save_model

        check_is_fitted(self, "classifier_")
        return save_model(path, self.classifier_, self.class_names_, features=features,
                          detector=self.spec().to_dict(), postprocess=self.postprocess,
                          weights_sha256=weights_sha256, trained_on=trained_on)

    @classmethod
    def load(cls, path) -> tuple[Detector, dict]:
        """A saved detector (fitted) and the model's metadata."""
        from .savedmodel import load_model, saved_spec

        clf, meta = load_model(path)
        det = cls.from_spec(saved_spec(meta, path), classes=list(meta["classes"]))
        det.with_postprocess(meta.get("postprocess"))
        det.classifier_ = clf
        det.classes_ = np.arange(len(meta["classes"]))
        det.class_names_ = list(meta["classes"])
        det.n_features_in_ = None
        det.saved_from_ = str(path)
        return det, meta
