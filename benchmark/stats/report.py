"""The benchmark report: verdicts, learning curves with 95 % CIs, budget-aware tables.

Identity
--------
Runs are grouped by their dataset's *content* (the manifest's sha256) and by every setting
that can change a number (:attr:`sedal.benchmark.al.loop.RunConfig.settings_key`: schedule, warm
starts, features, detector), never by folder names. A dataset is named by its folder and
the first 8 characters of its manifest sha256; runs of one dataset with different settings
are reported as separate groups, and runs whose fraction grid differs from their group's
are listed, not merged or dropped silently.

Statistics
----------
- Curves: mean total IoU over seeds at each labelled fraction with a 95 % t interval
  (none for one seed: "n/a").
- AULC (area under the learning curve) is computed on the log10 axis of labelled fraction
  that the figures use (trapezoid in log10 f, divided by the log range: a mean IoU), over
  the run's whole schedule (the table says to which budget) and over the low budget 0.5-10 %
  (schedule points in that range).
- "Reaches full − 0.01": per seed, the fraction from which the curve *stays* within 0.01
  of the fully supervised IoU to the end of the schedule.
- Claims: the pre-registered family (a)-(j) of ``benchmark/claims.toml``, decided on
  dataset realisations (:mod:`sedal.benchmark.stats.family_claims`,
  :mod:`sedal.benchmark.stats.hierarchy`); per-dataset tables compare each strategy with
  random over that dataset's seeds only (:mod:`sedal.benchmark.stats.claims`), which says
  nothing about other datasets.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np

from sedal.benchmark.al.runner import ResultsStore
from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.stats.figures import (
    MAIN,
    _plot_curves,
    _plot_panel,
    hours_curves,
)
from sedal.benchmark.stats.results import (
    Results,
)
from sedal.benchmark.stats.tables import (
    dataset_table,
    end_check,
)


# -- the report --------------------------------------------------------------------
def write_report(results_dir: str | Path | list, out: str | Path | None = None, *,
                 notes: str = "", progress: bool = False) -> Path:
    """Write ``report.md``, a self-contained ``report.html`` and PNG + SVG figures.

    ``results_dir`` may be a list of results dirs, read as one
    (:class:`sedal.benchmark.stats.results.MergedStores`; the default ``out`` is then the
    first one's ``report``). The results are read and checked first (a damaged record is
    one error before any progress line); ``progress`` then prints a start and an end line
    for the writing.
    """
    from sedal.benchmark.stats.results import MergedStores
    from sedal.core.progress import stage

    dirs = list(results_dir) if isinstance(results_dir, list | tuple) else [results_dir]
    stores = [ResultsStore(d) for d in dirs]
    for d, st in zip(dirs, stores):
        if not (st.root / "runs").is_dir():
            raise BenchmarkError(f"{d} is not a results dir (no runs/)")
    store = stores[0] if len(stores) == 1 else MergedStores(stores)
    res = Results(store)
    out = Path(out) if out is not None else store.root / "report"
    import matplotlib

    # fixed SVG element ids (and no date, see figures._save): the same results give the same
    # figure bytes
    with stage("writing the report", enabled=progress), matplotlib.rc_context(
            {"svg.hashsalt": "sedal"}):
        return _write_report(res, out, notes)


def _write_report(res: Results, out: Path, notes: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    md = ["# sedal active-learning benchmark report", ""]
    if notes:
        md += [notes, ""]
    md += _verdicts(res, out)
    md += ["Detector" + (" (one per settings group)" if len(res.detectors) > 1 else "") + ": "
           + "; ".join(sorted(res.detectors)) + ".", ""]
    libraries = sorted({g.info.get("library") for g in res.groups})
    body: list[str] = []
    used = set()
    for i, g in enumerate(res.groups):
        stem = f"curves_{_slug(g.name)}"
        if stem in used:
            stem += f"_{i}"
        used.add(stem)
        labels = [lab for lab in MAIN if lab in g.curves] or sorted(g.curves)
        _plot_curves(g, labels, out, stem, g.name)
        body += dataset_table(g)
        check = end_check(g)
        if check:
            body += [check, ""]
        body += [f"![{g.name}]({stem}.png)", f"([SVG]({stem}.svg))", ""]
        if hours_curves(g, labels, out, f"hours_{stem[7:]}", f"Cost in hours, {g.name}"):
            body += ["The same runs against annotator hours (`sedal.benchmark.stats.cost`, "
                     "the default setting; every cost parameter is an assumption):", "",
                     f"![hours]({f'hours_{stem[7:]}'}.png)", ""]
        ks = sorted((lab for lab in g.curves if re.match(r"top_k\(K=\d+\)$", lab)),
                    key=lambda s: int(s[8:-1]))
        if len(ks) > 1:
            _plot_curves(g, ks + (["random"] if "random" in g.curves else []), out,
                         f"ksweep_{stem[7:]}", f"K sweep, {g.name}")
            body += [f"#### K sweep ({g.name})", "", f"![K sweep](ksweep_{stem[7:]}.png)", ""]
        div = sorted(lab for lab in g.curves if "+" in lab)
        if div:
            base = [lab for lab in ("top_k(K=10)", "mean", "random") if lab in g.curves]
            _plot_curves(g, base + div, out, f"diversify_{stem[7:]}",
                         f"Diversification, {g.name}")
            body += [f"#### Diversification ({g.name})", "",
                     f"![diversification](diversify_{stem[7:]}.png)", ""]
    for lib in libraries:
        snr = [res.find(s, 0.2, lib) for s in (-10.0, 0.0, 10.0)]
        snr = [g for g in snr if g is not None]
        if len(snr) > 1:
            stem = f"panel_snr_{_slug(lib)}"
            _plot_panel(snr, ["top_k(K=10)", "mean", "random"], out, stem,
                        f"SNR (r = 0.2), {lib}")
            body += [f"## SNR panel ({lib})", "", f"![SNR]({stem}.png)", ""]
        ratio = [g for g in (res.find(0.0, 0.2, lib), res.find(0.0, 1.0, lib)) if g]
        if len(ratio) > 1:
            stem = f"panel_ratio_{_slug(lib)}"
            _plot_panel(ratio, ["top_k(K=10)", "mean", "random"], out, stem,
                        f"Event ratio (SNR 0), {lib}")
            body += [f"## Event-ratio panel ({lib})", "", f"![ratio]({stem}.png)", ""]
    md += ["## Per dataset", "", *body]
    md_text = "\n".join(md) + "\n"
    from sedal.core.fsutil import write_bytes_atomic

    write_bytes_atomic(out / "report.md", md_text.encode())
    write_bytes_atomic(out / "report.html", render_html(md_text, out).encode())
    return out


def _verdicts(res: Results, out: Path) -> list[str]:
    """The opening: pre-registration check, verdict table, forest plot, claims.json, Fig. 3
    on realisations and the reviewer's metrics of the main cell, per world."""
    from sedal.benchmark.stats import filesample, leaderboard, prereg, reviewer, verdicts
    from sedal.benchmark.stats.family import cell, world_of
    from sedal.benchmark.stats.family_claims import evaluate_family
    from sedal.benchmark.stats.figures import realisation_curves
    from sedal.benchmark.stats.reach import class_reach_table, cost_ranking, reach_table

    pre = prereg.load()
    worlds = sorted({world_of(g.info.get("library", "")) for g in res.groups})
    found = [r for w in worlds for r in evaluate_family(res, pre, w)]
    verdicts.forest_plot(found, out, "forest")
    md = ["## Verdicts", "", _method_line(pre), ""]
    md += _confirm_floor(found, pre.alpha)
    warn = prereg.changed_since(res.claims_sha256)
    if warn:
        md += [f"**Warning: {warn}.**", ""]
    md += [*verdicts.verdict_table(found), "", "![forest plot](forest.png) "
           "([SVG](forest.svg))", "", "### Every claim in detail", "",
           *verdicts.detail_table(found), ""]
    md += _noise_verdicts(res, pre, worlds, out)
    strategy_claims = []
    for w in worlds:
        board, fam = leaderboard.section(cell(res, w, 0.0, 0.2, seed_set=None), pre, w, out,
                                         f"leaderboard_{_slug(w)}",
                                         recorded=res.strategy_claims_sha256)
        strategy_claims += fam
        groups = cell(res, w, 0.0, 0.2)
        if not groups:
            md += board
            continue
        stem = f"fig3_{_slug(w)}"
        n = realisation_curves(groups, list(MAIN), out, stem,
                               f"SNR 0, r 0.2, {w}: mean over realisations, 95 % t bands")
        classes = reviewer._classes(groups[0])
        reviewer.metric_panels(groups, classes, out, f"reviewer_{_slug(w)}",
                               f"SNR 0, r 0.2, {w}: means over {len(groups)} realisations")
        md += filesample.table(groups, pre.low_budget, [r for r in found if r.world == w])
        md += [f"## Learning curves on realisations (study Fig. 3), `{w}`", "",
               f"Every band from the same {n} realisations (mean of each realisation's mean "
               "over seeds; 95 % t interval over realisations), budgets to 10 %.", "",
               f"![Fig. 3]({stem}.png) ([SVG]({stem}.svg))", "",
               f"## What an SED reviewer measures, SNR 0, r 0.2, `{w}`", "",
               "Per-class IoU, event F1 (onset collar 0.2 s, offset max(0.2 s, 20 %)), PSDS "
               "scenarios 1 and 2 (sed_scores_eval, at the budgets of "
               "`sedal.benchmark.al.metrics.PSDS_BUDGETS`) and the labelled set's share of "
               "event files (dashed: the pool's).", "",
               f"![reviewer metrics](reviewer_{_slug(w)}.png)", "",
               "### Labels and annotator hours to reach the references", "",
               "study: the same detector on all labels; ceiling: class weights, C and median "
               "kernel chosen by source-grouped cross-validation on the training split "
               "(`sedbench ceiling`). Target: reference − 0.01 total IoU, and staying there. "
               "Hours: `sedal.benchmark.stats.cost` (every cost parameter is an assumption).",
               "", *reach_table(groups), "", "Per class (the class's IoU against the "
               "reference's IoU of that class − 0.01):", "", *class_reach_table(groups), "",
               "Strategies by median annotator hours to reach "
               "the study reference (runs that never reach count as infinite):", "",
               *cost_ranking(groups), "", "### Cold starts", "",
               *reviewer.cold_start_table(groups, pre.low_budget), "",
               "### A stopping signal without labels", "",
               f"Cohen's kappa between successive models' decisions on the training split; "
               f"stop when it is ≥ {reviewer.STOP_KAPPA} on {reviewer.STOP_WINDOW} "
               "iterations in a row (stabilizing predictions).", "",
               *reviewer.stopping_table(groups), "",
               f"![stopping signal beside the test curve](stopping_{_slug(w)}.png)", ""]
        reviewer.stopping_panels(groups, out, f"stopping_{_slug(w)}",
                                 f"SNR 0, r 0.2, {w}: test IoU and the stopping signal "
                                 f"(means over {len(groups)} realisations)")
        md += board
    # claims.json: the main family and the strategy family (ids s-<strategy>), every world
    verdicts.write_claims_json(found + strategy_claims, out / "claims.json")
    return md


