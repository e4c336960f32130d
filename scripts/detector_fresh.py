"""Detector heads and post-processing measured on fresh dataset realisations (issue 27,
items 2-4, and the event-F1 report of ``detect``'s default detector).

Pre-stated (2026-12-06, 10:00 UTC, before any result of this script was seen):

- **Data.** Dataset realisations of one library (default ``../shared/real-sources``), SNR 0
  dB, event ratio 0.2, ``--n-files`` files of 10 s split 80/20, on dataset seeds 201-205:
  never used by any selection (the ``field`` preset's development set is real-sources seeds
  0-4, refused here through :mod:`sedal.sed.provenance`) and never looked at before this run.
  The same datasets as ``scripts/backbone_compare.py`` (same names and specs).
- **Protocol.** Every arm is fitted on the training split only; whatever an arm tunes
  (``field+cv``: the segment decision and the event clean-up) it tunes by 5-fold
  cross-validation over the training recordings only
  (:func:`sedal.benchmark.practice.crossval.cross_validate`, what ``sedbench detect`` does);
  each arm is scored once on the test split.
- **Arms.**
  ``paper``: the study's detector (LR on patch embeddings, C 1, median 3, argmax, runs).
  ``field``: the shipped field preset (LR on patch + context, C 0.01, median 9, background
  weight 0.25, argmax, runs).
  ``field+cv``: ``detect``'s default detector: the field preset with the decision (argmax
  or hysteresis thresholds) and the clean-up (merge gap, minimum duration, minimum
  confidence) chosen by cross-validation on the training recordings.
  ``tconv``: a linear temporal convolution: the field features of the segment and its two
  neighbours stacked (a kernel of 3 segments, 6144-d), the field's LR settings and
  decision.
  ``mlp``: a small MLP head on the field features (scikit-learn ``MLPClassifier``: one hidden
  layer of 256 ReLU units, L2 1e-3, adam, early stopping on 10 % of the training rows,
  ``random_state`` 0; inputs standardised), the field's decision.
- **Metrics** (test split): total IoU, event F1 (collar 0.2 s), PSDS scenarios 1 and 2
  (``sed_scores_eval``), per class the kinds of event errors
  (:func:`sedal.sed.event_metrics.event_errors`), fit seconds.
- **Inference.** The realisation is the unit: per metric, the paired difference of each arm
  against ``field`` and against ``paper``, mean and 95 % t interval over realisations
  (df = n - 1). Smallest effect of interest 0.02 (total IoU and event F1, as
  benchmark/claims.toml): an arm *pays* only when the whole interval is above +0.02, *costs*
  when wholly below -0.02; otherwise INCONCLUSIVE.
- **Goal** of the issue: event F1 >= 0.40 for ``field+cv``; if missed, the error kinds say
  what limits it.

Usage::

    SEDAL_CACHE=... python scripts/detector_fresh.py --sources ../shared/real-sources \\
        --seeds 201-205 --data DATA --out OUT            # cells (resumable)
    python scripts/detector_fresh.py --summarize --out OUT [--md FILE]
    python scripts/detector_fresh.py --fit-time DATASET --out OUT  # fit seconds, 2000 files
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ARMS = ("paper", "field", "field+cv", "tconv", "mlp")
SESOI = 0.02
METRICS = ("total_iou", "event_f1", "psds1", "psds2")


def _mlp_detector():
    """The ``mlp`` arm: a Detector whose segment classifier is an MLP (the field preset's
    features, median filter, background weight and event rules)."""
    from sklearn.neural_network import MLPClassifier

    from sedal.sed.estimator import Detector

    class MLPDetector(Detector):
        def fit(self, X, y, groups=None):
            X = np.asarray(X, dtype=np.float32)
            y_idx = self._labels(y, fitting=True)
            self.mean_ = X.mean(axis=0)
            self.scale_ = X.std(axis=0) + 1e-6
            self.mlp_ = MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-3,
                                      early_stopping=True, validation_fraction=0.1,
                                      max_iter=200, random_state=0)
            self.mlp_.fit((X - self.mean_) / self.scale_, y_idx)
            self.classifier_ = self.mlp_
            return self

        def predict_proba(self, X):
            p = self.mlp_.predict_proba((np.asarray(X, dtype=np.float32) - self.mean_)
                                        / self.scale_)
            out = np.zeros((len(p), len(self.class_names_)))
            out[:, self.mlp_.classes_] = p
            return out

    return MLPDetector.field().set_params(name="mlp")


def _spec(arm: str):
    import dataclasses

    from sedal.sed.detector import PRESETS

    if arm == "paper":
        return PRESETS["paper"]
    if arm == "tconv":
        return dataclasses.replace(PRESETS["field"], name="tconv", stack=1)
    return PRESETS["field"]


def _detector(arm: str):
    from sedal.sed.estimator import Detector

    if arm == "mlp":
        return _mlp_detector()
    return Detector.from_spec(_spec(arm))


def _per_file(store, files: np.ndarray):
    """Per file: embeddings and labels (lists), in the order of ``files``."""
    X, y = [], []
    for f in files:
        a, b = int(store.offsets[f]), int(store.offsets[f + 1])
        X.append(np.asarray(store.embeddings[a:b], dtype=np.float32))
        y.append(store.labels[a:b].astype(np.int64))
    return X, y


def evaluate_arm(dataset: Path, arm: str, out: Path) -> dict:
    """Fit ``arm`` on the dataset's training split and score its test split; kept in
    ``out/cells/<dataset>/<arm>.json``."""
    from sedal.benchmark.al.metrics import evaluate_test
    from sedal.benchmark.practice.crossval import cross_validate
    from sedal.core.fsutil import write_json_atomic
    from sedal.sed.detector import detector_store
    from sedal.sed.evaluate import reference_events
    from sedal.sed.event_metrics import event_errors
    from sedal.sed.features import load_dataset_manifest

    cell = out / "cells" / dataset.name / f"{arm.replace('+', '_')}.json"
    if cell.exists():
        return json.loads(cell.read_text())
    doc, msha = load_dataset_manifest(dataset)
    store = detector_store(dataset, _spec(arm))
    classes = list(store.classes)
    train, test = store.file_rows("train"), store.file_rows("test")
    Xtr, ytr = _per_file(store, train)
    det = _detector(arm).set_params(classes=classes)
    cv_info = None
    t0 = time.perf_counter()
    if arm == "field+cv":
        ref_tr = reference_events(doc, "train")
        refs = [ref_tr[str(store.file_ids[f])] for f in train]
        cv = cross_validate(Xtr, ytr, classes, refs, random_state=0, detector=det)
        cv_info = {"postprocess": cv.postprocess, "cv_event_f1": cv.event_f1,
                   "cv_event_f1_raw": cv.event_f1_raw, "cv_total_iou": cv.total_iou,
                   "n_folds": cv.n_folds}
        det.with_postprocess(cv.postprocess)
    det.fit(np.concatenate(Xtr), np.concatenate(ytr))
    fit_s = time.perf_counter() - t0
    Xte, yte = _per_file(store, test)
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in Xte])])
    ids = [str(store.file_ids[f]) for f in test]
    ref = reference_events(doc, "test")
    duration = float(doc.spec.duration)
    X = np.concatenate(Xte)
    est: dict = {}
    res = evaluate_test(det, X, np.concatenate(yte), offsets, ids, ref, duration, costly=True,
                        events_out=est)
    rec = {"dataset": dataset.name, "manifest_sha256": msha, "library": doc.sources.name,
           "seed": doc.spec.seed, "arm": arm, "detector": det.spec().to_dict(),
           "postprocess": det.postprocess, "fit_seconds": round(fit_s, 1),
           "n_train_files": len(train), "n_test_files": len(test), **res,
           "event_errors": event_errors(ref, est, classes[1:])}
    if cv_info is not None:
        rec["cross_validation"] = cv_info
    write_json_atomic(cell, rec)
    return rec


def summarize(cells: list[dict], sesoi: float = SESOI) -> dict:
    """Per arm and metric: the mean over realisations with its 95 % t interval, and the
    paired difference against ``field`` and ``paper`` with its interval and verdict."""
    from sedal.benchmark.stats.claims import DIFFERENCE_RANGE, t_ci

    by: dict[str, dict[str, dict]] = {}
    for c in cells:
        by.setdefault(c["dataset"], {})[c["arm"]] = c
    full = sorted(d for d, arms in by.items() if set(ARMS) <= set(arms))
    out = {"realisations": full, "n_realisations": len(full), "sesoi": sesoi, "arms": {}}
    for arm in ARMS:
        row = {}
        for m in METRICS:
            v = np.array([by[d][arm][m] if by[d][arm][m] is not None else np.nan
                          for d in full], dtype=float)
            entry = {"mean": float(np.mean(v)) if len(v) else None}
            if len(v) > 1 and np.all(np.isfinite(v)):
                entry["ci"] = [float(x) for x in t_ci(v, bounds=(0.0, 1.0))]
            for ref in ("field", "paper"):
                if ref == arm:
                    continue
                r = np.array([by[d][ref][m] if by[d][ref][m] is not None else np.nan
                              for d in full], dtype=float)
                diff = v - r
                if len(diff) > 1 and np.all(np.isfinite(diff)):
                    lo, hi = t_ci(diff, bounds=DIFFERENCE_RANGE)
                    verdict = "pays" if lo > sesoi else "costs" if hi < -sesoi \
                        else "INCONCLUSIVE"
                    entry[f"vs_{ref}"] = {"difference": float(diff.mean()),
                                          "ci": [float(lo), float(hi)], "verdict": verdict}
            row[m] = entry
        row["fit_seconds_mean"] = float(np.mean([by[d][arm]["fit_seconds"] for d in full])) \
            if full else None
        errs: dict[str, dict[str, int]] = {}
        for d in full:
            for cls, kinds in by[d][arm]["event_errors"].items():
                acc = errs.setdefault(cls, {})
                for k, n in kinds.items():
                    acc[k] = acc.get(k, 0) + int(n)
        row["event_errors"] = errs
        out["arms"][arm] = row
    out["postprocess_chosen"] = {d: by[d]["field+cv"]["postprocess"] for d in full}
    return out


def markdown(summary: dict) -> str:
    """The tables of a summary."""
    from sedal.sed.event_metrics import ERROR_KINDS

    def f(x):
        return "–" if x is None else f"{x:.3f}"

    def ci(e):
        return f"{f(e.get('mean'))} ({f(e['ci'][0])}, {f(e['ci'][1])})" if "ci" in e \
            else f(e.get("mean"))

    def diff(e, ref):
        d = e.get(f"vs_{ref}")
        if d is None:
            return ""
        return f"{d['difference']:+.3f} ({d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}) {d['verdict']}"

    lines = [f"{summary['n_realisations']} realisations: {', '.join(summary['realisations'])}",
             "", "| arm | metric | mean (95 % t CI) | − field (95 % t CI) | − paper (95 % t CI) |",
             "|---|---|---|---|---|"]
    for arm, row in summary["arms"].items():
        for m in METRICS:
            e = row[m]
            lines.append(f"| {arm} | {m} | {ci(e)} | {diff(e, 'field')} | {diff(e, 'paper')} |")
    lines += ["", "Fit seconds (mean over realisations, training split): " + ", ".join(
        f"{a} {r['fit_seconds_mean']:.0f}" for a, r in summary["arms"].items()
        if r["fit_seconds_mean"] is not None), ""]
    lines += ["Event errors summed over realisations (reference events by kind; unmatched "
              "detections overlapping no event of their class as false alarms):", "",
              "| arm | class | reference | " + " | ".join(ERROR_KINDS) + " | detections |",
              "|---|---|---|" + "---|" * len(ERROR_KINDS) + "---|"]
    for arm, row in summary["arms"].items():
        for cls, k in row["event_errors"].items():
            lines.append(f"| {arm} | {cls} | {k['n_reference']} | "
                         + " | ".join(str(k[x]) for x in ERROR_KINDS)
                         + f" | {k['n_estimated']} |")
    lines += ["", "Decision and clean-up chosen by cross-validation (field+cv):", ""]
    lines += [f"- {d}: {json.dumps(p, sort_keys=True)}"
              for d, p in summary["postprocess_chosen"].items()]
    return "\n".join(lines) + "\n"


def source_components(manifest: dict, split: str = "train") -> list[int]:
    """Sizes (descending) of the groups of ``split`` files that share a foreground source
    clip (background-only files: their background clip), transitively: the folds a
    cross-validation grouped by source recording could use."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys = [[e["source"] for e in f["events"]] or [f["bg_source"]]
            for f in manifest["files"] if f["split"] == split]
    for ks in keys:
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    sizes: dict[str, int] = {}
    for ks in keys:
        r = find(ks[0])
        sizes[r] = sizes.get(r, 0) + 1
    return sorted(sizes.values(), reverse=True)


