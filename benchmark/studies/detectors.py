"""The detector study: which features and classifier settings detect best on a library.

``sedbench detectors`` fits every option of :data:`OPTIONS` on the training split of
datasets made from one library (``n_files`` files per dataset, each SNR and event ratio,
several dataset seeds: with a small pool the split matters) and scores the test split
through :mod:`sedal.sed.evaluate` (total and per-class IoU, event F1). Options tuned by
cross-validation choose C and the median-filter kernel on the training split only
(:func:`sedal.benchmark.practice.crossval.tune_detector`, folds grouped by file).

Per option and condition the table gives the mean over dataset seeds with a 95 % t
interval, and the paired difference against the ``paper`` option (same datasets) with its
95 % t interval. The ``field`` preset is chosen by the rule stated in advance
(:data:`RULE`).

Each (dataset, option) result is kept in ``<out>/cells/`` as it finishes, so an
interrupted study resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sedal.core.fsutil import write_bytes_atomic, write_json_atomic
from sedal.sed.detector import DetectorSpec
from sedal.sed.estimator import Detector
from sedal.sed.evaluate import DetectorSettings

RULE = ("the option with the best mean total IoU on the real pool at SNR 0, averaged over "
        "r = 0.2 and r = 1.0, among options whose fit on a 2000-file dataset takes at most "
        "2 min on this machine")
#: The fit-time limit of :data:`RULE`, seconds, on 2000 files.
MAX_FIT_SECONDS = 120.0


@dataclass(frozen=True)
class Option:
    """One detector tried: the features and settings, and whether C and the kernel are
    chosen by grouped cross-validation on the training split."""

    name: str
    detector: DetectorSpec
    tune: bool = False
    what: str = ""


def _d(**kw) -> DetectorSpec:
    settings = DetectorSettings(**kw.pop("settings", {}))
    return DetectorSpec(name="study", settings=settings, **kw)


BALANCED = {"class_weight": "balanced"}

#: The options, each alone (stated before any was measured).
SINGLE = (
    Option("paper", _d(), what="the study's: patch embeddings, C = 1, median 3"),
    Option("balanced", _d(settings=BALANCED), what="class-balanced loss weights"),
    Option("cv", _d(), tune=True,
           what="C in {0.01, 0.1, 1}, median kernel in {1, 3, 5, 9} and background weight "
                "in {0.25, 0.5, 1, 2} by 3-fold CV grouped by file on the training split"),
    Option("context", _d(modes=("context",)), what="0.96 s context embeddings instead"),
    Option("patch+context", _d(modes=("patch", "context")),
           what="patch and context embeddings concatenated (2048-d)"),
    Option("stack1", _d(stack=1), what="neighbouring segments stacked, +-1 (3072-d)"),
    Option("stack2", _d(stack=2), what="neighbouring segments stacked, +-2 (5120-d)"),
    Option("pool5-17", _d(pool=(5, 17)),
           what="mean over centred windows of 5 and 17 segments appended (3072-d)"),
    Option("scores", _d(scores=True),
           what="YAMNet's 521 AudioSet class scores appended (1545-d)"),
)
#: Combinations of the singles that helped (chosen after the singles were measured, before
#: any combination was): the strongest single features for their cost (context, and patch +
#: context) with C, kernel and background weight chosen by CV (a smaller C also fits faster,
#: which the rule's time limit needs).
COMBINED = (
    Option("cv+context", _d(modes=("context",)), tune=True, what="cv + context"),
    Option("cv+patch+context", _d(modes=("patch", "context")), tune=True,
           what="cv + patch+context"),
)
def _field_option() -> Option:
    from sedal.sed.detector import PRESETS

    det = PRESETS["field"]
    return Option("field", det, what="the field preset as shipped (fixed settings: "
                                     f"{det.recipe() or 'patch'}, {det.settings.to_dict()})")


#: Every option, and the shipped ``field`` preset itself (its settings fixed, not re-tuned).
OPTIONS = {o.name: o for o in SINGLE + COMBINED + (_field_option(),)}


def _cell_path(out: Path, dataset: Path, option: str) -> Path:
    safe = option.replace(",", "_").replace("+", "_")
    return Path(out) / "cells" / dataset.parent.name / dataset.name / f"{safe}.json"


def evaluate_cell(dataset: Path, option: Option, *, yamnet=None) -> dict:
    """Fit ``option`` on the dataset's training split; metrics on its test split."""
    from sedal.benchmark.practice.crossval import tune_detector
    from sedal.sed.detector import detector_store
    from sedal.sed.evaluate import supervised
    from sedal.sed.features import load_dataset_manifest

    det = option.detector
    store = detector_store(dataset, det, yamnet_path=yamnet)
    doc, msha = load_dataset_manifest(dataset)
    est, table, tune_s = Detector.from_spec(det, classes=list(store.classes)), [], 0.0
    if option.tune:
        t0 = time.perf_counter()
        X = np.asarray(store.embeddings, dtype=np.float32)
        est, table = tune_detector(X, store.labels.astype(np.int64), store.offsets,
                                   store.file_rows("train"), store.classes, est)
        tune_s = time.perf_counter() - t0
    settings = est.settings()
    res = supervised(store, doc, detector=est)
    return {"option": option.name, "dataset": dataset.name, "manifest_sha256": msha,
            "spec": doc.spec.to_dict(), "settings": settings.to_dict(),
            "recipe": det.recipe(), "dim": int(store.embeddings.shape[1]),
            "cv_table": table, "tune_seconds": round(tune_s, 2),
            **{k: res[k] for k in ("total_iou", "macro_iou", "per_class_iou", "event_f1",
                                   "segment_f1", "fit_seconds", "solver_iterations",
                                   "converged", "n_train_files")}}


