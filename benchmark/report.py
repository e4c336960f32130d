"""The benchmark report: learning curves with 95 % CIs, budget-aware tables, and claims.

Identity
--------
Runs are grouped by their dataset's *content* (the manifest's sha256) and by every setting
that can change a number (:attr:`sedal.benchmark.loop.RunConfig.settings_key`: schedule, warm
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
  the whole schedule and over the low budget 0.5-10 % (schedule points in that range).
- "Reaches full − 0.01": per seed, the fraction from which the curve *stays* within 0.01
  of the fully supervised IoU to the end of the schedule.
- Claims: :mod:`sedal.benchmark.claims` (one-sided paired t-tests with Holm's correction, TOST
  equivalence, non-superiority, Welch + bootstrap for gains), on the low-budget AULC.
"""

from __future__ import annotations

import base64
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import claims as C
from .errors import BenchmarkError
from .runner import ResultsStore

MAIN = ("top_k(K=10)", "mean", "median", "random", "mean_event")
TOL = 0.01
LOW_BUDGET = (0.005, 0.10)
#: One colour per strategy, in every figure.
COLOURS = {"top_k(K=10)": "#1f77b4", "mean": "#ff7f0e", "median": "#2ca02c",
           "random": "#555555", "mean_event": "#d62728", "max": "#9467bd",
           "top_k(K=1)": "#17becf", "top_k(K=3)": "#bcbd22", "top_k(K=5)": "#8c564b",
           "top_k(K=20)": "#e377c2", "top_k(K=50)": "#7f7f00",
           "top_k(K=10)+farthest": "#aec7e8", "top_k(K=10)+random_selection": "#393b79",
           "mean+farthest": "#ffbb78", "mean+random_selection": "#8c6d31"}
