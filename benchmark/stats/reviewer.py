"""What a sound-event-detection reviewer reads beside total IoU, on the realisations of one
cell: per-class IoU curves, event F1 and PSDS, the labelled pool's make-up, the cold-start
split, the label-free stopping signal, and the cost of annotation in hours
(:mod:`sedal.benchmark.stats.cost`). Curves are means over realisations of each
realisation's mean over seeds, on the budgets every realisation ran."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sedal.benchmark.stats.figures import MAIN, _percent_axis, _save, colour
from sedal.benchmark.stats.results import Group, aulc

#: Stabilizing predictions (Bloodgood & Vijay-Shanker 2009): stop once the agreement
#: (Cohen's kappa) between successive models reaches this on the last WINDOW iterations.
STOP_KAPPA, STOP_WINDOW = 0.99, 3


def column_curve(groups: list[Group], label: str, column: str, hi: float = 1.0):
    """(fractions, mean over realisations, n realisations) of a row column; points where a
    value is missing (e.g. PSDS off its budgets) are left out."""
    per = {}
    for g in groups:
        if label not in g.rows:
            continue
        acc: dict[float, list] = {}
        for rows in g.rows[label].values():
            for r in rows:
                v = r.get(column)
                if v is not None and r["fraction"] <= hi + 1e-9 and not (
                        isinstance(v, float) and math.isnan(v)):
                    acc.setdefault(round(r["fraction"], 6), []).append(float(v))
        per[g.info["manifest_sha256"]] = {f: float(np.mean(v)) for f, v in acc.items()}
    if not per:
        return np.array([]), np.array([]), 0
    common = sorted(set.intersection(*(set(d) for d in per.values())))
    ys = np.array([[d[f] for f in common] for d in per.values()])
    return np.array(common), ys.mean(axis=0) if len(common) else np.array([]), len(per)


def metric_panels(groups: list[Group], classes: list[str], out: Path, stem: str,
                  title: str, hi: float = 0.10) -> None:
    """One figure: per-class IoU (one panel per class), event F1, PSDS1 and PSDS2, and the
    labelled pool's event-file share (dashed: the pool's own)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ([(f"iou_{c}", f"IoU, {c}") for c in classes]
              + [("event_f1", "event F1 (collar 0.2 s)"), ("psds1", "PSDS1"),
                 ("psds2", "PSDS2"),
                 ("labelled_event_fraction", "event files in the labelled set")])
    ncol = 4
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax, (col, name) in zip(axes.flat, panels):
        for label in MAIN:
            f, m, n = column_curve(groups, label, col, hi)
            if len(f):
                ax.plot(f * 100, m, marker="o", ms=3, color=colour(label),
                        label=f"{label} ({n})")
        if col == "labelled_event_fraction" and groups:
            ax.axhline(float(groups[0].spec.get("event_ratio", math.nan)), ls="--", color="k",
                       lw=0.8)
        _percent_axis(ax)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("labelled files (%)", fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if axes.flat[0].get_legend_handles_labels()[0]:
        axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)


def cold_start_table(groups: list[Group], low: tuple[float, float]) -> list[str]:
    """Markdown: low-budget AULC per strategy split by whether the seed set held an event
    file, and the share of cold-started runs."""
    out = ["| strategy | runs | cold-started (no event file in the seed set) | seed set "
           "without every class | AULC 0.5-10 %, warm | AULC, cold |",
           "|---|---|---|---|---|---|"]
    for label in MAIN:
        warm, cold, partial, n = [], [], 0, 0
        for g in groups:
            for seed, rows in g.rows.get(label, {}).items():
                f, y = g.curves[label][seed]
                a = aulc(f, y, *low)
                n += 1
                (cold if rows[0].get("cold_start") else warm).append(a)
                partial += int(rows[0].get("seed_classes", 0) < len(_classes(g)))
        if n:
            out.append(f"| {label} | {n} | {len(cold)} ({len(cold) / n:.0%}) | {partial} | "
                       f"{_m(warm)} | {_m(cold)} |")
    return out


def _classes(g: Group) -> list[str]:
    rows = next(iter(next(iter(g.rows.values())).values()))
    return [k[len("labelled_events_"):] for k in rows[0] if k.startswith("labelled_events_")]