def _run_cell(dataset: str, name: str, out: str, yamnet) -> dict:
    path = _cell_path(Path(out), Path(dataset), name)
    if path.exists():
        return json.loads(path.read_text())
    res = evaluate_cell(Path(dataset), OPTIONS[name], yamnet=yamnet)
    write_json_atomic(path, res)
    return res


def run_study(*, sources=None, builtin: str | None = None, data_root: Path,
              out: Path, options: list[str], n_files: int = 500, snrs=(0.0,),
              ratios=(0.2, 1.0), seeds=(0, 1, 2, 3, 4), jobs: int = 1, yamnet=None,
              progress: bool = False) -> list[dict]:
    """Every (dataset, option) cell, computed or read back from ``out/cells``.

    Datasets are built (and embedded, for every mode an option needs) first, one at a
    time; cells then run ``jobs`` at a time.
    """
    from joblib import Parallel, delayed

    from sedal.benchmark.studies.difficulty import library_dataset
    from sedal.generator.builtin import DEFAULT_BUILTIN
    from sedal.sed.features import ensure_store

    unknown = [o for o in options if o not in OPTIONS]
    if unknown:
        from sedal.benchmark.errors import BenchmarkError

        raise BenchmarkError(f"unknown detector option(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(OPTIONS)}")
    builtin = builtin or DEFAULT_BUILTIN
    modes = sorted({m for o in options for m in OPTIONS[o].detector.modes})
    datasets = []
    for ratio in ratios:
        for snr in snrs:
            for seed in seeds:
                path = library_dataset(data_root, n_files=n_files, snr=snr, ratio=ratio,
                                       seed=seed, sources=sources, builtin=builtin,
                                       jobs=jobs, progress=progress)
                for p in DetectorSpec(modes=tuple(modes)).feature_params():
                    ensure_store(path, p, yamnet_path=yamnet, progress=progress)
                datasets.append(path)
    cells = [(str(d), o) for o in options for d in datasets]
    return Parallel(n_jobs=jobs, verbose=0)(
        delayed(_run_cell)(d, o, str(out), yamnet) for d, o in cells)


def stored_cells(out: Path, library: str, n_files: int) -> list[dict]:
    """Every cell kept in ``out/cells/<library>`` for ``n_files``-file datasets: what one
    study folder has measured so far, whichever calls measured it (e.g. every option at
    SNR 0 and the presets alone at +-10 dB), so that the table shows all of it."""
    cells = []
    for path in sorted((Path(out) / "cells" / library).glob("*/*.json")):
        cell = json.loads(path.read_text())
        if cell.get("option") in OPTIONS and cell["spec"]["n_files"] == n_files:
            cells.append(cell)
    return cells


def chosen_settings(cells: list[dict], name: str) -> DetectorSettings:
    """The settings an option used: its own, or for a tuned option the choice made most
    often across datasets (ties to the smaller C)."""
    from collections import Counter

    picks = Counter(json.dumps(c["settings"], sort_keys=True) for c in cells
                    if c["option"] == name)
    if not picks:
        return OPTIONS[name].detector.settings
    best = max(picks.items(), key=lambda kv: (kv[1], -json.loads(kv[0])["C"]))[0]
    return DetectorSettings(**json.loads(best))


def fit_seconds(dataset: Path, option: Option, settings: DetectorSettings | None = None, *,
                yamnet=None) -> float:
    """Seconds of one fit of ``option`` (with ``settings``, default its own) on every
    training file of ``dataset``: the fit alone is timed, not the features or any tuning."""
    from sedal.sed.detector import detector_store
    from sedal.sed.evaluate import fit_on_files

    store = detector_store(dataset, option.detector, yamnet_path=yamnet)
    t0 = time.perf_counter()
    spec = option.detector if settings is None else dataclasses.replace(option.detector,
                                                                        settings=settings)
    fit_on_files(store, store.file_rows("train"), Detector.from_spec(spec))
    return time.perf_counter() - t0


