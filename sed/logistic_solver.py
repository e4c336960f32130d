"""L2-penalised logistic regression (scikit-learn's objective) solved by preconditioned L-BFGS.

scikit-learn's ``LogisticRegression(solver='lbfgs')`` minimises, over the weights ``W`` and the
unpenalised intercepts ``b``,

    f(W, b) = sum_i s_i * CE(softmax(z_i @ W + b), y_i) / sum_i s_i  +  ||W||^2 / (2 C sum_i s_i)

(binary problems: one weight vector, the first class's logit fixed at 0), and stops when the
largest absolute gradient component is at most ``tol``. On standardised YAMNet embeddings this
takes hundreds of L-BFGS iterations because the columns are strongly correlated. Here the same
objective is minimised in whitened coordinates ``W = A W'`` with
``A = (Z^T Z / n + ridge I)^(-1/2)``: a change of variables, so the optimum is the same
model, reached in far fewer iterations. The stopping rule is scikit-learn's, evaluated in the
original coordinates. All passes over the data are float32 BLAS products on one
preconditioned copy of the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

#: Added to the eigenvalues of the standardised rows' covariance before the inverse square root.
RIDGE = 1e-3


@dataclass(frozen=True)
class LogisticSolution:
    """A fitted logistic model in scikit-learn's layout.

    Attributes
    ----------
    coef : ndarray [n_rows, d] float64
        One row per class present (one row in total for two classes, for the second class).
    intercept : ndarray [n_rows] float64
    n_iter : int
        L-BFGS iterations.
    converged : bool
        Whether the largest absolute gradient component reached ``tol``, or L-BFGS stopped
        before ``max_iter`` because the objective could not decrease any further at the
        rows' float32 precision (what scikit-learn also counts as converged); ``grad_max``
        tells the two apart.
    grad_max : float
        The largest absolute gradient component at the solution (original coordinates).
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    grad_max: float


