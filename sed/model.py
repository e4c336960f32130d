"""The segment classifier: StandardScaler + multinomial LogisticRegression."""

from __future__ import annotations

import warnings

import numpy as np


class SegmentClassifier:
    """Linear softmax classifier over segment embeddings.

    ``predict_proba`` always returns one column per class, in the order of
    ``range(n_classes)``, even when the training set lacks some classes:
    missing classes get probability 0, and a one-class training set gives
    that class probability 1.

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
    max_iter : int
        lbfgs iterations.
    random_state : int or None
        Passed to LogisticRegression (lbfgs is deterministic; kept for API symmetry).
    """

    def __init__(self, n_classes: int, C: float = 1.0, max_iter: int = 200,
                 tol: float = 1e-4, random_state: int | None = 0):
        self.n_classes = int(n_classes)
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, warm_start_from: SegmentClassifier | None = None):
        """Fit on embeddings ``X`` [n, d] and labels ``y`` [n] in ``[0, n_classes)``.

        ``warm_start_from`` (a fitted classifier with the same classes present)
        initialises the solver from its coefficients (same optimum, fewer iterations).
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
            raise ValueError("X must be [n, d] with n == len(y) > 0")
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(f"labels must be in [0, {self.n_classes})")
        self.classes_ = np.unique(y)
        scaler = StandardScaler().fit(X)
        active = np.flatnonzero(scaler.var_ > 0)
        # Gathering columns costs a copy; it pays only when many columns are constant.
        self.cols_ = active if len(active) < 0.75 * X.shape[1] else np.arange(X.shape[1])
        self.mean_ = scaler.mean_[self.cols_].astype(np.float32)
        self.inv_scale_ = (1.0 / scaler.scale_[self.cols_]).astype(np.float32)
        self.n_iter_ = 0
        if len(self.classes_) == 1:
            self.lr_ = None
            return self
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol,
                                random_state=self.random_state)
        prev = warm_start_from
        if (prev is not None and getattr(prev, "lr_", None) is not None
                and np.array_equal(prev.classes_, self.classes_)):
            coef = np.zeros((prev.lr_.coef_.shape[0], len(self.cols_)), prev.lr_.coef_.dtype)
            common, a, b = np.intersect1d(prev.cols_, self.cols_, return_indices=True)
            coef[:, b] = prev.lr_.coef_[:, a]
            lr.set_params(warm_start=True)
            lr.coef_ = coef
            lr.intercept_ = prev.lr_.intercept_.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is expected
            lr.fit(self._transform(X), y)
        self.lr_ = lr
        self.n_iter_ = int(np.max(lr.n_iter_))
        return self

    def _transform(self, X: np.ndarray) -> np.ndarray:
        Xc = X[:, self.cols_] if len(self.cols_) < X.shape[1] else X
        out = Xc - self.mean_
        out *= self.inv_scale_
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities [n, n_classes] (float32)."""
        X = np.asarray(X, dtype=np.float32)
        out = np.zeros((len(X), self.n_classes), dtype=np.float32)
        if self.lr_ is None:
            out[:, self.classes_[0]] = 1.0
            return out
        # The scaler is folded into the linear map (no standardised copy of X):
        # ((X - m) * s) @ W.T + b  ==  X @ (W * s).T + (b - (m * s) @ W.T)
        Xc = X[:, self.cols_] if len(self.cols_) < X.shape[1] else X
        w = (self.lr_.coef_ * self.inv_scale_).astype(np.float32)
        b = (self.lr_.intercept_ - (self.mean_ * self.inv_scale_) @ self.lr_.coef_.T)
        logits = Xc @ w.T + b.astype(np.float32)
        if logits.shape[1] == 1:  # binary: sklearn's decision is for the second class
            logits = np.hstack([np.zeros_like(logits), logits])
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        out[:, self.lr_.classes_] = logits
        return out