_EXTRA = ("#637939", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354")


def colour(label: str) -> str:
    """The fixed colour of a strategy label (others: a stable pick from a small palette)."""
    if label in COLOURS:
        return COLOURS[label]
    return _EXTRA[sum(map(ord, label)) % len(_EXTRA)]


def aulc(fractions, ious, lo: float | None = None, hi: float | None = None) -> float:
    """Mean IoU under the curve on the log10 labelled-fraction axis, over ``[lo, hi]``.

    Only schedule points inside the range are used (no interpolation); one point gives
    its own value; none gives nan.
    """
    f = np.asarray(fractions, float)
    y = np.asarray(ious, float)
    keep = np.ones(len(f), bool)
    if lo is not None:
        keep &= f >= lo - 1e-12
    if hi is not None:
        keep &= f <= hi + 1e-12
    f, y = f[keep], y[keep]
    if len(f) == 0:
        return math.nan
    if len(f) == 1:
        return float(y[0])
    x = np.log10(f)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def _mean(x: np.ndarray) -> float:
    """Mean of the finite values (nan when there are none, without a warning)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def _fmt(x, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{nd}f}"


def _ci(c: tuple[float, float], nd: int = 3) -> str:
    return "n/a" if any(math.isnan(v) for v in c) else f"[{c[0]:.{nd}f}, {c[1]:.{nd}f}]"


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass
class Group:
    """The runs of one dataset (by content) with one set of settings."""

    info: dict
    settings_key: str
    reference_key: str
    curves: dict = field(default_factory=lambda: defaultdict(dict))  # label -> seed -> (f, y)
    fits: int = 0
    not_converged: int = 0
    odd: list = field(default_factory=list)  # runs left out of a curve, with the reason
    reference: dict | None = None
    name: str = ""

    @property
    def spec(self) -> dict:
        return self.info.get("spec", {})

    def full_iou(self) -> float | None:
        return None if self.reference is None else float(self.reference["total_iou"])

    def mean_curve(self, label: str):
        """(fractions, mean, CI half-width (nan for one seed), n seeds)."""
        runs = self.curves[label]
        f = next(iter(runs.values()))[0]
        ys = np.array([y for _, y in runs.values()])
        m = ys.mean(axis=0)
        half = np.array([(C.t_ci(ys[:, i])[1] - m[i]) if len(ys) > 1 else math.nan
                         for i in range(ys.shape[1])])
        return f, m, half, len(ys)

    def per_seed(self, label: str, lo=None, hi=None) -> dict[int, float]:
        return {s: aulc(f, y, lo, hi) for s, (f, y) in self.curves[label].items()}

    def low(self, label: str) -> dict[int, float]:
        return self.per_seed(label, *LOW_BUDGET)


def describe_detector(config: dict) -> str:
    """One phrase for the detector of a run's config: features and classifier settings."""
    feats = config.get("features", "yamnet-patch-0.12-0.06-float32")
    recipe = config.get("recipe") or ""
    parts = [f"features `{feats}`" + (f" + `{recipe}`" if recipe else ""),
             f"C = {config.get('C', 1.0):g}",
             f"class weights {config.get('class_weight') or 'none'}",
             f"median filter {config.get('kernel', 3)}"]
    return ", ".join(parts)


class Results:
    """Finished runs of a results dir, grouped by dataset content and settings."""

    def __init__(self, store: ResultsStore):
        records = store.records()
        if not records:
            raise BenchmarkError(f"{store.root} holds no finished runs; run sedbench run first")
        refs = store.references()
        self.detectors: set[str] = set()
        groups: dict[tuple[str, str], Group] = {}
        for rec in records:
            info = rec.get("dataset_info")
            if not isinstance(info, dict) or "settings_key" not in rec:
                raise BenchmarkError(f"{store.root}: run {rec['key']} was written by an older "
                                     "sedal (no dataset identity); rerun it into a new results "
                                     "dir")
            gkey = (info["manifest_sha256"], rec["settings_key"])
            g = groups.setdefault(gkey, Group(info, rec["settings_key"], rec["reference_key"]))
            self.detectors.add(describe_detector(rec.get("config", {})))
            rows = sorted(rec["rows"], key=lambda r: r["iteration"])
            label, seed = rows[0]["label"], rows[0]["seed"]
            f = np.array([r["fraction"] for r in rows], float)
            y = np.array([np.nan if r["total_iou"] is None else r["total_iou"] for r in rows])
            g.fits += len(rows)
            g.not_converged += sum(1 for r in rows if r.get("converged") is False)
            have = g.curves[label]
            if have:
                f0 = next(iter(have.values()))[0]
                if len(f0) != len(f) or not np.allclose(f0, f):
                    g.odd.append(f"{label} seed {seed}: {len(f)} points instead of {len(f0)}")
                    continue
            have[seed] = (f, y)
        by_manifest = defaultdict(list)
        for (msha, _), g in groups.items():
            by_manifest[msha].append(g)
        for gs in by_manifest.values():
            for g in gs:
                g.reference = refs.get(g.reference_key)
                g.name = f"{g.info['name']} ({g.info['manifest_sha256'][:8]})"
                if len(gs) > 1:
                    g.name += f" · settings {g.settings_key}"
        self.groups = sorted(groups.values(), key=lambda g: g.name)

    def find(self, snr: float, ratio: float, library: str, *, need=()) -> Group | None:
        """The group of the study dataset with this SNR, ratio and library: among matches,
        the one with the most files, then the lowest dataset seed, then the most seeds."""
        cands = [g for g in self.groups
                 if g.info.get("library") == library and g.spec.get("snr_range") is None
                 and math.isclose(float(g.spec.get("snr", math.nan)), snr)
                 and math.isclose(float(g.spec.get("event_ratio", math.nan)), ratio)
                 and all(lab in g.curves for lab in need)]
        if not cands:
            return None
        return sorted(cands, key=lambda g: (-g.spec.get("n_files", 0), g.spec.get("seed", 0),
                                            -sum(len(v) for v in g.curves.values())))[0]

    def realisations(self, main: Group) -> list[Group]:
        """Groups of the same spec as ``main`` except the dataset seed (same settings)."""
        def strip(spec):
            return {k: v for k, v in spec.items() if k != "seed"}

        return [g for g in self.groups
                if g.info.get("library") == main.info.get("library")
                and strip(g.spec) == strip(main.spec) and g.settings_key == main.settings_key]


# -- figures -------------------------------------------------------------------
def _percent_axis(ax) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 5, 10, 20, 50, 100]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _draw(ax, g: Group, labels, *, band: tuple | None = None, legend_n: bool = True) -> None:
    for label in labels:
        if label not in g.curves:
            continue
        f, m, h, n = g.mean_curve(label)
        ax.plot(f * 100, m, marker="o", ms=3, color=colour(label),
                label=f"{label} (n={n})" if legend_n else label)
        if n > 1:
            ax.fill_between(f * 100, np.clip(m - h, 0, 1), np.clip(m + h, 0, 1),
                            color=colour(label), alpha=0.18, lw=0)
    if band is not None:
        f, m, h, n = band
        ax.plot(f * 100, m, color=colour("random"), ls=":", lw=1.2,
                label=f"random over {n} dataset realisations")
        ax.fill_between(f * 100, np.clip(m - h, 0, 1), np.clip(m + h, 0, 1),
                        color=colour("random"), alpha=0.12, lw=0)
    full = g.full_iou()
    if full is not None:
        ax.axhline(full, color="k", ls="--", lw=1, label=f"fully supervised ({full:.3f})")
    _percent_axis(ax)
    ax.grid(alpha=0.3)


