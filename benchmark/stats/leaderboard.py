"""The strategy leaderboard of the main cell (SNR 0 dB, r 0.2) and the pre-registered family
"Top-10 beats each new strategy" (``benchmark/claims-strategies.toml``), for every
annotator (oracle) that has runs.

Rows are (strategy as run, annotator); every number is computed on the same realisations:
those where the study of new strategies ran (``sedbench study strategies``), or, when none
did, none (the section is left out). Per row:

- AULC over the low budget (mean total IoU on the log10 budget axis): mean over
  realisations of each realisation's mean over AL seeds, 95 % t interval over realisations;
- Top-10 − the row (same annotator, paired AL seeds within a realisation): the mixed model
  of :mod:`sedal.benchmark.stats.hierarchy` (realisation as the unit), with the family's
  verdict for the strategies the family names;
- labels and annotator hours (the default cost setting of
  :mod:`sedal.benchmark.stats.cost`) to reach each reference − 0.01 and stay there: the
  median over runs (a run that never reaches within its schedule counts as infinite, so a
  median can be "> end"), with a 95 % percentile interval from a cluster bootstrap that
  resamples realisations (the unit); with 3 realisations that interval has only 10 distinct
  resamples behind it and is crude.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from sedal.benchmark.stats import family as F
from sedal.benchmark.stats.claims import UNIT_RANGE, t_ci
from sedal.benchmark.stats.cost import COST_MODELS, row_hours
from sedal.benchmark.stats.reach import median_inf, reach_row
from sedal.benchmark.stats.results import Group, aulc

TOL = 0.01
PERFECT = "perfect"
#: Bootstrap resamples of the realisations for the reach intervals.
N_BOOT = 2000


def entry_name(rows: list[dict], label: str) -> tuple[str, str]:
    """(row name, annotator) of a run: its label without the oracle suffix (and with the
    seed set when it is not random), and the oracle."""
    name, _, oracle = label.partition("@")
    seed_set = rows[0].get("seed_set", "random") if rows else "random"
    if seed_set not in (None, "random"):
        name += f" [{seed_set} seed set]"
    return name, oracle or PERFECT


def collect(groups: list[Group]) -> dict:
    """``{(name, annotator): {manifest: {seed: rows}}}`` over the groups of one cell, and
    ``{(name, annotator): strategy}`` (the strategy as run, diversification and seed set
    aside: ``None`` for rows that are not plain runs of one strategy)."""
    from sedal.benchmark.errors import BenchmarkError

    table: dict = defaultdict(lambda: defaultdict(dict))
    plain: dict = {}
    source: dict = {}
    for g in groups:
        m = g.info["manifest_sha256"]
        for label, runs in g.rows.items():
            for seed, rows in runs.items():
                key = entry_name(rows, label)
                if source.setdefault((key, m), g.settings_key) != g.settings_key:
                    raise BenchmarkError(
                        f"{g.name}: runs of {key[0]} ({key[1]} annotator) with two settings "
                        "(features, detector or schedule settings differ); report them apart")
                table[key][m][seed] = rows
                r0 = rows[0]
                plain[key] = (r0.get("strategy") if r0.get("diversify", "none") == "none"
                              and r0.get("seed_set", "random") in (None, "random")
                              and r0.get("k") in (None, 10) else None)
    return table, plain


def references(groups: list[Group]) -> dict[str, dict[str, float]]:
    """``{manifest: {"study": IoU, "ceiling": IoU}}`` (a reference that is missing is left
    out)."""
    out: dict = defaultdict(dict)
    for g in groups:
        m = g.info["manifest_sha256"]
        if g.full_iou() is not None:
            out[m]["study"] = g.full_iou()
        if getattr(g, "ceiling", None) is not None:
            out[m]["ceiling"] = float(g.ceiling["total_iou"])
    return out


def _curve(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows = sorted(rows, key=lambda r: r["iteration"])
    return (np.array([r["fraction"] for r in rows], float),
            np.array([np.nan if r["total_iou"] is None else r["total_iou"] for r in rows]))


def run_aulc(rows: list[dict], low_budget: tuple[float, float]) -> float:
    return aulc(*_curve(rows), *low_budget)


def reach(rows: list[dict], target: float, hi: float = 1.0) -> tuple[float, float]:
    """(labelled fraction, annotator hours under the default cost setting) from which the
    run stays at or above ``target`` up to the budget ``hi`` (rows beyond it are cut, so
    that runs with longer schedules are judged on the same budgets); (inf, inf) when it
    never does."""
    rows = sorted((r for r in rows if r["fraction"] <= hi + 1e-9), key=lambda r: r["iteration"])
    r = reach_row(rows, target) if rows else None
    return (math.inf, math.inf) if r is None else (float(r["fraction"]),
                                                   row_hours(r, COST_MODELS[0]))


def cluster_median(per_unit: list[list[float]], *, random_state: int = 0,
                   n_boot: int = N_BOOT) -> tuple[float, float, float]:
    """(median over all values, 2.5 % and 97.5 % bootstrap bounds) where the bootstrap
    resamples units (lists of values) with replacement; values may be infinite. The bounds
    are order statistics of the resampled medians (no interpolation), so infinities stay
    infinities."""
    units = [list(u) for u in per_unit if len(u)]
    if not units:
        return math.nan, math.nan, math.nan
    est = median_inf([v for u in units for v in u])
    if len(units) < 2:
        return est, math.nan, math.nan
    rng = np.random.default_rng(random_state)
    meds = np.array([median_inf([v for i in rng.integers(0, len(units), len(units))
                                 for v in units[i]]) for _ in range(n_boot)])
    return (est, float(np.quantile(meds, 0.025, method="lower")),
            float(np.quantile(meds, 0.975, method="higher")))


def _contrast(table, ref_key, key, manifests, low_budget, libraries: dict | None = None):
    """(values, realisation ids, library ids) of AULC(reference) − AULC(row) over the
    realisations and AL seeds both ran; ``libraries`` maps a manifest to its source library
    (realisations nested in libraries for the mixed model; none: one library)."""
    vals, reals, libs = [], [], []
    a, b = table.get(ref_key, {}), table.get(key, {})
    for m in manifests:
        for s in sorted(set(a.get(m, {})) & set(b.get(m, {}))):
            v = run_aulc(a[m][s], low_budget) - run_aulc(b[m][s], low_budget)
            if math.isfinite(v):
                vals.append(v)
                reals.append(m[:12])
                libs.append((libraries or {}).get(m, ""))
    return np.array(vals), np.array(reals), np.array(libs)


def leaderboard_manifests(table: dict, plain: dict, sp) -> list[str]:
    """The realisations where a strategy of the family ran under a perfect annotator."""
    return sorted({m for key, runs in table.items()
                   if key[1] == PERFECT and plain.get(key) in sp.strategies for m in runs})


def strategy_family(table: dict, plain: dict, manifests: list[str], pre, sp, world: str,
                    libraries: dict | None = None) -> list[F.ClaimResult]:
    """The family of ``sp`` (Top-10 beats each listed strategy) under every annotator with
    runs of Top-10 and of a listed strategy; Holm over the claims of one annotator."""
    from sedal.benchmark.stats.family_claims import decide_family, summarise_parts

    pre_s = replace(pre, alpha=sp.alpha, sesoi_iou=sp.sesoi_iou, low_budget=sp.low_budget)
    ref = sp.reference
    out = []
    for annot in sorted({a for _, a in table}, key=lambda a: (a != PERFECT, a)):
        if not any(k[1] == annot and plain.get(k) in sp.strategies for k in table):
            continue  # no strategy of the family ran with this annotator
        fam = []
        for s in sp.strategies:
            key = next((k for k in table if k[1] == annot and plain.get(k) == s), None)
            if key is None or (ref, annot) not in table:  # pre-registered, not run: no data
                data = (np.array([]), np.array([]), np.array([]))
                key = (s, annot)
            else:
                data = _contrast(table, (ref, annot), key, manifests, sp.low_budget,
                                 libraries)
            part = F.measure_part(f"Top-10 - {key[0]}", "superiority", data, pre_s,
                                  sp.sesoi_iou)
            r = F.ClaimResult(id=f"s-{s}", text=f"Top-10 beats {s}",
                              world=world if annot == PERFECT else f"{world} @ {annot}",
                              cell="SNR +0 dB, r 0.2", test=sp.test, claims_sha256=sp.sha256,
                              sesoi=sp.sesoi_iou)
            fam.append(summarise_parts(r, [part], power=pre.power))
        out += decide_family(fam, sp.alpha)
    return out


def leaderboard_rows(table: dict, plain: dict, refs: dict, manifests: list[str], pre, sp,
                     family: list[F.ClaimResult], libraries: dict | None = None
                     ) -> list[dict]:
    """One dict per (row name, annotator) on ``manifests``, sorted by annotator, then AULC
    (highest first)."""
    verdict = {(r.id[2:], r.world.partition(" @ ")[2] or PERFECT): r for r in family}
    pre_s = replace(pre, sesoi_iou=sp.sesoi_iou, low_budget=sp.low_budget)
    out = []
    for key, runs in table.items():
        name, annot = key
        real = [m for m in manifests if runs.get(m)]
        if not real:
            continue
        means = np.array([np.mean([run_aulc(r, sp.low_budget) for r in runs[m].values()])
                          for m in real])
        row = {"name": name, "annotator": annot, "n_realisations": len(real),
               "n_seeds": min(len(runs[m]) for m in real), "aulc": float(np.mean(means)),
               "aulc_ci": t_ci(means, bounds=UNIT_RANGE)}
        if key[0] != sp.reference and (sp.reference, annot) in table:
            part = F.measure_part("", "superiority", _contrast(
                table, (sp.reference, annot), key, manifests, sp.low_budget, libraries), pre_s,
                sp.sesoi_iou)
            row["vs_top10"] = (part.effect, part.ci)
        for which in ("study", "ceiling"):
            per = [[reach(r, refs[m][which] - TOL, sp.low_budget[1]) for r in runs[m].values()]
                   for m in real if which in refs.get(m, {})]
            row[f"labels_{which}"] = cluster_median([[v[0] for v in u] for u in per])
            row[f"hours_{which}"] = cluster_median([[v[1] for v in u] for u in per])
            row[f"reached_{which}"] = (sum(math.isfinite(v[0]) for u in per for v in u),
                                       sum(len(u) for u in per))
        r = verdict.get((plain.get(key), annot))
        row["verdict"] = r.verdict if r is not None else None
        out.append(row)
    return sorted(out, key=lambda r: (r["annotator"] != PERFECT, r["annotator"], -r["aulc"]))


def _num(x: float, pct: bool = False, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "> end"
    return f"{x:.1%}" if pct else f"{x:.{nd}f}"


def _interval(est_lo_hi, pct: bool = False, nd: int = 2) -> str:
    est, lo, hi = est_lo_hi
    if math.isnan(lo):
        return _num(est, pct, nd)
    return f"{_num(est, pct, nd)} [{_num(lo, pct, nd)}, {_num(hi, pct, nd)}]"


def markdown_table(rows: list[dict]) -> list[str]:
    """The leaderboard as Markdown."""
    out = ["| strategy | annotator | realisations x seeds | AULC 0.5-10 % [95 % CI] | "
           "Top-10 − strategy [95 % CI] | family verdict | labels to reach study "
           "[95 % CI] | labels to reach ceiling [95 % CI] | hours to reach study [95 % CI] |",
           "|---|---|---|---|---|---|---|---|---|"]
    from sedal.benchmark.stats.verdicts import MARK

    for r in rows:
        vs = r.get("vs_top10")
        vs_txt = "—" if vs is None else (
            f"{vs[0]:+.3f} [{vs[1][0]:+.3f}, {vs[1][1]:+.3f}]" if all(
                math.isfinite(v) for v in (vs[0], *vs[1])) else "n/a")
        rs, rc = r["reached_study"], r["reached_ceiling"]
        out.append(
            f"| {r['name']} | {r['annotator']} | {r['n_realisations']} x {r['n_seeds']} | "
            f"{_interval((r['aulc'], *r['aulc_ci']), nd=3)} | {vs_txt} | "
            f"{MARK[r['verdict']] if r['verdict'] else '—'} | "
            f"{_interval(r['labels_study'], pct=True)} ({rs[0]} of {rs[1]} runs) | "
            f"{_interval(r['labels_ceiling'], pct=True)} ({rc[0]} of {rc[1]} runs) | "
            f"{_interval(r['hours_study'])} |")
    return out


def section(groups: list[Group], pre, world: str, out: Path, stem: str,
            recorded: set[str] | None = None) -> tuple[list[str], list[F.ClaimResult]]:
    """The report's leaderboard section for the main-cell ``groups`` of ``world`` and the
    strategy family's claims (empty when no new strategy ran on them); ``recorded``: the
    sha256 of ``benchmark/claims-strategies.toml`` that the runs recorded."""
    from sedal.benchmark.stats import prereg, verdicts
    from sedal.benchmark.stats.figures import realisation_curves

    sp = prereg.load_strategies()
    table, plain = collect(groups)
    manifests = leaderboard_manifests(table, plain, sp)
    if not manifests:
        return [], []
    libraries = {g.info["manifest_sha256"]: str(g.info.get("library", "")) for g in groups}
    fam = strategy_family(table, plain, manifests, pre, sp, world, libraries)
    rows = leaderboard_rows(table, plain, references(groups), manifests, pre, sp, fam,
                            libraries)
    on = [g for g in groups if g.info["manifest_sha256"] in manifests]
    perfect = sorted({r["name"] for r in rows if r["annotator"] == PERFECT
                      and "+" not in r["name"] and "[" not in r["name"]})
    n = realisation_curves(on, perfect, out, stem,
                           f"SNR 0, r 0.2, {world}: every strategy, perfect annotator")
    if fam:
        verdicts.forest_plot(fam, out, f"{stem}_forest")
    md = [f"## Strategy leaderboard, SNR 0, r 0.2, `{world}`", "",
          f"On the {len(manifests)} realisations where the strategy study ran; annotators: "
          "perfect, and the noisy oracles of `sedbench study oracle` (the model trains on "
          "noisy labels, the test split is clean). Rows with `+farthest` or another seed set "
          "are exploratory (not in the family). AULC: mean over realisations, 95 % t "
          "interval; Top-10 − strategy: mixed model, realisation as the unit; labels and "
          "hours (default cost setting) to reach a reference − 0.01 and stay there up to "
          f"{sp.low_budget[1]:.0%} (longer schedules are cut there): median over runs "
          "(never within the schedule = infinite, '> end'), 95 % cluster-bootstrap "
          "interval over realisations (crude with few realisations).", "",
          *markdown_table(rows), "",
          f"![every strategy]({stem}.png) ([SVG]({stem}.svg)) — the curves of the plain "
          f"strategies on the {n} realisations where all of them ran.", ""]
    if fam:
        other = sorted(r for r in (recorded or set()) if r != sp.sha256)
        warn = ("the runs record no sha256 of `benchmark/claims-strategies.toml` (they were "
                "made before runs recorded it): that the file came first rests on git history "
                "(git log -- benchmark/claims-strategies.toml)" if not recorded else
                f"the strategy claims file changed after results were made: runs record "
                f"{', '.join(o[:12] for o in other)}, the file is now {sp.sha256[:12]}"
                if other else "")
        md += ["### Top-10 against each new strategy (pre-registered family)", "",
               *([f"**Warning: {warn}.**", ""] if warn else []),
               f"`benchmark/claims-strategies.toml` (sha256 `{sp.sha256[:12]}`): {sp.family}; "
               f"test: {sp.test}; SESOI {sp.sesoi_iou:g}; alpha {sp.alpha:g}. Same rules as "
               "the main family (primary: mixed model; confirming: exact sign-flip over "
               "realisation means; FRAGILE when they disagree). In claims.json as `s-<strategy>`.",
               "", *verdicts.detail_table(fam), "",
               f"![forest plot]({stem}_forest.png)", ""]
    return md, fam