def worth_timing(cells: list[dict], options: list[str]) -> list[str]:
    """The options whose mean fit on the study's datasets stays within the limit (an option
    over it on those smaller datasets is over it on 2000 files too), best mean total IoU
    at SNR 0 first (the order :func:`fit_times` measures them in)."""
    secs: dict[str, list[float]] = {}
    for c in cells:
        secs.setdefault(c["option"], []).append(c["fit_seconds"])
    score = summarize(cells)["mean_over_r_snr0"]
    ok = [o for o in options if o in secs and np.mean(secs[o]) <= MAX_FIT_SECONDS]
    return sorted(ok, key=lambda o: -score.get(o, -1.0))


def _timed_fit(dataset: str, name: str, settings: dict, yamnet, queue) -> None:
    queue.put(fit_seconds(Path(dataset), OPTIONS[name], DetectorSettings(**settings),
                          yamnet=yamnet))


def fit_times(dataset: Path, options: list[str], out: Path, cells: list[dict], *,
              yamnet=None, limit: float = MAX_FIT_SECONDS) -> dict:
    """:func:`fit_seconds` of the options on ``dataset`` with the settings they used
    (:func:`chosen_settings` of ``cells``), in the given order, until one is within
    ``limit`` (the rule needs no more: the options after it score lower). Each fit runs in
    its own process, stopped once it has taken twice ``limit`` seconds (recorded as
    ``None``: over the limit). Kept in ``out/fit_times.json``; measured once."""
    import multiprocessing as mp

    path = Path(out) / "fit_times.json"
    have = json.loads(path.read_text()) if path.exists() else {}
    key = Path(dataset).name
    ctx = mp.get_context("spawn")
    for name in options:
        if name in have.get(key, {}):
            if have[key][name] is not None and have[key][name] <= limit:
                break
            continue
        queue = ctx.Queue()
        settings = dataclasses.asdict(chosen_settings(cells, name))
        proc = ctx.Process(target=_timed_fit, args=(str(dataset), name, settings, yamnet,
                                                     queue))
        proc.start()
        proc.join(2 * limit + 60)  # the process also loads the features
        if proc.is_alive():
            proc.terminate()
            proc.join()
            seconds = None
        else:
            seconds = round(queue.get(timeout=5), 1) if proc.exitcode == 0 else None
        have.setdefault(key, {})[name] = seconds
        write_json_atomic(path, have)
        if seconds is not None and seconds <= limit:
            break
    out_times = {}
    for n in options:
        if n not in have.get(key, {}):
            continue
        out_times[n] = have[key][n]
        if out_times[n] is not None and out_times[n] <= limit:
            break
    return out_times


