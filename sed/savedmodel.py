"""A saved detector: a small, versioned, non-pickle format (JSON + ``.npz``).

A model folder holds ``model.json`` (format, version, classes, feature settings, detector
settings, post-processing, the YAMNet weights' sha256, how it was trained) and
``model.npz`` (the scaler's mean and inverse scale, the used embedding columns, the
coefficients and intercepts, and the classes they cover). Nothing is unpickled: loading
reads arrays and JSON only, checks every shape, and refuses other formats or versions.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .errors import SedError
from .model import SegmentClassifier

FORMAT = "sedal-detector"
VERSION = 1


def save_model(path: str | Path, clf: SegmentClassifier, classes: list[str], *,
               features: dict, detector: dict, postprocess: dict, weights_sha256: str,
               trained_on: dict | None = None) -> Path:
    """Write a fitted classifier and everything needed to use it to the folder ``path``."""
    from sedal.core.fsutil import write_bytes_atomic, write_json_atomic

    path = Path(path)
    if clf.lr_ is None:
        raise SedError("the classifier saw one class only; label events of at least one class "
                       "and some background before saving a model")
    arrays = {"mean": clf.mean_, "inv_scale": clf.inv_scale_, "cols": clf.cols_,
              "coef": clf.lr_.coef_, "intercept": clf.lr_.intercept_,
              "lr_classes": clf.lr_.classes_, "classes_present": clf.classes_}
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    write_bytes_atomic(path / "model.npz", buf.getvalue())
    write_json_atomic(path / "model.json", {
        "format": FORMAT, "version": VERSION, "classes": list(classes),
        "features": features, "detector": detector, "postprocess": postprocess,
        "weights_sha256": weights_sha256, "trained_on": trained_on or {},
        "classifier": {"C": clf.C, "tol": clf.tol, "max_iter": clf.max_iter,
                       "class_weight": clf.class_weight,
                       "n_iter": clf.n_iter_, "converged": bool(clf.converged_)}})
    return path


def load_model(path: str | Path) -> tuple[SegmentClassifier, dict]:
    """Read a saved model: the classifier (ready for ``predict_proba``) and its metadata.

    Raises
    ------
    SedError
        Missing files, another format or version, or arrays of the wrong shape.
    """
    from sklearn.linear_model import LogisticRegression

    path = Path(path)
    try:
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        with np.load(path / "model.npz", allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise SedError(f"{path} is not a saved sedal model (needs model.json and model.npz)") \
            from None
    except (OSError, ValueError, EOFError) as exc:
        raise SedError(f"cannot read the model in {path}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SedError(f"{path}/model.json is not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise SedError(f"{path} is a version {meta.get('version')!r} model; this sedal reads "
                       f"version {VERSION}")
    classes = meta.get("classes")
    need = {"mean", "inv_scale", "cols", "coef", "intercept", "lr_classes", "classes_present"}
    if not isinstance(classes, list) or not need <= set(a):
        raise SedError(f"{path}: the model lacks classes or arrays")
    k, d = a["coef"].shape if a["coef"].ndim == 2 else (0, 0)
    if (d != len(a["cols"]) or len(a["mean"]) != d or len(a["inv_scale"]) != d
            or len(a["intercept"]) != k or not 2 <= len(a["lr_classes"]) <= len(classes)
            or k not in (1, len(a["lr_classes"]))
            or np.any(a["lr_classes"] >= len(classes)) or np.any(a["lr_classes"] < 0)):
        raise SedError(f"{path}: the model's arrays do not fit together")
    c = meta.get("classifier", {})
    clf = SegmentClassifier(len(classes), C=c.get("C", 1.0), tol=c.get("tol", 1e-5),
                            max_iter=c.get("max_iter", 10_000),
                            class_weight=c.get("class_weight"))
    lr = LogisticRegression()
    lr.coef_, lr.intercept_, lr.classes_ = a["coef"], a["intercept"], a["lr_classes"]
    clf.lr_, clf.cols_ = lr, a["cols"].astype(np.int64)
    clf.mean_, clf.inv_scale_ = a["mean"].astype(np.float32), a["inv_scale"].astype(np.float32)
    clf.classes_ = a["classes_present"]
    clf.n_iter_, clf.converged_ = int(c.get("n_iter", 0)), bool(c.get("converged", True))
    return clf, meta