def _noise_verdicts(res: Results, pre, worlds: list[str], out: Path) -> list[str]:
    """The claims the oracle study can decide, under each noisy oracle of the results
    (:mod:`sedal.benchmark.stats.noise`); also written to ``claims-noise.json``."""
    from sedal.benchmark.stats import verdicts
    from sedal.benchmark.stats.noise import NOISE_CLAIMS, noise_verdicts

    noisy = [r for w in worlds for r in noise_verdicts(res.groups, pre, w)]
    if not noisy:
        return []
    verdicts.write_claims_json(noisy, out / "claims-noise.json")
    return ["### The claims under a noisy annotator", "",
            f"Claims ({', '.join(NOISE_CLAIMS)}) decided on the runs of each noisy oracle "
            "(`sedal.benchmark.al.oracle`: SNR-dependent misses, boundary jitter, class "
            "confusion, spurious boxes; the model trains on the noisy labels, the test split "
            "is clean) with the same tests and SESOI, Holm over these claims per oracle. "
            "Machine-readable: [claims-noise.json](claims-noise.json).", "",
            *verdicts.verdict_table(noisy), "", *verdicts.detail_table(noisy), ""]


def _method_line(pre) -> str:
    """The verdicts' opening sentence: what was pre-registered and how claims are decided."""
    return (f"Pre-registered in `benchmark/claims.toml` (sha256 `{pre.sha256[:12]}`): "
            f"alpha {pre.alpha:g}, SESOI {pre.sesoi_iou:g} IoU ({pre.sesoi_relative_gain:g} "
            f"for relative gains), {pre.family}. Unit of inference: the dataset realisation "
            "(primary: linear mixed model, t interval on top units - 1 df, the top unit being "
            "the library when there are several, else the realisation; confirming: exact "
            "sign-flip over realisation means). FRAGILE: the two disagree. Holm runs over the "
            "claims of a world that have data; FAILS is not adjusted for multiplicity. "
            "Machine-readable: [claims.json](claims.json).")