def _m(x) -> str:
    return f"{np.mean(x):.3f} (n {len(x)})" if len(x) else "—"


def stop_point(rows: list[dict]) -> int | None:
    """Index of the iteration where the stopping rule fires (None: it never does)."""
    k = [r.get("stop_kappa") for r in rows]
    for i in range(len(k)):
        win = k[max(0, i - STOP_WINDOW + 1):i + 1]
        if len(win) == STOP_WINDOW and all(v is not None and v >= STOP_KAPPA for v in win):
            return i
    return None


def stopping_table(groups: list[Group]) -> list[str]:
    """Markdown: where the label-free rule would stop each strategy, the test IoU there, and
    how well the signal tracks the test curve (Spearman correlation of kappa with the
    change of test IoU between iterations, over all runs)."""
    from scipy import stats

    out = ["| strategy | runs | stopped within the run | mean stop fraction | test IoU at the "
           "stop | final test IoU | full IoU | Spearman (kappa, −abs(Δ test IoU)) |",
           "|---|---|---|---|---|---|---|---|"]
    for label in MAIN:
        stops, at, final, full, ks, ds = [], [], [], [], [], []
        n = 0
        for g in groups:
            for rows in g.rows.get(label, {}).values():
                n += 1
                i = stop_point(rows)
                final.append(rows[-1]["total_iou"] or 0.0)
                if g.full_iou() is not None:
                    full.append(g.full_iou())
                if i is not None:
                    stops.append(rows[i]["fraction"])
                    at.append(rows[i]["total_iou"] or 0.0)
                for a, b in zip(rows, rows[1:]):
                    if b.get("stop_kappa") is not None:
                        ks.append(b["stop_kappa"])
                        ds.append(-abs((b["total_iou"] or 0.0) - (a["total_iou"] or 0.0)))
        if not n:
            continue
        rho = stats.spearmanr(ks, ds).statistic if len(ks) > 2 else math.nan
        out.append(f"| {label} | {n} | {len(stops)} | "
                   + (f"{np.mean(stops):.1%}" if stops else "—")
                   + f" | {_mean(at)} | {_mean(final)} | {_mean(full)} | {rho:.2f} |")
    return out


def _mean(x) -> str:
    return f"{np.mean(x):.3f}" if len(x) else "—"


def stopping_panels(groups: list[Group], out: Path, stem: str, title: str,
                    hi: float = 0.10) -> None:
    """One panel per main strategy: the test total IoU (left axis) and the label-free
    stopping signal, kappa between successive models (right axis, with the stopping level
    :data:`STOP_KAPPA`), both means over realisations against the labelled fraction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [lab for lab in MAIN if any(lab in g.rows for g in groups)]
    if not labels:
        return
    fig, axes = plt.subplots(1, len(labels), figsize=(3.0 * len(labels), 2.8), squeeze=False)
    twins = []
    for ax, label in zip(axes.flat, labels):
        f, m, n = column_curve(groups, label, "total_iou", hi)
        ax.plot(f * 100, m, marker="o", ms=3, color=colour(label), label="test total IoU")
        ax.set_ylabel("test total IoU", fontsize=8)
        k_ax = ax.twinx()
        twins.append(k_ax)
        f, k, _ = column_curve(groups, label, "stop_kappa", hi)
        k_ax.plot(f * 100, k, ls="--", color="k", lw=1, label="kappa (no labels)")
        k_ax.axhline(STOP_KAPPA, color="grey", lw=0.6, ls=":")
        k_ax.set_ylim(0.0, 1.02)
        k_ax.set_ylabel("kappa, successive models", fontsize=8)
        _percent_axis(ax)
        ax.set_title(f"{label} ({n} realisations)", fontsize=9)
        ax.set_xlabel("labelled files (%)", fontsize=8)
    h1, l1 = axes.flat[0].get_legend_handles_labels()
    h2, l2 = twins[0].get_legend_handles_labels()
    axes.flat[0].legend(h1 + h2, l1 + l2, fontsize=6, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, out, stem)
    plt.close(fig)
