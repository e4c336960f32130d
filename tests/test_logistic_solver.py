"""The whitened L-BFGS solver minimises scikit-learn's logistic objective."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_sample_weight

from sedal.sed.logistic_solver import fit_logistic, whitening
from sedal.sed.model import SegmentClassifier


def correlated_problem(n_classes: int, n: int = 3000, d: int = 60, seed: int = 0):
    """Standardised rows whose columns share a few strong factors (as YAMNet embeddings do),
    with labels from a softmax of a few of them."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 5))
    Z = factors @ rng.normal(size=(5, d)) + 0.1 * rng.normal(size=(n, d))
    Z = ((Z - Z.mean(0)) / Z.std(0)).astype(np.float32)
    logits = factors[:, :n_classes] * 2.0 + rng.normal(size=(n, n_classes))
    return Z, logits.argmax(1)


def objective_and_gradient(Z, y, coef, intercept, C=1.0, class_weight=None):
    """scikit-learn's objective and its largest absolute gradient component, in float64."""
    classes, yi = np.unique(y, return_inverse=True)
    Z = Z.astype(np.float64)
    s = Z @ coef.T + intercept
    if len(classes) == 2:
        s = np.hstack([np.zeros((len(y), 1)), s])
    s -= s.max(1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(1, keepdims=True)
    w = compute_sample_weight(class_weight, y)
    loss = -np.sum(w * np.log(p[np.arange(len(y)), yi])) / w.sum()
    loss += 0.5 * np.sum(coef ** 2) / (C * w.sum())
    p[np.arange(len(y)), yi] -= 1.0
    g = (p * w[:, None]) / w.sum()
    if len(classes) == 2:
        g = g[:, 1:]
    grad_w = g.T @ Z + coef / (C * w.sum())
    return loss, max(np.abs(grad_w).max(), np.abs(g.sum(0)).max())


def solve(Z, y, **kw):
    return fit_logistic(lambda: (Z[i:i + 700] for i in range(0, len(Z), 700)), y, **kw)


def probabilities(Z, coef, intercept):
    s = Z.astype(np.float64) @ coef.T + intercept
    if s.shape[1] == 1:
        s = np.hstack([np.zeros_like(s), s])
    p = np.exp(s - s.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_same_optimum_as_sklearn_lbfgs(n_classes, class_weight):
    """At the project's tolerance the solution meets scikit-learn's criterion, recomputed in
    float64, and its objective is as low as scikit-learn's own lbfgs run far tighter."""
    Z, y = correlated_problem(n_classes)
    ours = solve(Z, y, tol=1e-5, class_weight=class_weight)
    ref = LogisticRegression(tol=1e-9, max_iter=5000, class_weight=class_weight).fit(Z, y)
    assert ours.coef.shape == ref.coef_.shape and ours.intercept.shape == ref.intercept_.shape
    ours_loss, ours_grad = objective_and_gradient(Z, y, ours.coef, ours.intercept,
                                                  class_weight=class_weight)
    ref_loss, _ = objective_and_gradient(Z, y, ref.coef_, ref.intercept_, class_weight=class_weight)
    assert ours.converged and ours.grad_max <= 1e-5
    assert ours_grad <= 1e-5 * 1.05  # the criterion, recomputed in float64
    assert ours_loss <= ref_loss * (1 + 1e-8)  # as low as (here: lower than) scikit-learn's
    mine = probabilities(Z, ours.coef, ours.intercept)
    theirs = probabilities(Z, ref.coef_, ref.intercept_)
    assert np.abs(mine - theirs).max() < 0.02  # flat directions: the tolerance's own spread
    assert (mine.argmax(1) == theirs.argmax(1)).mean() > 0.995


def test_stops_at_sklearns_gradient_criterion_in_far_fewer_iterations():
    """The criterion is checked in the original coordinates; whitening removes the
    correlation that makes plain lbfgs slow (iteration counts, not seconds)."""
    Z, y = correlated_problem(4, n=6000, d=120, seed=1)
    ours = solve(Z, y, tol=1e-5)
    ref = LogisticRegression(tol=1e-5, max_iter=10_000).fit(Z, y)
    _, grad = objective_and_gradient(Z, y, ours.coef, ours.intercept)
    assert ours.converged and grad <= 1e-5 * 1.01
    assert ours.n_iter * 3 < int(ref.n_iter_[0])


def test_warm_start_from_the_optimum_needs_no_iterations_and_is_deterministic():
    Z, y = correlated_problem(3)
    a = solve(Z, y, tol=1e-6)
    b = solve(Z, y, tol=1e-6)
    assert a.coef.tobytes() == b.coef.tobytes() and a.intercept.tobytes() == b.intercept.tobytes()
    again = solve(Z, y, tol=1e-6, coef0=a.coef, intercept0=a.intercept)
    assert again.n_iter <= 1 and np.abs(again.coef - a.coef).max() < 1e-3


def test_bad_inputs_are_refused():
    Z, y = correlated_problem(3)
    with pytest.raises(ValueError, match="two classes"):
        solve(Z, np.zeros(len(Z), int))
    with pytest.raises(ValueError, match="coef0"):
        solve(Z, y, coef0=np.zeros((2, Z.shape[1])))
    with pytest.raises(ValueError, match="class_weight"):
        solve(Z, y, class_weight="sqrt")
    with pytest.raises(ValueError, match="solver"):
        SegmentClassifier(4, solver="newton").fit(Z, y)


def test_whitening_is_the_inverse_square_root():
    rng = np.random.default_rng(2)
    M = rng.normal(size=(30, 8))
    cov = M.T @ M / 30
    A, A_inv = whitening(cov, ridge=0.0)
    np.testing.assert_allclose(A @ cov @ A, np.eye(8), atol=1e-8)
    np.testing.assert_allclose(A @ A_inv, np.eye(8), atol=1e-8)


def test_segment_classifier_solvers_give_the_same_model():
    """The classifier's default solver and scikit-learn's lbfgs (the reference path), raw
    features with dead columns, warm start included."""
    rng = np.random.default_rng(4)
    Z, y = correlated_problem(4, n=4000, d=48, seed=4)
    X = np.hstack([np.maximum(Z * 3 + 1, 0), np.zeros((len(Z), 16), np.float32)])
    X = X[:, rng.permutation(X.shape[1])].astype(np.float32)
    fits = {}
    for solver in ("whitened-lbfgs", "sklearn-lbfgs"):
        first = SegmentClassifier(4, tol=1e-8, solver=solver).fit(X[:2500], y[:2500])
        fits[solver] = SegmentClassifier(4, tol=1e-8, solver=solver).fit(
            X, y, warm_start_from=first)
    a, b = (f.predict_proba(X) for f in fits.values())
    assert fits["whitened-lbfgs"].converged_
    assert np.abs(a - b).max() < 5e-3


def test_constant_columns_give_the_class_priors_and_non_finite_rows_are_refused():
    X = np.ones((50, 8), np.float32)
    y = np.r_[np.zeros(40, int), np.ones(10, int)]
    clf = SegmentClassifier(3).fit(X, y)  # no informative column: intercepts only
    assert clf.converged_
    np.testing.assert_allclose(clf.predict_proba(X[:1])[0], [0.8, 0.2, 0.0], atol=1e-3)
    for bad in (np.nan, np.inf):
        Xb = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
        Xb[3, 2] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            SegmentClassifier(3).fit(Xb, y)
