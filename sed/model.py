"""The segment classifier: StandardScaler + multinomial LogisticRegression."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .logistic_solver import fit_logistic

#: Rows per chunk when the scaler's statistics and the standardised matrix are computed.
CHUNK_ROWS = 1 << 14


class RowView:
    """Rows ``rows`` of a 2-d array (e.g. a feature store's memmap), read chunk by chunk, so
    that fitting on them never holds a copy of all their columns.

    Parameters
    ----------
    base : array-like [n, d]
    rows : ndarray of int
    """

    def __init__(self, base, rows: np.ndarray):
        self.base = base
        self.rows = np.asarray(rows)
        self.shape = (len(self.rows), base.shape[1])
        self.ndim = 2

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: slice) -> np.ndarray:
        out = np.asarray(self.base[self.rows[item]], dtype=np.float32)
        mm = getattr(self.base, "_mmap", None)
        # only read-only maps: a copy-on-write map ('c') would lose its private changes
        if mm is not None and hasattr(mm, "madvise") and getattr(self.base, "mode", "") == "r":
            # Drop the file pages just read from this process's mapping (they stay in the
            # page cache): a pass over a 1.35 GB store then adds one chunk to RSS, not 1.35 GB.
            import mmap

            mm.madvise(mmap.MADV_DONTNEED)
        return out


def _chunks(X, chunk: int = CHUNK_ROWS):
    for i in range(0, len(X), chunk):
        yield np.asarray(X[i:i + chunk], dtype=np.float32)


def column_stats(X, chunk: int = CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (population) variances of ``X`` [n, d] in float64, two passes over
    row chunks: O(d) memory beyond one chunk (what StandardScaler computes, without its
    full-size float64 temporaries)."""
    n, d = len(X), X.shape[1]
    total = np.zeros(d, np.float64)
    for c in _chunks(X, chunk):
        total += c.sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(d, np.float64)
    if not np.isfinite(mean).all():  # NaN/inf rows: the caller reports them
        return mean, np.full(d, np.nan)
    for c in _chunks(X, chunk):
        dev = c - mean
        sq += np.einsum("ij,ij->j", dev, dev)
    return mean, sq / n


class SegmentClassifier(ClassifierMixin, BaseEstimator):
    """Linear softmax classifier over segment embeddings (a scikit-learn estimator).

    ``predict_proba`` always returns one column per class, in the order of
    ``range(n_classes)``, even when the training set lacks some classes:
    missing classes get probability 0, and a one-class training set gives
    that class probability 1.

    Every fit runs L-BFGS to the tolerance ``tol`` (scikit-learn's gradient
    criterion on scikit-learn's objective); ``max_iter`` is only a safety stop.
    Whether the fit converged and how many iterations it took are kept in
    ``converged_`` and ``n_iter_``.

    Features that are constant over the training set are standardised to 0
    by the scaler, so their coefficients are exactly 0 at the optimum (and
    stay 0 along the solver's path). They are therefore left out of the
    solver: the same model, found faster. YAMNet patch embeddings have many
    such dimensions (ReLU outputs that are always 0).

    Parameters
    ----------
    n_classes : int
        Number of classes (background included).
    C : float
        Inverse L2 regularisation strength.
    tol : float
        lbfgs stopping tolerance (projected gradient).
    max_iter : int
        Safety stop on lbfgs iterations; a fit that hits it has ``converged_ = False``.
    random_state : int or None
        Passed to LogisticRegression (lbfgs is deterministic; kept for API symmetry).
    class_weight : {None, 'balanced'}
        Passed to LogisticRegression: ``'balanced'`` weighs each class's segments by
        ``n / (n_classes_present * count)``.
    solver : {'whitened-lbfgs', 'sklearn-lbfgs'}
        ``'whitened-lbfgs'`` (default) minimises scikit-learn's objective in whitened
        coordinates (:mod:`sedal.sed.logistic_solver`): the same model to ``tol``, in several
        times fewer iterations on correlated embeddings. ``'sklearn-lbfgs'`` runs
        ``LogisticRegression``'s own lbfgs (the reference the other is tested against).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = SegmentClassifier(n_classes=3).fit(X, y)
    >>> clf.predict_proba(X).shape, bool(clf.converged_)
    ((200, 3), True)
    """

    def __init__(self, n_classes: int = 2, C: float = 1.0, tol: float = 1e-5,
                 max_iter: int = 10_000, random_state: int | None = 0,
                 class_weight: str | None = None, solver: str = "whitened-lbfgs"):
        self.n_classes = n_classes
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.class_weight = class_weight
        self.solver = solver

    def fit(self, X: np.ndarray, y: np.ndarray, warm_start_from: SegmentClassifier | None = None):
        """Fit on embeddings ``X`` [n, d] and labels ``y`` [n] in ``[0, n_classes)``.

        ``warm_start_from`` (a fitted classifier with the same classes present)
        initialises the solver from its coefficients (same optimum, fewer iterations).
        """
        from sklearn.linear_model import LogisticRegression

        if not isinstance(X, RowView):
            X = np.asarray(X, dtype=np.float32)  # no copy when X is float32 already
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
            raise ValueError("X must be [n, d] with n == len(y) > 0")
        n_classes = int(self.n_classes)
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"labels must be in [0, {n_classes})")
        self.classes_ = np.unique(y)
        mean, var = column_stats(X)
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise ValueError("embeddings contain NaN or infinite values")
        active = np.flatnonzero(var > 0)
        # Gathering columns costs a copy; it pays only when many columns are constant.
        self.cols_ = active if len(active) < 0.75 * X.shape[1] else np.arange(X.shape[1])
        scale = np.sqrt(var[self.cols_])
        scale[scale == 0] = 1.0  # as StandardScaler: constant columns are only centred
        self.mean_ = mean[self.cols_].astype(np.float32)
        self.inv_scale_ = (1.0 / scale).astype(np.float32)
        self.n_iter_ = 0
        self.converged_ = True
        if len(self.classes_) == 1:
            self.lr_ = None
            return self
        prev = warm_start_from
        coef0 = intercept0 = None
        if (prev is not None and getattr(prev, "lr_", None) is not None
                and np.array_equal(prev.classes_, self.classes_)):
            coef0 = np.zeros((prev.lr_.coef_.shape[0], len(self.cols_)), np.float64)
            common, a, b = np.intersect1d(prev.cols_, self.cols_, return_indices=True)
            coef0[:, b] = prev.lr_.coef_[:, a]
            intercept0 = prev.lr_.intercept_.copy()
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol,
                                random_state=self.random_state, class_weight=self.class_weight)
        if self.solver == "sklearn-lbfgs":
            if coef0 is not None:
                lr.set_params(warm_start=True)
                lr.coef_, lr.intercept_ = coef0, intercept0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # recorded in converged_ instead
                lr.fit(self._transform(X), y)
            self.n_iter_ = int(np.max(lr.n_iter_))
            self.converged_ = self.n_iter_ < self.max_iter
        elif self.solver == "whitened-lbfgs":
            sol = fit_logistic(lambda: self._standardised_chunks(X), y, C=self.C, tol=self.tol,
                               max_iter=self.max_iter, class_weight=self.class_weight,
                               coef0=coef0, intercept0=intercept0)
            lr.classes_ = self.classes_.copy()
            lr.coef_, lr.intercept_ = sol.coef, sol.intercept
            lr.n_iter_ = np.array([sol.n_iter], np.int32)
            lr.n_features_in_ = len(self.cols_)
            self.n_iter_, self.converged_, self.grad_max_ = sol.n_iter, sol.converged, sol.grad_max
        else:
            raise ValueError("solver must be 'whitened-lbfgs' or 'sklearn-lbfgs'")
        self.lr_ = lr
        return self

    def _standardised_chunks(self, X):
        """The standardised active columns of ``X`` (float32), one row chunk at a time."""
        gather = len(self.cols_) < X.shape[1]
        for c in _chunks(X):
            block = np.subtract(c[:, self.cols_] if gather else c, self.mean_)
            block *= self.inv_scale_
            yield block

    def _transform(self, X) -> np.ndarray:
        """The standardised active columns of ``X`` (float32), built chunk by chunk."""
        out = np.empty((len(X), len(self.cols_)), np.float32)
        i = 0
        for block in self._standardised_chunks(X):
            out[i:i + len(block)] = block
            i += len(block)
        return out

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Class logits [n, n_classes] (float32); ``-inf`` for classes absent from training.

        Softmax of these is :meth:`predict_proba`.
        """
        X = np.asarray(X, dtype=np.float32)
        if getattr(self, "lr_", None) is None:
            return self.logits(np.zeros((len(X), 0), np.float32))
        cols, w, b = self.linear_map()
        Xc = X if len(cols) == X.shape[1] else X[:, cols]
        return self.logits(Xc @ w.T + b)

    def linear_map(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fitted model as one linear map on the raw features: ``(cols, w, b)`` with the
        scaler folded in, so that :meth:`logits` of ``X[:, cols] @ w.T + b`` are the class
        logits (no standardised copy of ``X`` is ever made)."""
        # ((X - m) * s) @ W.T + c  ==  X @ (W * s).T + (c - (m * s) @ W.T)
        w = (self.lr_.coef_ * self.inv_scale_).astype(np.float32)
        b = (self.lr_.intercept_ - (self.mean_ * self.inv_scale_) @ self.lr_.coef_.T)
        return self.cols_, w, b.astype(np.float32)

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Class logits [n, n_classes] from the linear map's output ``z`` (see
        :meth:`linear_map`; ignored when one class was seen in training)."""
        out = np.full((len(z), int(self.n_classes)), -np.inf, dtype=np.float32)
        if getattr(self, "lr_", None) is None:
            out[:, self.classes_[0]] = 0.0
            return out
        if z.shape[1] == 1:  # binary: sklearn's decision is for the second class
            z = np.hstack([np.zeros_like(z), z])
        out[:, self.lr_.classes_] = z
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities [n, n_classes] (float32)."""
        logits = self.decision_function(X)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each row (no temporal smoothing)."""
        return np.argmax(self.predict_proba(X), axis=1)