def fit_time(dataset: Path, out_path: Path, n_files: int = 2000) -> dict:
    """Fit seconds of each arm's head on the first ``n_files`` training files of
    ``dataset`` (one fit each; ``field+cv`` adds five fold fits to ``field``), written to
    ``out_path`` after each arm (the widest, ``tconv``, last)."""
    from sedal.core.fsutil import write_json_atomic
    from sedal.sed.detector import detector_store

    out = {"dataset": str(dataset), "n_files": n_files}
    for arm in ("paper", "field", "mlp", "tconv"):
        store = detector_store(dataset, _spec(arm))
        files = store.file_rows("train")[:n_files]
        X, y = _per_file(store, files)
        det = _detector(arm).set_params(classes=list(store.classes))
        X, y = np.concatenate(X), np.concatenate(y)
        t0 = time.perf_counter()
        det.fit(X, y)
        out[arm] = round(time.perf_counter() - t0, 1)
        out[f"{arm}_input_rows_x_columns"] = [int(X.shape[0]), int(X.shape[1])]
        # the process's peak resident set so far (Linux: KiB); arms run in order of width
        out[f"{arm}_peak_rss_gib"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
        write_json_atomic(out_path, out)
        print(arm, out[arm], flush=True)
        del X, y, store
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=Path, default=None, help="a source library folder")
    ap.add_argument("--builtin", default="field", help="without --sources: a built-in library")
    ap.add_argument("--seeds", default="201-205", help="evaluation dataset seeds")
    ap.add_argument("--n-files", type=int, default=400)
    ap.add_argument("--ratio", type=float, default=0.2)
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--data", type=Path, default=Path("data-fresh"))
    ap.add_argument("--out", type=Path, default=Path("results-fresh"))
    ap.add_argument("--summarize", action="store_true")
    ap.add_argument("--md", type=Path, default=None)
    ap.add_argument("--fit-time", type=Path, default=None, metavar="DATASET")
    ap.add_argument("--components", action="store_true",
                    help="sizes of the source-sharing groups of each dataset's training files")
    args = ap.parse_args(argv)
    from backbone_compare import dataset_path, evaluation_dataset  # the shared datasets

    from sedal.benchmark.al.plan import parse_seeds
    from sedal.core.fsutil import write_bytes_atomic, write_json_atomic

    if args.fit_time is not None:
        print(json.dumps(fit_time(args.fit_time, args.out / "fit_times_2000.json")))
        return 0
    if args.summarize:
        cells = [json.loads(p.read_text()) for p in sorted((args.out / "cells").glob("*/*.json"))]
        summary = summarize(cells)
        write_json_atomic(args.out / "summary.json", summary)
        text = markdown(summary)
        write_bytes_atomic(args.md or args.out / "summary.md", text.encode())
        print(text)
        return 0
    arms = [a for a in args.arms.split(",") if a]
    if not set(arms) <= set(ARMS):
        raise SystemExit(f"error: unknown arm in {args.arms!r}; choose from {', '.join(ARMS)}")
    if args.components:
        comps = {}
        for seed in parse_seeds(args.seeds):
            ds = dataset_path(args, seed)
            sizes = source_components(json.loads((ds / "manifest.json").read_text()))
            comps[ds.name] = {"n_groups": len(sizes), "largest": sizes[:5],
                              "n_files": sum(sizes)}
        write_json_atomic(args.out / "source_components.json", comps)
        print(json.dumps(comps, indent=1))
        return 0
    for seed in parse_seeds(args.seeds):
        ds = evaluation_dataset(args, seed)
        for arm in arms:
            rec = evaluate_arm(ds, arm, args.out)
            print(json.dumps({k: rec[k] for k in ("dataset", "arm", "total_iou", "event_f1",
                                                  "psds1", "fit_seconds")}), flush=True)
    return 0


if __name__ == "__main__":
    from sedal.core.errors import SedalError

    try:
        sys.exit(main())
    except SedalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