def _save(fig, out: Path, stem: str) -> None:
    fig.savefig(out / f"{stem}.png")
    fig.savefig(out / f"{stem}.svg")


def _plot_curves(g: Group, labels, out: Path, stem: str, title: str, band=None) -> None:
    """Two panels: the whole IoU range, and a zoom on the differences near the reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, zoom) = plt.subplots(2, 1, figsize=(7.0, 7.4), dpi=110, sharex=True,
                                    gridspec_kw={"height_ratios": [1, 1]})
    _draw(top, g, labels, band=band)
    top.set_ylim(0, 1)
    top.set_ylabel("total IoU (test)")
    top.set_title(title, fontsize=11)
    top.legend(fontsize=8, loc="lower right")
    _draw(zoom, g, labels, band=band)
    ys = [g.mean_curve(lab)[1] for lab in labels if lab in g.curves]
    full = g.full_iou()
    hi = max([full or 0.0] + [float(np.nanmax(y)) for y in ys]) + 0.02
    lo = min(float(np.nanpercentile(y, 25)) for y in ys) if ys else 0.0
    zoom.set_ylim(max(0.0, min(lo, hi - 0.05)), min(1.0, hi))
    zoom.set_ylabel("total IoU (zoom)")
    zoom.set_xlabel("labelled training files (%, log scale)")
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)


def _plot_panel(groups: list[Group], labels, out: Path, stem: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(4.4 * len(groups), 3.9), dpi=110,
                             squeeze=False)
    for ax, g in zip(axes[0], groups):
        _draw(ax, g, labels, legend_n=False)
        ys = [g.mean_curve(lab)[1] for lab in labels if lab in g.curves]
        full = g.full_iou() or 0.0
        hi = max([full] + [float(np.nanmax(y)) for y in ys]) + 0.02
        lo = min(float(np.nanpercentile(y, 10)) for y in ys) if ys else 0.0
        ax.set_ylim(max(0.0, lo - 0.02), min(1.0, hi))
        ax.set_title(g.name, fontsize=9)
        ax.set_xlabel("labelled files (%)")
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("total IoU (zoomed to the curves)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)


def _realisation_band(groups: list[Group], label: str = "random"):
    """Mean random curve per dataset realisation, then mean and 95 % t CI across them."""
    curves = [g.mean_curve(label) for g in groups if label in g.curves]
    if len(curves) < 2:
        return None
    f = curves[0][0]
    ys = np.array([c[1] for c in curves if len(c[0]) == len(f)])
    m = ys.mean(axis=0)
    half = np.array([C.t_ci(ys[:, i])[1] - m[i] for i in range(ys.shape[1])])
    return f, m, half, len(ys)


# -- tables ----------------------------------------------------------------------
def _label_order(label: str):
    """Main strategies first (study order), then the K sweep by K, then diversified runs."""
    if label in MAIN:
        return (0, MAIN.index(label), 0, label)
    m = re.match(r"top_k\(K=(\d+)\)$", label)
    if m:
        return (1, 0, int(m.group(1)), label)
    return (2, 0, 0, label)


def dataset_table(g: Group) -> list[str]:
    """Markdown lines for one group: reference, convergence, and one row per strategy."""
    full = g.full_iou()
    ref = g.reference
    spec = g.spec
    lines = [f"### {g.name}", "",
             f"Dataset: library `{g.info.get('library')}`, {spec.get('n_files')} files, SNR "
             f"{spec.get('snr')} dB, r {spec.get('event_ratio')}, dataset seed "
             f"{spec.get('seed')}; settings `{g.settings_key}`.", ""]
    if ref is None:
        lines.append("Fully supervised reference: **missing**.")
    else:
        lines.append(f"Fully supervised total IoU: **{_fmt(full)}** (same detector and code as "
                     f"the AL fits; {ref.get('solver_iterations')} lbfgs iterations, "
                     f"{'converged' if ref.get('converged') else '**NOT converged**'}).")
    lines.append(f"Classifier fits: {g.fits}, not converged: "
                 f"{'**' + str(g.not_converged) + '**' if g.not_converged else 0}.")
    if g.odd:
        lines.append(f"**Runs left out of their curve (different fraction grid): "
                     f"{'; '.join(g.odd)}.**")
    lines += ["", "| strategy | seeds | AULC, whole schedule | AULC, 0.5-10 % | "
              "Δ 0.5-10 % AULC vs random [95 % CI] | one-sided p | Holm p | "
              "stays within 0.01 of full from (mean [95 % CI], never) |",
              "|---|---|---|---|---|---|---|---|"]
    rand = g.low("random") if "random" in g.curves else None
    labels = sorted(g.curves, key=_label_order)
    comps = {lab: C.superiority(g.low(lab), rand) for lab in labels
             if rand is not None and lab != "random"}
    adj = dict(zip(comps, C.holm([c.p for c in comps.values()])))
    for label in labels:
        whole = np.array(list(g.per_seed(label).values()))
        low = np.array(list(g.low(label).values()))
        n = len(whole)
        stay = C.reaches_by(stay_fractions(g, label), 0.08) if full is not None else None
        c = comps.get(label)
        lines.append(
            f"| {label} | {n} | {_fmt(float(whole.mean()))} "
            f"{_ci(C.t_ci(whole, bounds=C.UNIT_RANGE))} | "
            f"{_fmt(_mean(low))} {_ci(C.t_ci(low, bounds=C.UNIT_RANGE))} | "
            + (f"{c.effect:+.4f} {_ci(c.ci, 4)} | {_p(c.p)} | {_p(adj[label])} | "
               if c else "— | — | — | ")
            + (f"{_fmt(stay.effect)} {_ci(stay.ci)}, {stay.extra['not_reached']} |"
               if stay else "n/a |"))
    lines.append("")
    lines.append("Δ: paired over seeds (same seed sets); p: one-sided paired t-test "
                 "(strategy > random); Holm over this table's rows. \"never\" counts seeds "
                 "whose curve ends below full − 0.01 (they count as needing every file in the "
                 "mean).")
    return lines + [""]


def stay_fractions(g: Group, label: str) -> dict[int, float | None]:
    full = g.full_iou()
    return {s: C.stay_fraction(f, y, full - TOL) for s, (f, y) in g.curves[label].items()}


def end_check(g: Group) -> str | None:
    """Does any mean curve end above the reference by more than its CI (noise)?"""
    full = g.full_iou()
    if full is None:
        return None
    worst = None
    for label in g.curves:
        f, m, h, n = g.mean_curve(label)
        slack = (0.0 if math.isnan(h[-1]) else h[-1])
        gap = m[-1] - full
        if gap > slack + 0.005 and (worst is None or gap > worst[1]):
            worst = (label, gap, f[-1])
    if worst is None:
        return "No mean curve ends above the fully supervised IoU by more than its 95 % CI."
    return (f"**{worst[0]} ends {worst[1]:+.3f} above the fully supervised IoU at "
            f"{100 * worst[2]:g} % of the files, beyond its 95 % CI.**")


# -- claims ----------------------------------------------------------------------
def _line(name: str, verdict: str, parts: list[tuple[str, C.Comparison]]) -> str:
    bits = []
    for what, c in parts:
        if c.kind == "reach":
            bits.append(f"{what}: mean {_fmt(c.effect)} {_ci(c.ci)} over {c.n} seeds "
                        f"({c.extra['not_reached']} never reach) [{c.test}] → {c.verdict}")
            continue
        margin = "" if math.isnan(c.margin) else f", margin {c.margin:g}"
        bits.append(f"{what}: effect {c.effect:+.4f} {_ci(c.ci, 4)}, p {_p(c.p)}, adjusted p "
                    f"{_p(c.p_adj)}{margin}, n {c.n}, detectable ≥ {_fmt(c.mde, 4)} "
                    f"[{c.test}] → {c.verdict}" + (f" ({c.note})" if c.note else ""))
    return f"- **{name}: {verdict}**\n" + "\n".join(f"    - {b}" for b in bits)


def claims(res: Results, library: str) -> list[str]:
    """The study's claims on the datasets of ``library``, each with its verdict and numbers."""
    main = res.find(0.0, 0.2, library)
    out: list[str] = []
    parts: dict[str, list[tuple[str, C.Comparison]]] = {}
    names = {}
    if main is not None and "top_k(K=10)" in main.curves and main.full_iou() is not None:
        names["reach"] = ("Top-10 reaches the fully supervised IoU − 0.01 with ≤ 8 % of the "
                          f"labels (SNR 0, r 0.2; {main.name})")
        parts["reach"] = [("stay fraction of Top-10",
                           C.reaches_by(stay_fractions(main, "top_k(K=10)"), 0.08))]
    order = ["top_k(K=10)", "mean", "median", "random", "mean_event"]
    if main is not None and all(lab in main.curves for lab in order):
        lo = {lab: main.low(lab) for lab in order}
        names["order"] = ("Top-K > Mean > Median ≈ Random > Mean-Event (0.5-10 % AULC, SNR 0, "
                          f"r 0.2; {main.name})")
        parts["order"] = [
            ("Top-10 > Mean", C.superiority(lo["top_k(K=10)"], lo["mean"])),
            ("Mean > Median", C.superiority(lo["mean"], lo["median"])),
            ("Median ≈ Random", C.equivalence(lo["median"], lo["random"])),
            ("Random > Mean-Event", C.superiority(lo["random"], lo["mean_event"])),
        ]
    snr = {s: res.find(s, 0.2, library, need=("top_k(K=10)", "random"))
           for s in (-10.0, 0.0, 10.0)}
    if snr[-10.0] is not None and (snr[0.0] or snr[10.0]):
        gains = {s: C.relative_gain(g.low("top_k(K=10)"), g.low("random"))
                 for s, g in snr.items() if g is not None}
        names["snr"] = ("The relative gain of Top-10 over Random ((A − R) / R, 0.5-10 % AULC) "
                        "is larger at SNR −10 than at 0 and +10")
        parts["snr"] = [(f"gain at −10 ({100 * np.mean(list(gains[-10.0].values())):.1f} %) > "
                         f"gain at {s:+g} ({100 * np.mean(list(gains[s].values())):.1f} %)",
                         C.bigger_gain(gains[-10.0], gains[s]))
                        for s in (0.0, 10.0) if s in gains]
    r1 = res.find(0.0, 1.0, library, need=("top_k(K=10)", "mean", "random"))
    if r1 is not None:
        names["r1"] = f"At r = 1.0, Top-10 beats Random while Mean does not ({r1.name})"
        parts["r1"] = [("Top-10 > Random", C.superiority(r1.low("top_k(K=10)"), r1.low("random"))),
                       ("Mean does not beat Random",
                        C.non_superiority(r1.low("mean"), r1.low("random")))]
    flat = [(k, i, c) for k, ps in parts.items() for i, (_, c) in enumerate(ps)]
    adjusted = C.adjust_superiority([c for _, _, c in flat])
    for (k, i, _), c in zip(flat, adjusted):
        parts[k][i] = (parts[k][i][0], c)
    for key, title in (("reach", "Top-10 at ≤ 8 %"), ("order", "Ordering"),
                       ("snr", "SNR −10 gain"), ("r1", "r = 1.0")):
        if key in parts:
            out.append(_line(names[key], C.all_of([c for _, c in parts[key]]), parts[key]))
        else:
            out.append(f"- **{title}: INCONCLUSIVE** — not evaluated: the results dir has no "
                       "matching dataset with the strategies it needs.")
    return out


