"""The report's figures: learning curves with their bands, per dataset and per claim panel
(matplotlib, headless)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sedal.benchmark.stats import claims as C

if TYPE_CHECKING:
    from sedal.benchmark.stats.results import Group

#: The main comparison's strategies, in the study's order.
MAIN = ("top_k(K=10)", "mean", "median", "random", "mean_event")

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
    fig.savefig(out / f"{stem}.svg", metadata={"Date": None})  # same bytes per run


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
    # panels side by side share the budgets every cell ran (e.g. 10 % where one cell keeps
    # the whole schedule and the others stop at the claims' budget)
    ends = [max(float(g.mean_curve(lab)[0].max()) for lab in labels if lab in g.curves)
            for g in groups if any(lab in g.curves for lab in labels)]
    end = min(ends) if ends else 1.0
    for ax, g in zip(axes[0], groups):
        _draw(ax, g, labels, legend_n=False)
        ys = [y[f <= end + 1e-9] for f, y in (g.mean_curve(lab)[:2] for lab in labels
                                               if lab in g.curves)]
        ax.set_xlim(right=end * 100 * 1.15)
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


def _label_order(label: str):
    """Main strategies first (study order), then the K sweep by K, then diversified runs."""
    if label in MAIN:
        return (0, MAIN.index(label), 0, label)
    m = re.match(r"top_k\(K=(\d+)\)$", label)
    if m:
        return (1, 0, int(m.group(1)), label)
    return (2, 0, 0, label)


def realisation_curves(groups: list[Group], labels, out: Path, stem: str, title: str,
                       hi: float = 0.10) -> int:
    """Study Fig. 3 on realisations: per strategy, the mean over realisations of each
    realisation's mean curve up to ``hi``, with a 95 % t band over realisations -- every
    band from the same realisations (those where every label ran). Returns their number."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    same = [g for g in groups if all(lab in g.curves for lab in labels)]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label in labels:
        per = []
        for g in same:
            f, m, _, _ = g.mean_curve(label)
            keep = f <= hi + 1e-9
            per.append((f[keep], m[keep]))
        if not per:
            continue
        n = min(len(f) for f, _ in per)
        f = per[0][0][:n]
        ys = np.array([m[:n] for _, m in per])
        mean = ys.mean(axis=0)
        ax.plot(f * 100, mean, marker="o", ms=3, color=colour(label),
                label=f"{label} ({len(ys)} realisations)")
        if len(ys) > 1:
            half = np.array([C.t_ci(ys[:, i])[1] - mean[i] for i in range(n)])
            ax.fill_between(f * 100, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1),
                            color=colour(label), alpha=0.15, lw=0)
    _percent_axis(ax)
    ax.set_xlabel("labelled training files (%)")
    ax.set_ylabel("total IoU (test)")
    ax.set_title(title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)
    return len(same)


def hours_curves(g: Group, labels, out: Path, stem: str, title: str) -> bool:
    """Total IoU against annotator hours (the default cost model of
    :mod:`sedal.benchmark.stats.cost`): per strategy the mean over seeds, at each iteration,
    of the labelled set's hours and of the test IoU. False when no run has the rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sedal.benchmark.stats.cost import COST_MODELS

    model = COST_MODELS[0]
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    drawn = False
    for label in labels:
        curve = mean_hours_curve(g, label, model)
        if curve is None:
            continue
        h, y, n = curve
        ax.plot(h, y, marker="o", ms=3, color=colour(label), label=f"{label} (n={n})")
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    full = g.full_iou()
    if full is not None:
        ax.axhline(full, color="k", ls="--", lw=1, label=f"fully supervised ({full:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel(f"annotator hours of the labelled set (cost model: {model.name}; log)")
    ax.set_ylabel("total IoU (test)")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)
    return True


def mean_hours_curve(g: Group, label: str, model) -> tuple | None:
    """(mean annotator hours, mean total IoU, runs) per iteration over a strategy's seeds;
    ``None`` when it has no runs or their schedules differ."""
    from sedal.benchmark.stats.cost import row_hours

    runs = [rows for rows in g.rows.get(label, {}).values() if rows]
    if not runs or len({len(r) for r in runs}) != 1:
        return None
    h = np.mean([[row_hours(r, model) for r in rows] for rows in runs], axis=0)
    y = np.nanmean([[np.nan if r["total_iou"] is None else r["total_iou"] for r in rows]
                    for rows in runs], axis=0)
    return h, y, len(runs)
