"""The benchmark report: learning curves with 95 % CIs, tables, and the study's claims.

Statistics
----------
- Curves: mean total IoU over seeds at each labelled fraction, with a 95 %
  confidence interval from Student's t (``mean ± t_{0.975, n-1} · sd / sqrt(n)``).
- Label fraction to reach the fully supervised IoU: the first schedule
  fraction at which a curve reaches ``IoU_full - 0.01``; per seed (mean and t
  CI over seeds) and for the mean curve. A seed that never reaches it counts as
  "not reached" (and the CI is over the seeds that did).
- Area under the learning curve (AULC): trapezoid over the labelled fraction,
  divided by the fraction range (so it is a mean IoU), per seed.
- Against random: per-seed AULC differences (same seeds, hence the same seed
  sets), a two-sided paired t-test and the Wilcoxon signed-rank test.
"""

from __future__ import annotations

import base64
import html
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from .errors import BenchmarkError
from .runner import ResultsStore

MAIN = ("top_k(K=10)", "mean", "median", "random", "mean_event")
TOL = 0.01


def _t_ci(x: np.ndarray) -> tuple[float, float]:
    """(mean, half-width of the 95 % t interval); half-width 0 for one value."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float(x.mean()) if len(x) else math.nan, 0.0
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1)
                                  / math.sqrt(len(x)))


def aulc(fractions: np.ndarray, ious: np.ndarray) -> float:
    """Area under a learning curve / fraction range (trapezoid) = mean IoU over the range."""
    f = np.asarray(fractions, float)
    y = np.asarray(ious, float)
    if len(f) < 2:
        return float(y.mean())
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(f)) / (f[-1] - f[0]))


def first_reach(fractions, ious, target: float) -> float | None:
    """First fraction at which the IoU reaches ``target`` (None if never)."""
    for f, y in zip(fractions, ious):
        if y >= target - 1e-12:
            return float(f)
    return None


class Results:
    """Finished runs grouped as ``curves[dataset][label][seed] = (fractions, ious)``."""

    def __init__(self, store: ResultsStore):
        records = store.records()
        if not records:
            raise BenchmarkError(f"{store.root} holds no finished runs; run sedbench run first")
        self.refs = store.references()
        self.curves: dict = defaultdict(lambda: defaultdict(dict))
        self.meta: dict[str, dict] = {}
        for rec in records:
            rows = sorted(rec["rows"], key=lambda r: r["iteration"])
            r0 = rows[0]
            self.curves[r0["dataset"]][r0["label"]][r0["seed"]] = (
                np.array([r["fraction"] for r in rows]), np.array([r["total_iou"] for r in rows]))
            self.meta[r0["dataset"]] = {"dataset_id": r0["dataset_id"]}

    def full_iou(self, dataset: str) -> float | None:
        ref = self.refs.get(self.meta[dataset]["dataset_id"])
        return None if ref is None else float(ref["total_iou"])

    def mean_curve(self, dataset: str, label: str):
        runs = self.curves[dataset][label]
        f = next(iter(runs.values()))[0]
        ys = np.array([y for _, y in runs.values() if len(y) == len(f)])
        means, halves = zip(*(_t_ci(ys[:, i]) for i in range(ys.shape[1])))
        return f, np.array(means), np.array(halves), len(ys)

    def seeds_aulc(self, dataset: str, label: str) -> dict[int, float]:
        return {s: aulc(f, y) for s, (f, y) in self.curves[dataset][label].items()}


def paired_vs(a: dict[int, float], b: dict[int, float]) -> dict:
    """Paired comparison of per-seed values: mean difference, t-test and Wilcoxon p."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds])
    out = {"n": len(seeds), "diff": float(d.mean()) if len(d) else math.nan,
           "t_p": math.nan, "wilcoxon_p": math.nan}
    if len(d) >= 2 and np.any(d != 0):
        out["t_p"] = float(stats.ttest_1samp(d, 0.0).pvalue)
        try:
            out["wilcoxon_p"] = float(stats.wilcoxon(d).pvalue)
        except ValueError:
            pass
    return out


# -- figures -------------------------------------------------------------------
def _percent_axis(ax) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 5, 10, 20, 50, 100]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))

