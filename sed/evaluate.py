"""Train the segment classifier on some training files and score the test split."""

from __future__ import annotations

import time

import numpy as np

from generator.rng import check_random_state

from .features import FeatureStore
from .metrics import macro_iou, per_class_iou, sed_eval_f1, total_iou
from .model import SegmentClassifier
from .postprocess import decode, segments_to_events


def reference_events(doc: dict, split: str = "test") -> dict:
    """``{file_id: [(onset_s, offset_s, label), ...]}`` for every file of a split."""
    return {f["id"]: [(e["event_time"], e["event_time"] + e["event_duration"], e["label"])
                      for e in f["events"]] for f in doc["files"] if f["split"] == split}


def predict_files(store: FeatureStore, clf: SegmentClassifier, files: np.ndarray,
                  kernel: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw probabilities, decisions and local offsets for the given files."""
    rows = store.rows(files)
    probs = clf.predict_proba(np.asarray(store.embeddings[rows], dtype=np.float32))
    counts = store.offsets[files + 1] - store.offsets[files]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return probs, decode(probs, offsets, kernel), offsets


def score(store: FeatureStore, clf: SegmentClassifier, doc: dict | None = None, *,
          kernel: int = 3, with_f1: bool = True) -> dict:
    """Metrics of ``clf`` on the test split (segment IoUs, and sed_eval F1s if ``doc``)."""
    test = store.file_rows("test")
    _, pred, offsets = predict_files(store, clf, test, kernel)
    ref = store.labels[store.rows(test)].astype(np.int64)
    classes = store.classes
    if not np.any(ref > 0):
        # IoU over an empty reference is 0/0: report it as undefined, never as a perfect score
        out = {"total_iou": None, "macro_iou": None,
               "per_class_iou": {c: None for c in classes[1:]},
               "warning": "the test split has no event segments: IoU is undefined"}
        if with_f1:
            out.update({"event_f1": None, "segment_f1": None})
        return out
    out = {
        "total_iou": total_iou(ref, pred, len(classes)),
        "macro_iou": macro_iou(ref, pred, classes),
        "per_class_iou": per_class_iou(ref, pred, classes),
    }
    if with_f1 and doc is not None:
        seg, hop = store.meta["params"]["segment"], store.meta["params"]["hop"]
        est = {str(store.file_ids[f]): segments_to_events(pred[offsets[i]:offsets[i + 1]],
                                                          classes, seg, hop)
               for i, f in enumerate(test)}
        out.update(sed_eval_f1(reference_events(doc), est, classes[1:]))
    return out


def fit_on_files(store: FeatureStore, files: np.ndarray, *, max_iter: int = 200,
                 warm_start_from=None) -> SegmentClassifier:
    """Fit a classifier on the segments of ``files``."""
    rows = store.rows(np.sort(files))
    clf = SegmentClassifier(len(store.classes), max_iter=max_iter)
    return clf.fit(np.asarray(store.embeddings[rows], dtype=np.float32),
                   store.labels[rows].astype(np.int64), warm_start_from=warm_start_from)


def supervised(store: FeatureStore, doc: dict, fraction: float = 1.0, *, random_state=0,
               max_iter: int = 200, kernel: int = 3) -> dict:
    """Train on a random ``fraction`` of the training files and report test metrics.

    Returns
    -------
    dict
        ``total_iou``, ``macro_iou``, ``per_class_iou``, ``event_f1``, ``segment_f1``,
        ``n_train_files`` and ``fit_seconds``.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    train = store.file_rows("train")
    n = max(1, int(round(fraction * len(train))))
    if n < len(train):
        rng = check_random_state(random_state, "supervised-fraction")
        train = np.sort(rng.choice(train, size=n, replace=False))
    t0 = time.perf_counter()
    clf = fit_on_files(store, train, max_iter=max_iter)
    fit_s = time.perf_counter() - t0
    out = score(store, clf, doc, kernel=kernel)
    out.update({"n_train_files": int(n), "fit_seconds": round(fit_s, 3)})
    return out