def seed_comparison(res: Results, library: str) -> list[str]:
    """Top-10 against Mean over every seed run on the main dataset (the study's Fig. 3)."""
    main = res.find(0.0, 0.2, library, need=("top_k(K=10)", "mean"))
    if main is None:
        return []
    a, b = main.low("top_k(K=10)"), main.low("mean")
    d = C.paired_differences(a, b)
    n = len(d)
    shared = sorted(set(a) & set(b))
    whole = C.paired_differences(main.per_seed("top_k(K=10)"), main.per_seed("mean"))
    lines = [f"Top-10 vs Mean on {main.name}: {n} paired seeds; 0.5-10 % AULC "
             f"{_fmt(float(np.mean([a[s] for s in shared])))} vs "
             f"{_fmt(float(np.mean([b[s] for s in shared])))}, difference "
             f"{d.mean():+.4f} {_ci(C.t_ci(d, bounds=C.DIFFERENCE_RANGE), 4)}; whole-schedule "
             f"AULC difference {whole.mean():+.4f} "
             f"{_ci(C.t_ci(whole, bounds=C.DIFFERENCE_RANGE), 4)}."]
    reals = [g for g in res.realisations(main) if "random" in g.curves]
    if len(reals) > 1:
        vals = [float(np.mean(list(g.low("random").values()))) for g in reals]
        lines.append(f"Random over {len(reals)} dataset realisations (dataset seeds "
                     f"{', '.join(str(g.spec.get('seed')) for g in reals)}): 0.5-10 % AULC "
                     f"{_fmt(float(np.mean(vals)))} "
                     f"{_ci(C.t_ci(np.array(vals), bounds=C.UNIT_RANGE))} "
                     "(mean over seeds per realisation, then across realisations).")
    return lines


