"""The report's tables (Markdown): the datasets, the claims and their verdicts, seed-to-seed
comparisons and the end-of-curve checks."""

from __future__ import annotations

import math

import numpy as np

from sedal.benchmark.stats import claims as C
from sedal.benchmark.stats.figures import (
    _label_order,
)
from sedal.benchmark.stats.results import TOL, Group, _ci, _fmt, _mean, _p


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
    ends = [float(f.max()) for per in g.curves.values() for f, _ in per.values() if len(f)]
    span = f"to {max(ends) * 100:g} %" if ends else "whole schedule"
    lines += ["", f"| strategy | seeds | AULC, {span} | AULC, 0.5-10 % | "
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
    """Does any mean curve end above the reference -- and above the ceiling, when computed --
    by more than its CI (noise)? Says which, with the labelled set's share of event files
    there (a curve above the reference is usually class-prior rebalancing)."""
    full = g.full_iou()
    if full is None:
        return None
    out = []
    refs = [("fully supervised IoU", full)]
    if g.ceiling is not None:
        refs.append(("ceiling (cross-validated class weights, C, median)",
                     float(g.ceiling["total_iou"])))
    for name, ref in refs:
        worst = None
        for label in g.curves:
            f, m, h, n = g.mean_curve(label)
            slack = (0.0 if math.isnan(h[-1]) else h[-1])
            gap = m[-1] - ref
            if gap > slack + 0.005 and (worst is None or gap > worst[1]):
                worst = (label, gap, f[-1])
        if worst is None:
            out.append(f"No mean curve ends above the {name} ({ref:.3f}) by more than its "
                       "95 % CI.")
            continue
        share = [rows[-1].get("labelled_event_fraction") for rows in
                 g.rows.get(worst[0], {}).values()]
        share = [v for v in share if v is not None]
        why = (f" Its labelled set is {100 * sum(share) / len(share):.0f} % event files "
               f"against the pool's {100 * float(g.spec.get('event_ratio', math.nan)):.0f} %."
               if share else "")
        out.append(f"**{worst[0]} ends {worst[1]:+.3f} above the {name} ({ref:.3f}) at "
                   f"{100 * worst[2]:g} % of the files, beyond its 95 % CI.**{why}")
    return " ".join(out)