def _t_interval(x: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    x = np.asarray(x, dtype=float)
    m = float(np.mean(x))
    if len(x) < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return m, m - h, m + h


def summarize(cells: list[dict], fit_2000: dict[str, float] | None = None) -> dict:
    """Per option and condition (SNR, r): mean total IoU with 95 % CI over dataset seeds,
    mean per-class IoU and event F1, the paired difference against ``paper`` with its
    95 % CI; and the option the :data:`RULE` picks."""
    by: dict[tuple, dict[str, dict]] = {}
    for c in cells:
        key = (c["spec"]["snr"], c["spec"]["event_ratio"])
        by.setdefault(key, {}).setdefault(c["option"], {})[c["manifest_sha256"]] = c
    rows = []
    for (snr, ratio), opts in sorted(by.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        base = opts.get("paper", {})
        for name, per in opts.items():
            iou = np.array([v["total_iou"] or 0.0 for v in per.values()])
            m, lo, hi = _t_interval(iou)
            both = [k for k in per if k in base]  # datasets paper was measured on too
            paired = [per[k]["total_iou"] - base[k]["total_iou"] for k in both]
            dm, dlo, dhi = _t_interval(np.array(paired)) if paired else (None, None, None)
            classes = sorted({k for v in per.values() for k in v["per_class_iou"]})
            rows.append({
                "option": name, "snr": snr, "ratio": ratio, "n_datasets": len(per),
                "total_iou": m, "ci": [lo, hi], "ratio_to_paper":  # on the same datasets
                    (float(np.mean([per[k]["total_iou"] for k in both])
                           / np.mean([base[k]["total_iou"] for k in both])) if both else None),
                "diff_vs_paper": dm, "diff_ci": [dlo, dhi],
                "per_class_iou": {k: float(np.mean([v["per_class_iou"].get(k) or 0.0
                                                    for v in per.values()])) for k in classes},
                "event_f1": float(np.mean([v["event_f1"] or 0.0 for v in per.values()])),
                "fit_seconds_500": float(np.mean([v["fit_seconds"] for v in per.values()])),
                "all_converged": all(v["converged"] for v in per.values()),
                "chosen": sorted({json.dumps(v["settings"], sort_keys=True)
                                  for v in per.values()}) if OPTIONS.get(name) and
                OPTIONS[name].tune else None})
    fit_2000 = fit_2000 or {}
    snr0 = [r for r in rows if r["snr"] == 0.0]
    mean_over_r: dict[str, float] = {}
    for name in {r["option"] for r in snr0}:
        vals = [r["total_iou"] for r in snr0 if r["option"] == name]
        if len(vals) == len({r["ratio"] for r in snr0}):
            mean_over_r[name] = float(np.mean(vals))
    eligible = {n: v for n, v in mean_over_r.items()
                if fit_2000.get(n) is not None and fit_2000[n] <= MAX_FIT_SECONDS}
    pick = max(eligible, key=eligible.get) if eligible else None
    return {"rule": RULE, "rows": rows, "mean_over_r_snr0": mean_over_r,
            "fit_seconds_2000": fit_2000, "pick": pick}


def format_markdown(summary: dict, title: str) -> str:
    """The study's table as Markdown."""
    lines = [f"### {title}", "",
             "| option | SNR | r | datasets | total IoU (95 % CI) | x paper | paired diff vs "
             "paper (95 % CI) | per-class IoU | event F1 | fit s (500 / 2000 files) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    f2000 = summary.get("fit_seconds_2000", {})
    for r in summary["rows"]:
        ci = f"{r['total_iou']:.3f} ({r['ci'][0]:.3f}, {r['ci'][1]:.3f})"
        d = ("-" if r["option"] == "paper" or r["diff_vs_paper"] is None else
             f"{r['diff_vs_paper']:+.3f} ({r['diff_ci'][0]:+.3f}, {r['diff_ci'][1]:+.3f})")
        x = "-" if r["ratio_to_paper"] is None else f"{r['ratio_to_paper']:.2f}"
        per = ", ".join(f"{k} {v:.3f}" for k, v in r["per_class_iou"].items())
        f2 = f2000.get(r["option"], "-")
        if f2 == "-" and r["fit_seconds_500"] > MAX_FIT_SECONDS:
            f2 = "not timed (over the limit already)"
        elif f2 == "-" and f2000:
            f2 = "not timed"
        fit = f"{r['fit_seconds_500']:.0f} / " + (
            f"> {2 * MAX_FIT_SECONDS:.0f}" if f2 is None else
            f2 if isinstance(f2, str) else f"{f2:.0f}")
        lines.append(f"| {r['option']} | {r['snr']:+g} | {r['ratio']:g} | {r['n_datasets']} | "
                     f"{ci} | {x} | {d} | "
                     f"{per} | {r['event_f1']:.3f} | {fit} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path, title: str) -> None:
    """Bar chart: mean total IoU per option and condition with 95 % CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = sorted({(r["snr"], r["ratio"]) for r in summary["rows"]},
                   key=lambda c: (-c[0], c[1]))
    names = list(dict.fromkeys(r["option"] for r in summary["rows"]))
    fig, ax = plt.subplots(figsize=(min(14, max(6, 0.18 * len(names) * len(conds) + 3)), 4))
    w = 0.8 / len(conds)
    for j, cond in enumerate(conds):
        rs = {r["option"]: r for r in summary["rows"] if (r["snr"], r["ratio"]) == cond}
        xs = [i + j * w for i, n in enumerate(names) if n in rs]
        ms = [rs[n]["total_iou"] for n in names if n in rs]
        err = np.array([[rs[n]["total_iou"] - rs[n]["ci"][0], rs[n]["ci"][1] -
                         rs[n]["total_iou"]] for n in names if n in rs]).T
        ax.bar(xs, ms, w, yerr=np.nan_to_num(err), capsize=2,
               label=f"SNR {cond[0]:+g} dB, r = {cond[1]:g}")
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(names))], names, rotation=30,
                  ha="right")
    ax.set_ylabel("total IoU (test split)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=min(3, len(conds)))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".svg"):
        tmp = path.with_name(path.stem + ".tmp" + suffix)
        fig.savefig(tmp, dpi=120)
        tmp.replace(path.with_suffix(suffix))
    plt.close(fig)


def write_summary(summary: dict, out: Path, name: str, title: str) -> None:
    """``<out>/<name>.json``, ``.md`` and ``.png``/``.svg``."""
    write_json_atomic(Path(out) / f"{name}.json", summary)
    write_bytes_atomic(Path(out) / f"{name}.md", format_markdown(summary, title).encode())
    plot(summary, Path(out) / f"{name}.png", title)