# -- the report --------------------------------------------------------------------
def write_report(results_dir: str | Path, out: str | Path | None = None, *,
                 notes: str = "", progress: bool = False) -> Path:
    """Write ``report.md``, a self-contained ``report.html`` and PNG + SVG figures.

    The results are read and checked first (a damaged record is one error before any
    progress line); ``progress`` then prints a start and an end line for the writing.
    """
    from sedal.core.progress import stage

    store = ResultsStore(results_dir)
    if not (store.root / "runs").is_dir():
        raise BenchmarkError(f"{results_dir} is not a results dir (no runs/)")
    res = Results(store)
    out = Path(out) if out is not None else store.root / "report"
    with stage("writing the report", enabled=progress):
        return _write_report(res, out, notes)


def _write_report(res: Results, out: Path, notes: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    md = ["# sedal active-learning benchmark report", ""]
    if notes:
        md += [notes, ""]
    md += ["Total IoU on the test split against the fraction of labelled training files (log "
           "axis); mean over seeds with 95 % t bands (none for one seed); dashed: the fully "
           "supervised reference (same detector, same code, fitted to the same tolerance). "
           "AULC is a mean IoU on the same log axis, over the whole schedule and over the low "
           "budget 0.5-10 %, which the claims use. Claims are decided by "
           "`sedal.benchmark.claims`: one-sided paired t-tests (Holm-corrected over the claims of "
           f"a library), TOST equivalence and non-superiority with margin {C.MARGIN:g} AULC, a "
           "Welch test with a bootstrap CI for gains; with fewer than "
           f"{C.MIN_SEEDS} seeds a claim is INCONCLUSIVE. \"detectable ≥\" is the smallest "
           "true effect the test would detect with 80 % power given the seeds and their "
           "spread.", ""]
    md += ["Detector" + (" (one per settings group)" if len(res.detectors) > 1 else "") + ": "
           + "; ".join(sorted(res.detectors)) + ".", ""]
    libraries = sorted({g.info.get("library") for g in res.groups})
    body: list[str] = []
    for lib in libraries:
        md += [f"## The study's claims on library `{lib}`", "", *claims(res, lib), ""]
        extra = seed_comparison(res, lib)
        if extra:
            md += ["### Seed protocol (study Fig. 3)", "", *extra, ""]
    used = set()
    for i, g in enumerate(res.groups):
        stem = f"curves_{_slug(g.name)}"
        if stem in used:
            stem += f"_{i}"
        used.add(stem)
        labels = [lab for lab in MAIN if lab in g.curves] or sorted(g.curves)
        reals = [r for r in res.realisations(g) if r is not g]
        band = _realisation_band([g, *reals]) if reals else None
        _plot_curves(g, labels, out, stem, g.name, band=band)
        body += dataset_table(g)
        check = end_check(g)
        if check:
            body += [check, ""]
        body += [f"![{g.name}]({stem}.png)", f"([SVG]({stem}.svg))", ""]
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
