"""Do the chosen labels transfer? The files a strategy selected, given to other detectors.

A strategy whose selections only help the model that chose them is worth less than one
whose selections help any detector. For an AL run (dataset, strategy, seed) this module
replays the run (runs are deterministic: the same configuration chooses the same files, and
the replayed rows are checked against the run's stored rows when they are given) and, at the
labelled fractions of :data:`TRANSFER_FRACTIONS`, fits on exactly the selected files

- ``chooser``: the run's own detector (the study's, fitted from scratch);
- ``ceiling``: the ceiling's rule (:mod:`sedal.benchmark.al.ceiling`) applied to the
  selected files only -- class weights, C and the median kernel chosen by cross-validation
  on them, folds grouped by source recording -- then fitted on all of them;
- ``field``: the ``field`` preset (patch + context embeddings, its fixed settings), when the
  dataset has its context store.

Each is scored on the untouched test split (total IoU, the study's metric, and event F1).
The replication unit of the summary is the dataset realisation: per (strategy, fraction,
detector) the mean over AL seeds of a realisation, then the mean and a t interval over
realisations of the paired difference from random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sedal.benchmark.al.loop import RunConfig, RunData, evaluate, fit, run_al
from sedal.benchmark.errors import BenchmarkError
from sedal.sed.estimator import Detector

#: Labelled fractions (of the training split) at which the selections are handed over.
TRANSFER_FRACTIONS = (0.05, 0.10)
DETECTORS = ("chooser", "ceiling", "field")


@dataclass(frozen=True)
class Selection:
    """The files a run had labelled at one fraction (indices into the dataset's files)."""

    fraction: float
    iteration: int
    files: np.ndarray
    chooser_total_iou: float | None  # the run's own row at this iteration


def replay_selections(data: RunData, cfg: RunConfig, fractions=TRANSFER_FRACTIONS,
                      stored_rows: list[dict] | None = None) -> list[Selection]:
    """Replay ``cfg`` and return its labelled files at the first schedule step at or above
    each of ``fractions`` (steps as scheduled: 5 % of 2000 files is 100 files, of 90 files
    4).

    Raises
    ------
    BenchmarkError
        When a fraction is beyond the run's schedule, or when ``stored_rows`` (the run's
        rows from a results store) differ from the replay in labelled counts or total IoU
        (the replay would then not be the run that was reported).
    """
    trace: list[np.ndarray] = []
    rows = run_al(data, cfg, trace=trace)
    if stored_rows is not None:
        for a, b in zip(rows, stored_rows, strict=True):
            same_iou = (a["total_iou"] is None) == (b["total_iou"] is None) and (
                a["total_iou"] is None or abs(a["total_iou"] - b["total_iou"]) <= 1e-9)
            if a["n_labelled"] != b["n_labelled"] or not same_iou:
                raise BenchmarkError(f"replaying run {cfg.key} gave other rows than the "
                                     f"stored ones at iteration {a['iteration']}")
    steps = np.asarray(cfg.schedule[:len(rows)], dtype=float)  # the targets, not rounded
    out = []
    for f in fractions:
        hit = np.flatnonzero(steps >= f - 1e-9)
        if not len(hit):
            raise BenchmarkError(f"run {cfg.key} stops at {steps[-1]:.3f}, before {f}")
        it = int(hit[0])
        out.append(Selection(float(f), it, np.sort(trace[it]), rows[it]["total_iou"]))
    return out


def tuned_on(data: RunData, files: np.ndarray, cfg: RunConfig) -> tuple[Detector, dict]:
    """The ceiling's rule on ``files`` only: the grid point chosen by grouped
    cross-validation among them, then a fit on all of them."""
    from sedal.benchmark.al.ceiling import choose

    chosen = choose(data, cfg, files=files)
    det = Detector.from_spec(cfg.detector, classes=list(data.classes))
    det.set_params(class_weight=chosen["class_weight"], C=chosen["C"],
                   median_kernel=chosen["kernel"])
    return fit(data, files, det), chosen


def transfer_cell(data: RunData, cfg: RunConfig, field_data: RunData | None = None,
                  stored_rows: list[dict] | None = None,
                  fractions=TRANSFER_FRACTIONS) -> list[dict]:
    """One row per (fraction, detector) for run ``cfg``: test total IoU and event F1 of
    each detector fitted on the run's selected files."""
    from threadpoolctl import threadpool_limits

    from sedal.sed.detector import FIELD_DETECTOR

    if field_data is not None and field_data.file_ids != data.file_ids:
        raise BenchmarkError("the field store lists other files than the run's store")
    test = np.flatnonzero(data.splits == "test")
    out = []
    for sel in replay_selections(data, cfg, fractions, stored_rows):
        with threadpool_limits(limits=1):
            dets = {"chooser": (fit(data, sel.files, Detector.from_spec(
                cfg.detector, classes=list(data.classes))), data, None)}
            det, chosen = tuned_on(data, sel.files, cfg)
            dets["ceiling"] = (det, data, chosen)
            if field_data is not None:
                dets["field"] = (fit(field_data, sel.files, Detector.from_spec(
                    FIELD_DETECTOR, classes=list(field_data.classes))), field_data, None)
            for name, (det, d, chosen) in dets.items():
                m = evaluate(d, det, test, costly=False)
                out.append({"dataset": data.dataset_name, "dataset_id": data.dataset_id,
                            "strategy": cfg.strategy, "label": cfg.label, "seed": cfg.seed,
                            "fraction": sel.fraction, "iteration": sel.iteration,
                            "n_labelled": int(len(sel.files)),
                            "event_files": int(data.has_events[sel.files].sum()),
                            "detector": name, "total_iou": m["total_iou"],
                            "event_f1": m["event_f1"],
                            "run_total_iou": sel.chooser_total_iou,
                            **({"chosen": {k: chosen[k] for k in ("class_weight", "C",
                                                                   "kernel")}}
                               if chosen else {})})
    return out


def summarize(rows: list[dict], baseline: str = "random") -> list[dict]:
    """Per (strategy label, fraction, detector): the mean total IoU over realisations
    (each realisation the mean over its seeds), and the paired difference from
    ``baseline`` with a 95 % t interval over realisations (df = n - 1)."""
    from sedal.benchmark.stats.claims import t_ci

    cell: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        if r["total_iou"] is None:
            continue
        key = (r["label"], r["fraction"], r["detector"])
        cell.setdefault(key, {}).setdefault(r["dataset_id"], []).append(r["total_iou"])
    means = {k: {d: float(np.mean(v)) for d, v in by.items()} for k, by in cell.items()}
    out = []
    for (label, frac, det), by in sorted(means.items()):
        base = means.get((baseline, frac, det), {})
        common = sorted(set(by) & set(base))
        diff = np.array([by[d] - base[d] for d in common])
        n = len(diff)
        lo = hi = None
        if n >= 2 and label != baseline:
            lo, hi = t_ci(diff)
        out.append({"label": label, "fraction": frac, "detector": det,
                    "n_realisations": len(by), "mean_total_iou": float(np.mean(list(
                        by.values()))),
                    "diff_vs_baseline": float(diff.mean()) if n and label != baseline
                    else None, "ci_low": lo, "ci_high": hi})
    return out


def format_markdown(summary: list[dict], baseline: str = "random") -> str:
    """The summary as a Markdown table (IoU to 3 decimals; '-' where undefined)."""
    lines = [f"| strategy | labelled | detector | realisations | total IoU | − {baseline} "
             "(95 % CI over realisations) |", "|---|---|---|---|---|---|"]
    for s in summary:
        d = s["diff_vs_baseline"]
        ci = "" if s["ci_low"] is None else f" [{s['ci_low']:+.3f}, {s['ci_high']:+.3f}]"
        lines.append(f"| {s['label']} | {100 * s['fraction']:.0f} % | {s['detector']} | "
                     f"{s['n_realisations']} | {s['mean_total_iou']:.3f} | "
                     f"{'-' if d is None else f'{d:+.3f}'}{ci} |")
    return "\n".join(lines) + "\n"


def study_runs(data_root, dataset_seeds: list[int], seeds=(0, 1, 2)) -> list[RunConfig]:
    """The transfer study's runs: the five main-comparison strategies as the main job runs
    them (study schedule cut at the claims' budget) on the main cell's realisations
    ``dataset_seeds`` found under ``data_root`` (never built here)."""
    from pathlib import Path

    from sedal.benchmark.al.plan import (
        CLAIM_BUDGET,
        STUDY_STRATEGIES,
        realisation_dirname,
    )
    from sedal.benchmark.al.schedule import DEFAULT_SCHEDULE, cut_schedule
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.features import FeatureParams, load_dataset_manifest

    runs = []
    for ds in dataset_seeds:
        spec = DatasetSpec(n_files=2500, snr=0.0, event_ratio=0.2, seed=int(ds))
        path = Path(data_root) / realisation_dirname(spec)
        if not (path / "manifest.json").exists():
            raise BenchmarkError(f"{path}: no dataset there (run the main job first, or give "
                                 "--data)")
        sha = load_dataset_manifest(path)[1]
        runs += [RunConfig(str(path.resolve()), sha, s, seed, k=10,
                           schedule=cut_schedule(DEFAULT_SCHEDULE, CLAIM_BUDGET),
                           features=FeatureParams().name())
                 for s in STUDY_STRATEGIES for seed in seeds]
    return runs


#: Per worker process: the last run data of each recipe (the field store is ~3.4 GB for
#: 2500 files, so one of each; runs are ordered by dataset, so neighbours share it).
_LAST: dict[str, tuple[tuple, RunData]] = {}


def _cached(path: str, features: str, recipe: str) -> RunData:
    from sedal.benchmark.al.loop import open_run_data

    key = (path, features, recipe)
    if recipe not in _LAST or _LAST[recipe][0] != key:
        _LAST.pop(recipe, None)  # free the old one first
        _LAST[recipe] = (key, open_run_data(path, features, recipe)[0])
    return _LAST[recipe][1]


def _cell(cfg: RunConfig, results, out) -> list[dict]:
    """One run's transfer rows, from ``out/cells`` if done before (resumable)."""
    import json
    from pathlib import Path

    from sedal.benchmark.al.runner import ResultsStore
    from sedal.core.fsutil import write_json_atomic
    from sedal.sed.detector import FIELD_DETECTOR
    from sedal.sed.features import FeatureParams

    path = Path(out) / "cells" / f"{cfg.key}.json"
    if path.exists():
        return json.loads(path.read_text())["rows"]
    stored = None
    if results is not None and ResultsStore(results).done(cfg.key):
        stored = json.loads(ResultsStore(results).run_path(cfg.key).read_text())["rows"]
    data = _cached(cfg.dataset, cfg.features, "")
    field = _cached(cfg.dataset, FeatureParams().name(), FIELD_DETECTOR.recipe())
    rows = transfer_cell(data, cfg, field, stored)
    write_json_atomic(path, {"key": cfg.key, "rows": rows})
    return rows


def _chunk(cfgs: list[RunConfig], results, out) -> list[dict]:
    rows = []
    for cfg in cfgs:
        rows += _cell(cfg, results, out)
    _LAST.clear()
    return rows


def run_study(data_root, dataset_seeds: list[int], out, *, results=None, jobs: int = 1,
              yamnet=None, progress: bool = False) -> list[dict]:
    """Build the field preset's context stores (if missing), then every run's transfer rows
    (``jobs`` worker processes); writes ``out/transfer.json`` and ``out/transfer.md``."""
    from pathlib import Path

    from sedal.core.fsutil import write_bytes_atomic, write_json_atomic
    from sedal.core.progress import progress_bar
    from sedal.sed.detector import FIELD_DETECTOR, detector_store
    from sedal.sed.features import FeatureParams

    runs = study_runs(data_root, dataset_seeds)
    for path in sorted({c.dataset for c in runs}):
        detector_store(path, FIELD_DETECTOR, FeatureParams(), yamnet_path=yamnet,
                       progress=progress)
    # chunks of one dataset's runs, so that a worker loads each store once per chunk
    chunks = []
    for path in sorted({c.dataset for c in runs}):
        mine = [c for c in runs if c.dataset == path]
        half = (len(mine) + 1) // 2 if jobs > 1 else len(mine)
        chunks += [mine[i:i + half] for i in range(0, len(mine), half)]
    bar = progress_bar(len(chunks), desc="transfer", unit="chunk", enabled=progress)
    rows: list[dict] = []
    if jobs > 1:
        from joblib import Parallel, delayed

        results_iter = Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(_chunk)(c, results, out) for c in chunks)
    else:
        results_iter = (_chunk(c, results, out) for c in chunks)
    for got in results_iter:
        rows += got
        bar.update(1)
    bar.close()
    rows.sort(key=lambda r: (r["dataset"], r["label"], r["seed"], r["fraction"],
                             r["detector"]))
    summary = summarize(rows)
    out = Path(out)
    write_json_atomic(out / "transfer.json", {"rows": rows, "summary": summary})
    write_bytes_atomic(out / "transfer.md", format_markdown(summary).encode("utf-8"))
    return summary
