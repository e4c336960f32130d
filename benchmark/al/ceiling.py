"""The ceiling reference: the detector trained on every training file with its class
weights, C and median kernel chosen by cross-validation on the training split only, folds
grouped by source recording -- the test split is touched once, to score the chosen model.

Folds. Generated files reuse source clips, so folds of files would leak: each foreground
source clip is assigned to one of :data:`FOLDS` folds (by a hash of its path); fold ``k``
validates on the files whose foreground clips all lie in fold ``k`` (background-only files
by a hash of their id) and trains on the files that use no clip of fold ``k``. Background
ambience recordings are shared by most files and are not grouped (they hold no events).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from sedal.benchmark.al.loop import RunConfig, RunData, evaluate, test_iu_field
from sedal.sed.estimator import Detector
from sedal.sed.evaluate import iou_metrics

FOLDS = 3
GRID = {"class_weight": (None, "balanced"), "C": (0.1, 1.0)}
KERNELS = (1, 3, 5, 9)


def _fold(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % FOLDS


def source_folds(data: RunData, sources: list[tuple[str, ...]], train: np.ndarray
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(training files, validation files), ...]`` of the grouped folds (file indices,
    all inside ``train``); ``sources[i]`` are file ``i``'s foreground clip paths."""
    out = []
    for k in range(FOLDS):
        fit, val = [], []
        for i in train:
            folds = {_fold(s) for s in sources[i]}
            if not folds:
                (val if _fold(data.file_ids[i]) == k else fit).append(i)
            elif folds == {k}:
                val.append(i)
            elif k not in folds:
                fit.append(i)
        out.append((np.array(fit, dtype=np.int64), np.array(val, dtype=np.int64)))
    return out


def choose(data: RunData, cfg: RunConfig, files: np.ndarray | None = None) -> dict:
    """The grid point (class_weight, C, median kernel) with the best mean validation total
    IoU over the grouped folds; only training files are read (``data.sources[i]``: file
    ``i``'s foreground clips) -- all of them, or only ``files`` (training-file indices, e.g.
    an AL run's labelled files)."""
    from threadpoolctl import threadpool_limits

    train = np.flatnonzero(data.splits == "train")
    if files is not None:
        files = np.sort(np.asarray(files, dtype=np.int64))
        if not np.isin(files, train).all():
            raise ValueError("choose: files must be training files")
        train = files
    folds = source_folds(data, data.sources, train)
    scores: dict[tuple, list[float]] = {}
    with threadpool_limits(limits=1):
        for cw in GRID["class_weight"]:
            for C in GRID["C"]:
                for fit_files, val in folds:
                    det = Detector.from_spec(cfg.detector, classes=list(data.classes))
                    det.set_params(class_weight=cw, C=C)
                    rows = data.rows(fit_files)
                    det.fit(data.X[rows], data.labels[rows])
                    vr = data.rows(val)
                    probs = det.predict_proba(data.X[vr])
                    for k in KERNELS:
                        det.median_kernel = k
                        dec = det.decide_proba(probs, data.local_offsets(val))
                        m = iou_metrics(data.labels[vr], dec, det.class_names_)
                        scores.setdefault((cw, C, k), []).append(m["total_iou"] or 0.0)
    best = max(sorted(scores, key=str), key=lambda key: np.mean(scores[key]))
    return {"class_weight": best[0], "C": best[1], "kernel": best[2],
            "cv_total_iou": float(np.mean(scores[best])),
            "fold_sizes": [[int(len(a)), int(len(b))] for a, b in folds],
            "grid": {str(k): float(np.mean(v)) for k, v in scores.items()}}


def ceiling_reference(data: RunData, cfg: RunConfig) -> dict:
    """Choose by :func:`choose`, fit on every training file, score on the test split."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    chosen = choose(data, cfg)
    train = np.flatnonzero(data.splits == "train")
    test = np.flatnonzero(data.splits == "test")
    with threadpool_limits(limits=1):
        det = Detector.from_spec(cfg.detector, classes=list(data.classes))
        det.set_params(class_weight=chosen["class_weight"], C=chosen["C"],
                       median_kernel=chosen["kernel"])
        rows = data.rows(train)
        det.fit(data.X[rows], data.labels[rows])
        iu: list = []
        out = evaluate(data, det, test, costly=True, test_iu=iu)
    return {**out, "test_iu": test_iu_field(data, iu),
            "chosen": chosen, "reference_key": cfg.reference_key,
            "kind": "ceiling", "seconds": round(time.perf_counter() - t0, 1),
            "dataset_info": data.describe(cfg.manifest_sha256)}


def ceiling_path(root, reference_key: str):
    """Where a results dir keeps the ceiling of a reference key."""
    from pathlib import Path

    return Path(root) / "references" / f"ceiling-{reference_key}.json"


def compute_ceilings(results_dir, *, snr: float = 0.0, ratio: float = 0.2, jobs: int = 1,
                     progress: bool = False) -> list[dict]:
    """The ceiling of every dataset of the cell (SNR, r) in a results dir that lacks one
    (written as ``references/ceiling-<reference key>.json``); returns the new ones."""
    import math

    from sedal.benchmark.al.runner import ResultsStore, _run_data
    from sedal.benchmark.errors import BenchmarkError
    from sedal.core.fsutil import write_json_atomic
    from sedal.core.progress import progress_bar

    store = ResultsStore(results_dir)
    if not (store.root / "runs").is_dir():
        raise BenchmarkError(f"{results_dir} is not a results dir (no runs/)")
    todo: dict[str, RunConfig] = {}
    for rec in store.records():
        spec = rec.get("dataset_info", {}).get("spec", {})
        c = rec.get("config", {})
        if not (math.isclose(float(spec.get("snr", math.nan)), snr)
                and math.isclose(float(spec.get("event_ratio", math.nan)), ratio)
                and spec.get("snr_range") is None):
            continue
        cfg = RunConfig(c["dataset"], c["manifest_sha256"], "random", 0,
                        features=c.get("features", "yamnet-patch-0.12-0.06-float32"))
        if cfg.reference_key == rec.get("reference_key") and not ceiling_path(
                store.root, cfg.reference_key).exists():
            todo.setdefault(cfg.reference_key, cfg)
    if not todo:
        return []

    def one(cfg):
        return ceiling_reference(_run_data(cfg.dataset, cfg.features, cfg.recipe), cfg)

    bar = progress_bar(len(todo), desc="ceilings", unit="dataset", enabled=progress)
    out = []
    if jobs > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(one)(c) for c in todo.values())
    else:
        results = (one(c) for c in todo.values())
    for res in results:
        write_json_atomic(ceiling_path(store.root, res["reference_key"]), res)
        out.append(res)
        bar.update(1)
    bar.close()
    return out