def _plot_curves(res: Results, dataset: str, labels, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label in labels:
        if label not in res.curves[dataset]:
            continue
        f, m, h, n = res.mean_curve(dataset, label)
        ax.plot(f * 100, m, marker="o", ms=3, label=f"{label} (n={n})")
        ax.fill_between(f * 100, np.clip(m - h, 0, 1), np.clip(m + h, 0, 1), alpha=0.2)
    full = res.full_iou(dataset)
    if full is not None:
        ax.axhline(full, color="k", ls="--", lw=1, label=f"fully supervised ({full:.3f})")
    _percent_axis(ax)
    ax.set_ylim(0, 1)
    ax.set_xlabel("labelled training files (%)")
    ax.set_ylabel("total IoU (test)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_panel(res: Results, datasets: list[str], labels, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), dpi=110,
                             sharey=True, squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for label in labels:
            if label in res.curves[ds]:
                f, m, h, _ = res.mean_curve(ds, label)
                ax.plot(f * 100, m, marker="o", ms=3, label=label)
                ax.fill_between(f * 100, np.clip(m - h, 0, 1), np.clip(m + h, 0, 1), alpha=0.2)
        full = res.full_iou(ds)
        if full is not None:
            ax.axhline(full, color="k", ls="--", lw=1)
        _percent_axis(ax)
        ax.set_ylim(0, 1)
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("labelled files (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("total IoU")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- tables & claims --------------------------------------------------------------
def _fmt(x, nd=3):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _label_order(label: str):
    """Main strategies first (study order), then the K sweep by K, then diversified runs."""
    import re

    if label in MAIN:
        return (0, MAIN.index(label), 0, label)
    m = re.match(r"top_k\(K=(\d+)\)$", label)
    if m:
        return (1, 0, int(m.group(1)), label)
    return (2, 0, 0, label)


def dataset_tables(res: Results, ds: str) -> tuple[list[str], dict]:
    """Markdown lines for one dataset, and the numbers the claims use."""
    full = res.full_iou(ds)
    lines = [f"### {ds}", ""]
    lines.append(f"Fully supervised total IoU: **{_fmt(full)}**" if full is not None
                 else "Fully supervised reference: missing")
    lines += ["", "| strategy | seeds | label fraction to reach full − 0.01 (mean curve) | "
              "per seed: mean ± 95% CI (reached/total) | AULC mean ± 95% CI | "
              "Δ AULC vs random | paired t p | Wilcoxon p |", "|---|---|---|---|---|---|---|---|"]
    numbers: dict = {}
    rand = res.seeds_aulc(ds, "random") if "random" in res.curves[ds] else None
    for label in sorted(res.curves[ds], key=_label_order):
        f, m, _, n = res.mean_curve(ds, label)
        reach_mean = first_reach(f, m, full - TOL) if full is not None else None
        per_seed = [first_reach(ff, yy, full - TOL) for ff, yy in
                    res.curves[ds][label].values()] if full is not None else []
        reached = [x for x in per_seed if x is not None]
        rm, rh = _t_ci(np.array(reached)) if reached else (math.nan, 0.0)
        au = res.seeds_aulc(ds, label)
        am, ah = _t_ci(np.array(list(au.values())))
        cmp_ = paired_vs(au, rand) if rand is not None and label != "random" else None
        numbers[label] = {"reach_mean_curve": reach_mean, "aulc": am, "aulc_seeds": au,
                          "vs_random": cmp_}
        lines.append(
            f"| {label} | {n} | {_fmt(reach_mean)} | "
            f"{_fmt(rm)} ± {_fmt(rh)} ({len(reached)}/{len(per_seed)}) | {_fmt(am)} ± {_fmt(ah)}"
            f" | {_fmt(cmp_['diff'] if cmp_ else None)} | {_fmt(cmp_['t_p'] if cmp_ else None)}"
            f" | {_fmt(cmp_['wilcoxon_p'] if cmp_ else None)} |")
    return lines + [""], numbers


def claims(res: Results, numbers: dict[str, dict]) -> list[str]:
    """Plain statements of which of the study's claims hold on this grid."""
    out = []

    def has(ds, *labels):
        return ds in numbers and all(lab in numbers[ds] for lab in labels)

    main = "snr0_r0.2"
    if has(main, "top_k(K=10)"):
        r = numbers[main]["top_k(K=10)"]["reach_mean_curve"]
        ok = r is not None and r <= 0.08 + 1e-9
        out.append(f"- **Top-10 reaches the fully supervised IoU (−0.01) with ≤ 8 % of the labels "
                   f"(r=0.2, SNR 0): {'HOLDS' if ok else 'DOES NOT HOLD'}** — the mean curve "
                   f"reaches it at {_fmt(r)} of the training files.")
    else:
        out.append("- Top-10 at ≤ 8 % labels: not evaluated (no top_k K=10 runs on snr0_r0.2).")
    order = ["top_k(K=10)", "mean", "median", "random", "mean_event"]
    if has(main, *order):
        a = {lab: numbers[main][lab]["aulc"] for lab in order}
        med_vs_rand = paired_vs(numbers[main]["median"]["aulc_seeds"],
                                numbers[main]["random"]["aulc_seeds"])
        similar = not (med_vs_rand["t_p"] < 0.05)
        ok = (a["top_k(K=10)"] > a["mean"] > a["median"] and similar
              and a["random"] > a["mean_event"] and a["median"] > a["mean_event"])
        out.append(
            f"- **Ordering Top-K > Mean > Median ≈ Random > Mean-Event (AULC, r=0.2, SNR 0): "
            f"{'HOLDS' if ok else 'DOES NOT HOLD'}** — AULC " + ", ".join(
                f"{lab} {a[lab]:.3f}" for lab in order)
            + f"; median vs random paired t p = {_fmt(med_vs_rand['t_p'])}.")
    else:
        out.append("- Ordering claim: not evaluated (missing strategies on snr0_r0.2).")
    gains = {}
    for ds in ("snr-10_r0.2", "snr0_r0.2", "snr10_r0.2"):
        if has(ds, "top_k(K=10)", "random"):
            gains[ds] = numbers[ds]["top_k(K=10)"]["aulc"] - numbers[ds]["random"]["aulc"]
    if "snr-10_r0.2" in gains and len(gains) > 1:
        others = [g for d, g in gains.items() if d != "snr-10_r0.2"]
        ok = gains["snr-10_r0.2"] > max(others)
        out.append(f"- **Larger gain of Top-K over Random at SNR −10: "
                   f"{'HOLDS' if ok else 'DOES NOT HOLD'}** — AULC gain "
                   + ", ".join(f"{d} {g:+.3f}" for d, g in gains.items()) + ".")
    else:
        out.append("- SNR −10 gain: not evaluated (missing SNR datasets).")
    r1 = "snr0_r1"
    if has(r1, "top_k(K=10)", "mean", "random"):
        tk = numbers[r1]["top_k(K=10)"]["vs_random"]
        mn = numbers[r1]["mean"]["vs_random"]
        beats = tk["diff"] > 0 and tk["t_p"] < 0.05
        mean_not = not (mn["diff"] > 0 and mn["t_p"] < 0.05)
        out.append(f"- **At r=1.0, Top-K beats Random while Mean does not: "
                   f"{'HOLDS' if beats and mean_not else 'DOES NOT HOLD'}** — Top-K vs random "
                   f"ΔAULC {tk['diff']:+.3f} (p={_fmt(tk['t_p'])}), Mean vs random "
                   f"ΔAULC {mn['diff']:+.3f} (p={_fmt(mn['t_p'])}).")
    else:
        out.append("- r=1.0 claim: not evaluated (missing snr0_r1 runs).")
    return out


def write_report(results_dir: str | Path, out: str | Path | None = None, *,
                 notes: str = "") -> Path:
    """Write ``report.md``, a self-contained ``report.html`` and PNG figures."""
    store = ResultsStore(results_dir)
    if not (store.root / "runs").is_dir():
        raise BenchmarkError(f"{results_dir} is not a results dir (no runs/)")
    res = Results(store)
    out = Path(out) if out is not None else store.root / "report"
    out.mkdir(parents=True, exist_ok=True)
    figs: list[tuple[str, str]] = []
    numbers: dict[str, dict] = {}
    md = ["# sedal active-learning benchmark report", ""]
    if notes:
        md += [notes, ""]
    md += ["Total IoU on the test split against the fraction of labelled training files; "
           "mean over seeds with 95 % t confidence bands; dashed: fully supervised. "
           "AULC: area under the learning curve over the labelled-fraction range (a mean IoU). "
           "Against random: paired over seeds (same seed sets), two-sided paired t-test and "
           "Wilcoxon signed-rank test; with 5 seeds the Wilcoxon test cannot go below "
           "p = 0.0625, so the t-test is the one the claims use.", ""]
    body: list[str] = []
    for ds in sorted(res.curves):
        name = f"curves_{ds}.png"
        _plot_curves(res, ds, [lab for lab in MAIN if lab in res.curves[ds]] or
                     sorted(res.curves[ds]), out / name, ds)
        figs.append((name, f"Learning curves, {ds}"))
        lines, numbers[ds] = dataset_tables(res, ds)
        body += lines + [f"![{ds}]({name})", ""]
    ksweep = {ds: sorted((lab for lab in res.curves[ds] if lab.startswith("top_k(K=")
                          and "+" not in lab), key=lambda s: int(s[8:-1]))
              for ds in res.curves}
    for ds, labs in ksweep.items():
        if len(labs) > 1:
            name = f"ksweep_{ds}.png"
            _plot_curves(res, ds, labs + (["random"] if "random" in res.curves[ds] else []),
                         out / name, f"K sweep, {ds}")
            figs.append((name, f"K sweep, {ds}"))
            body += [f"## K sweep ({ds})", "", f"![K sweep]({name})", ""]
        div = [lab for lab in res.curves[ds] if "+" in lab]
        if div:
            name = f"diversify_{ds}.png"
            base = [lab for lab in ("top_k(K=10)", "mean", "random") if lab in res.curves[ds]]
            _plot_curves(res, ds, base + sorted(div), out / name, f"Diversification, {ds}")
            figs.append((name, f"Diversification, {ds}"))
            body += [f"## Diversification ({ds})", "", f"![diversification]({name})", ""]
    snr = [d for d in ("snr-10_r0.2", "snr0_r0.2", "snr10_r0.2") if d in res.curves]
    if len(snr) > 1:
        _plot_panel(res, snr, ["top_k(K=10)", "mean", "random"], out / "panel_snr.png",
                    "SNR (r = 0.2)")
        figs.append(("panel_snr.png", "SNR panel"))
        body += ["## SNR panel", "", "![SNR](panel_snr.png)", ""]
    ratio = [d for d in ("snr0_r0.2", "snr0_r1") if d in res.curves]
    if len(ratio) > 1:
        _plot_panel(res, ratio, ["top_k(K=10)", "mean", "random"], out / "panel_ratio.png",
                    "Event ratio (SNR 0)")
        figs.append(("panel_ratio.png", "Event-ratio panel"))
        body += ["## Event-ratio panel", "", "![ratio](panel_ratio.png)", ""]
    md += ["## The study's claims on this grid", "", *claims(res, numbers), "",
           "## Per dataset", "", *body]
    md_text = "\n".join(md) + "\n"
    from generator.fsutil import write_bytes_atomic

    write_bytes_atomic(out / "report.md", md_text.encode())
    write_bytes_atomic(out / "report.html", _html(md_text, out).encode())
    return out


def _html(md_text: str, folder: Path) -> str:
    """A small Markdown -> HTML rendering with the PNGs inlined (self-contained)."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>sedal report</title>"
             "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:3px 6px}img{max-width:100%}</style></head><body>"]
    in_table = False
    for line in md_text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            if not in_table:
                parts.append("<table>")
                in_table = True
                parts.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells)
                             + "</tr>")
            else:
                parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                             + "</tr>")
            continue
        if in_table:
            parts.append("</table>")
            in_table = False
        if line.startswith("!["):
            src = line[line.index("(") + 1:line.rindex(")")]
            data = base64.b64encode((folder / src).read_bytes()).decode()
            parts.append(f"<p><img alt='{html.escape(src)}' src='data:image/png;base64,{data}'>"
                         "</p>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            parts.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            text = html.escape(line[2:]).replace("**", "")
            parts.append(f"<li>{text}</li>")
        elif line.strip():
            parts.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    if in_table:
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def compare_results(dir_a: str | Path, dir_b: str | Path) -> list[dict]:
    """Mean learning curves of two results dirs side by side, per (dataset, strategy).

    Used to check that a faster configuration (warm starts) stays within 0.01 IoU of the
    plain refit-from-scratch baseline. Only (dataset, strategy) pairs and seeds present
    in both are compared.

    Returns
    -------
    list of dict
        ``dataset``, ``label``, ``seeds``, ``max_abs_diff`` (largest difference of the
        mean total IoU at any labelled fraction) and ``mean_abs_diff``.
    """
    a, b = Results(ResultsStore(dir_a)), Results(ResultsStore(dir_b))
    out = []
    for ds in sorted(set(a.curves) & set(b.curves)):
        for label in sorted(set(a.curves[ds]) & set(b.curves[ds])):
            seeds = sorted(set(a.curves[ds][label]) & set(b.curves[ds][label]))
            if not seeds:
                continue
            ya = np.mean([a.curves[ds][label][s][1] for s in seeds], axis=0)
            yb = np.mean([b.curves[ds][label][s][1] for s in seeds], axis=0)
            n = min(len(ya), len(yb))
            d = np.abs(ya[:n] - yb[:n])
            out.append({"dataset": ds, "label": label, "seeds": seeds,
                        "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean())})
    return out
