"""A saved detector: a small, versioned, non-pickle format (JSON + ``.npz``).

A model folder holds ``model.json`` (format, version, classes, feature settings, detector
settings, post-processing, the YAMNet weights' sha256, how it was trained) and
``model.npz`` (the scaler's mean and inverse scale, the used embedding columns, the
coefficients and intercepts, and the classes they cover). Nothing is unpickled: loading
reads arrays and JSON only and validates everything before use — the sha256 of
``model.npz`` recorded in ``model.json``, every array's dtype, shape and finiteness, the
class names (strings, unique, no control characters), the classifier's and the
post-processing's numbers — and refuses other formats or versions with one
:class:`SedError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import SedError
from .model import SegmentClassifier

if TYPE_CHECKING:
    from .detector import DetectorSpec

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
        "arrays_sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
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
        raw = (path / "model.npz").read_bytes()
    except FileNotFoundError:
        raise SedError(f"{path} is not a saved sedal model (needs model.json and model.npz)") \
            from None
    except (OSError, ValueError) as exc:
        raise SedError(f"cannot read the model in {path}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SedError(f"{path}/model.json is not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise SedError(f"{path} is a version {meta.get('version')!r} model; this sedal reads "
                       f"version {VERSION}")
    want = meta.get("arrays_sha256")
    if want is not None and want != hashlib.sha256(raw).hexdigest():
        raise SedError(f"{path}/model.npz does not match the sha256 recorded in model.json "
                       "(changed or truncated); save the model again")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise SedError(f"cannot read the model in {path}: {exc}") from None
    classes = _check_meta(meta, path)
    _check_arrays(a, len(classes), path)
    c = meta.get("classifier") or {}
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


def saved_spec(meta: dict, path) -> DetectorSpec:
    """The detector spec a saved model was trained with (models saved before presets existed
    record only the paper detector's settings)."""
    from .detector import DetectorSpec
    from .evaluate import DetectorSettings

    d = meta.get("detector") or {}
    try:
        if "settings" in d:
            return DetectorSpec.from_dict(d)
        return DetectorSpec(name="paper", settings=DetectorSettings(**d))
    except (SedError, TypeError, ValueError) as exc:
        raise SedError(f"the model in {path} records an unreadable detector ({exc})") from None


def _number(v, *, positive: bool = False) -> bool:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return ok and (v > 0 if positive else v >= 0)


def _check_meta(meta: dict, path: Path) -> list[str]:
    """The model's class names, after checking every field of model.json that is used."""
    from .annotations import check_class_name

    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 \
            or not all(isinstance(x, str) for x in classes):
        raise SedError(f"{path}/model.json: 'classes' must be a list of at least two names")
    for x in classes:
        check_class_name(x, f"{path}/model.json")
    if len(set(classes)) < len(classes):
        raise SedError(f"{path}/model.json: a class is named twice")
    c = meta.get("classifier", {})
    if not isinstance(c, dict):
        raise SedError(f"{path}/model.json: 'classifier' must be an object")
    for key, positive in (("C", True), ("tol", True), ("max_iter", True), ("n_iter", False)):
        if key in c and not _number(c[key], positive=positive):
            raise SedError(f"{path}/model.json: classifier {key} {c[key]!r} is not a valid "
                           "number")
    from .evaluate import CLASS_WEIGHTS

    if c.get("class_weight") not in CLASS_WEIGHTS:
        raise SedError(f"{path}/model.json: classifier class_weight {c.get('class_weight')!r} "
                       f"is not one of {CLASS_WEIGHTS}")
    post = meta.get("postprocess") or {}
    if not isinstance(post, dict):
        raise SedError(f"{path}/model.json: 'postprocess' must be an object")
    for key, v in post.items():
        if key not in ("merge_gap", "min_duration", "min_confidence", "onset", "offset") \
                or not _number(v):
            raise SedError(f"{path}/model.json: post-processing {key!r} = {v!r} is not a "
                           "known setting with a finite non-negative number")
    if ("onset" in post) != ("offset" in post) or "onset" in post and not (
            post["offset"] <= post["onset"] <= 1):
        raise SedError(f"{path}/model.json: post-processing needs both 'onset' and 'offset', "
                       "with offset <= onset <= 1")
    for key in ("features", "detector", "trained_on"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise SedError(f"{path}/model.json: {key!r} must be an object")
    return classes


def _check_arrays(a: dict, n_classes: int, path: Path) -> None:
    """Refuse arrays of another dtype, rank or shape, non-finite values or bad indices."""
    need = {"mean": 1, "inv_scale": 1, "cols": 1, "coef": 2, "intercept": 1,
            "lr_classes": 1, "classes_present": 1}
    for key, ndim in need.items():
        if key not in a:
            raise SedError(f"{path}/model.npz lacks the array {key!r}")
        x = a[key]
        if x.dtype.kind not in ("f", "i", "u") or x.ndim != ndim:
            raise SedError(f"{path}/model.npz: {key} must be a {ndim}-d numeric array "
                           f"(is {x.ndim}-d {x.dtype})")
        if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
            raise SedError(f"{path}/model.npz: {key} holds NaN or infinite values")
    for key in ("cols", "lr_classes", "classes_present"):
        if a[key].dtype.kind == "f":
            raise SedError(f"{path}/model.npz: {key} must hold integers")
    k, d = a["coef"].shape
    if (d != len(a["cols"]) or len(a["mean"]) != d or len(a["inv_scale"]) != d
            or len(a["intercept"]) != k or not 2 <= len(a["lr_classes"]) <= n_classes
            or k not in (1, len(a["lr_classes"]))
            or np.any(a["lr_classes"] >= n_classes) or np.any(a["lr_classes"] < 0)
            or np.any(a["cols"] < 0) or len(np.unique(a["cols"])) != len(a["cols"])):
        raise SedError(f"{path}: the model's arrays do not fit together")