def _confirm_floor(found, alpha: float) -> list[str]:
    """What the design lets the confirming test show: with n realisations the one-sided
    sign-flip p is >= 2^-n, and after Holm over m claims the smallest adjusted p is >= m 2^-n
    (n: the best-replicated claim; m: the most claims with a p in one world, Holm's family)."""
    import math
    from collections import Counter

    ns = [r.n_realisations for r in found if r.n_realisations >= 2]
    tested = Counter(r.world for r in found if math.isfinite(r.p))
    if not ns or not tested:
        return []
    n, m = max(ns), max(tested.values())
    floor = m * 2.0 ** -n
    need = math.ceil(math.log2(m / alpha))
    if floor < alpha:
        return [f"With {n} realisations the exact sign-flip test can reach p = 2^-{n} = "
                f"{2.0 ** -n:.4f}; after Holm over {m} claims at least {floor:.3f}.", ""]
    return [f"**With {n} realisations no claim can HOLD:** the exact sign-flip test cannot go "
            f"below p = 2^-{n} = {2.0 ** -n:.4f}, and after Holm over {m} claims not below "
            f"{floor:.3f} > alpha {alpha:g}, so a claim whose primary analysis rejects is "
            f"FRAGILE at best. Confirming a claim of this family needs ≥ {need} realisations "
            "(the confirmatory study's design).", ""]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")


CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       font-size: 16px; line-height: 1.55; color: #1b1b1b; max-width: 1080px;
       margin: 2em auto; padding: 0 1em; }
h1, h2, h3, h4 { line-height: 1.25; }
table { border-collapse: collapse; font-size: 14px; margin: 1em 0; }
td, th { border: 1px solid #c8c8c8; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 3px; }
li { margin: 0.25em 0; }
"""


def render_html(md_text: str, folder: Path) -> str:
    """Render the Markdown with the ``markdown`` library; PNGs inlined (self-contained)."""
    import markdown

    body = markdown.markdown(md_text, extensions=["tables", "sane_lists"])

    def inline(m: re.Match) -> str:
        src = m.group(1)
        p = folder / src
        if not p.is_file() or p.suffix != ".png":
            return m.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+)"', inline, body)
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>sedal report</title><style>{CSS}</style></head><body>{body}"
            "</body></html>\n")


def compare_results(dir_a: str | Path, dir_b: str | Path) -> list[dict]:
    """Mean learning curves of two results dirs side by side, per (dataset, strategy).

    Datasets are matched by content (manifest sha256), not by folder name. Used to check
    that a faster configuration (warm starts) stays within 0.01 IoU of the plain
    refit-from-scratch baseline.

    Returns
    -------
    list of dict
        ``dataset``, ``label``, ``seeds``, ``max_abs_diff`` (largest difference of the
        mean total IoU at any labelled fraction) and ``mean_abs_diff``.
    """
    a, b = Results(ResultsStore(dir_a)), Results(ResultsStore(dir_b))
    out = []
    for ga in a.groups:
        for gb in b.groups:
            if ga.info["manifest_sha256"] != gb.info["manifest_sha256"]:
                continue
            for label in sorted(set(ga.curves) & set(gb.curves)):
                seeds = sorted(set(ga.curves[label]) & set(gb.curves[label]))
                if not seeds:
                    continue
                ya = np.mean([ga.curves[label][s][1] for s in seeds], axis=0)
                yb = np.mean([gb.curves[label][s][1] for s in seeds], axis=0)
                n = min(len(ya), len(yb))
                d = np.abs(ya[:n] - yb[:n])
                out.append({"dataset": ga.name, "label": label, "seeds": seeds,
                            "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean())})
    return out