def whitening(cov: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """``A = (cov + ridge I)^(-1/2)`` and its inverse, both symmetric (float64)."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, np.float64))
    vals = np.maximum(vals, 0.0) + ridge
    root = np.sqrt(vals)
    return (vecs / root) @ vecs.T, (vecs * root) @ vecs.T


def fit_logistic(chunks: Callable[[], Iterable[np.ndarray]], y: np.ndarray, *, C: float = 1.0,
                 tol: float = 1e-5, max_iter: int = 10_000, class_weight: str | None = None,
                 coef0: np.ndarray | None = None, intercept0: np.ndarray | None = None,
                 ridge: float = RIDGE) -> LogisticSolution:
    """Fit L2-penalised logistic regression on standardised rows, as scikit-learn's lbfgs does.

    Parameters
    ----------
    chunks : callable
        Returns an iterator over the standardised rows [n, d] as float32 blocks, in order; it
        is called twice (covariance, then the preconditioned copy), so that only one n x d
        float32 copy is ever held.
    y : ndarray [n] of int
        Labels; the classes present are ``np.unique(y)`` (at least two).
    C, tol, max_iter, class_weight
        As in ``sklearn.linear_model.LogisticRegression``.
    coef0, intercept0 : ndarray, optional
        A starting point in scikit-learn's layout (warm start).
    ridge : float
        Added to the covariance's eigenvalues before whitening (a property of the solver path
        only; the optimum does not depend on it).

    Returns
    -------
    LogisticSolution
    """
    y = np.asarray(y)
    classes, yi = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("logistic regression needs at least two classes")
    A, A_inv, ZA = _whitened_rows(chunks, len(y), ridge)
    if class_weight not in (None, "balanced"):
        raise ValueError("class_weight must be None or 'balanced'")
    obj = _Objective(ZA, yi, len(classes), compute_sample_weight(class_weight, y), C, A)
    theta0 = obj.start(coef0, intercept0, A_inv)
    theta, n_iter, stalled = _minimise(obj, theta0, A_inv, tol, max_iter)
    gmax = obj.original_grad_max(theta, obj.fun(theta)[1], A_inv)
    Wp, b = obj.unpack(theta)
    return LogisticSolution(coef=(A @ Wp).T.copy(), intercept=b.copy(), n_iter=n_iter,
                            converged=bool(gmax <= tol or stalled), grad_max=gmax)


def _whitened_rows(chunks, n: int, ridge: float):
    """``(A, A^-1, Z A)``: the whitening of the rows' covariance and the whitened rows
    (float32), from two passes over ``chunks()``."""
    cov = None
    for c in chunks():
        block = (c.T @ c).astype(np.float64)  # float32 product per chunk, float64 sum
        cov = block if cov is None else cov + block
    if cov is None or not np.isfinite(cov).all():
        raise ValueError("the rows must be finite (no NaN or infinity) and not empty")
    d = cov.shape[0]  # 0 columns: an intercept-only model (the class priors)
    A, A_inv = whitening(cov / n, ridge)
    A32 = A.astype(np.float32)
    ZA = np.empty((n, d), np.float32)
    i = 0
    for c in chunks():
        np.matmul(c, A32, out=ZA[i:i + len(c)])
        i += len(c)
    if i != n:
        raise ValueError("chunks() gave a different number of rows than y")
    return A, A_inv, ZA


class _Objective:
    """scikit-learn's weighted multinomial (or binary) logistic loss with its L2 penalty, in
    whitened coordinates ``W = A W'``; the loss and gradient of the last point are kept."""

    def __init__(self, ZA: np.ndarray, yi: np.ndarray, k: int, sw: np.ndarray, C: float,
                 A: np.ndarray):
        n, d = ZA.shape
        sw_sum = float(sw.sum())  # ones for None, as scikit-learn weighs rows
        self.ZA, self.yi, self.d = ZA, yi, d
        self.row_w = (sw / sw_sum).astype(np.float32)
        self.row_w64 = self.row_w.astype(np.float64)
        self.lam = 1.0 / (C * sw_sum)
        self.AtA = A.T @ A
        self.m = 1 if k == 2 else k  # parameter columns: binary problems fit the 2nd class
        self.rows = np.arange(n)
        self.onehot = np.zeros((n, k), np.float32)
        self.onehot[self.rows, yi] = 1.0
        self.n_w = d * self.m
        self.last: dict = {}

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[:self.n_w].reshape(self.d, self.m), theta[self.n_w:]

    def start(self, coef0, intercept0, A_inv: np.ndarray) -> np.ndarray:
        """The starting point: zeros, or a warm start given in scikit-learn's layout."""
        theta0 = np.zeros(self.n_w + self.m)
        if coef0 is not None:
            coef0 = np.asarray(coef0, np.float64)
            if coef0.shape != (self.m, self.d):
                raise ValueError(f"coef0 must have shape {(self.m, self.d)}")
            theta0[:self.n_w] = (A_inv @ coef0.T).ravel()
            if intercept0 is not None:
                theta0[self.n_w:] = np.asarray(intercept0, np.float64)
        return theta0

    def loss_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        Wp, b = self.unpack(theta)
        s = self.ZA @ Wp.astype(np.float32)
        s += b.astype(np.float32)
        if self.m == 1:
            s = np.hstack([np.zeros_like(s), s])
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        norm = p.sum(axis=1, keepdims=True)
        p /= norm
        logp_true = s[self.rows, self.yi] - np.log(norm[:, 0])
        loss = -float(np.dot(self.row_w64, logp_true.astype(np.float64)))
        p -= self.onehot
        p *= self.row_w[:, None]
        g = p[:, 1:] if self.m == 1 else p
        AtAW = self.AtA @ Wp
        grad_w = (self.ZA.T @ g).astype(np.float64) + self.lam * AtAW
        grad_b = g.sum(axis=0, dtype=np.float64)
        loss += 0.5 * self.lam * float(np.sum(Wp * AtAW))
        return loss, np.concatenate([grad_w.ravel(), grad_b])

    def fun(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient, remembered for the last point (the start, checked before
        L-BFGS, and each accepted point, checked by the callback, are evaluated once)."""
        if not np.array_equal(self.last.get("theta"), theta):
            self.last["theta"], self.last["value"] = theta.copy(), self.loss_grad(theta)
        loss, grad = self.last["value"]
        return loss, grad.copy()

    def original_grad_max(self, theta: np.ndarray, grad: np.ndarray, A_inv) -> float:
        """The largest gradient entry in the original coordinates (scikit-learn's test)."""
        gw = A_inv @ grad[:self.n_w].reshape(self.d, self.m)  # dW = A^-T dW' (A symmetric)
        return float(np.abs(np.concatenate([gw.ravel(), grad[self.n_w:]])).max())


def _minimise(obj: _Objective, theta0: np.ndarray, A_inv, tol: float, max_iter: int):
    """L-BFGS until the original gradient is within ``tol``: ``(theta, iterations,
    stalled)``, stalled when no further decrease is representable before ``max_iter``."""
    import scipy.optimize

    def callback(intermediate_result) -> None:
        theta = intermediate_result.x
        if obj.original_grad_max(theta, obj.fun(theta)[1], A_inv) <= tol:
            raise StopIteration

    _, g0 = obj.fun(theta0)
    if obj.original_grad_max(theta0, g0, A_inv) <= tol:
        return theta0, 0, False
    res = scipy.optimize.minimize(
        obj.fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
        options={"maxiter": max_iter, "maxls": 50, "gtol": 0.0,
                 "ftol": 64 * np.finfo(float).eps})
    n_iter = int(res.nit)
    # ftol: no further decrease is representable (float32 rows), before max_iter
    return res.x, n_iter, bool(res.success) and n_iter < max_iter
