"""Segment uncertainty: the one entropy of the project.

The study ranks files by aggregated segment entropies (:mod:`sedal.benchmark.al.aggregation`);
the practitioner tools (``query``, ``annotate``) rank recordings the same way. Both compute
the entropy here, from the classifier's raw class probabilities (before the median filter):

.. math:: H(p) = -\\sum_c p_c \\log_2 p_c \\qquad (0 \\log 0 = 0)
"""

from __future__ import annotations

import numpy as np


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy (base 2) of each row of ``probs`` [n, n_classes], in bits.

    Examples
    --------
    >>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]]))
    array([1., 0.])
    """
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.maximum(-terms.sum(axis=1), 0.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``logits`` [n, n_classes] (float32; ``-inf`` gives 0), computed
    as :meth:`sedal.sed.model.SegmentClassifier.predict_proba` computes it."""
    z = np.array(logits, dtype=np.float32)  # a copy: the caller's logits stay as they are
    if not len(z):
        return z
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def entropy_and_top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entropy in bits (float32) of ``softmax(logits)`` per row and the row's most probable
    class (int16; ``top != 0`` flags segments decided as an event class).

    Parameters
    ----------
    logits : ndarray [n, n_classes]
        Class logits, ``-inf`` for classes absent from training (as
        :meth:`~sedal.sed.model.SegmentClassifier.decision_function` gives them).
    """
    H, top, _ = entropy_top_probability(logits)
    return H, top


def entropy_top_probability(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`entropy_and_top` and the most probable class's probability (float32, in
    [0, 1]) per row."""
    top = np.argmax(logits, axis=1).astype(np.int16) if len(logits) else np.zeros(0, np.int16)
    p = softmax(logits)
    ptop = p.max(axis=1).astype(np.float32) if len(p) else np.zeros(0, np.float32)
    return entropy(p).astype(np.float32), top, ptop
