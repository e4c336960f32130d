"""Labels -- and annotator hours -- to reach a reference, per strategy, against the study's
reference (same detector, all labels) and the ceiling (all labels, class weights, C and
median kernel chosen by cross-validation on the training split, grouped by source
recording), with the speed-up over Random."""

from __future__ import annotations

import math

import numpy as np

from sedal.benchmark.stats.claims import stay_fraction
from sedal.benchmark.stats.cost import COST_MODELS, row_hours
from sedal.benchmark.stats.figures import MAIN
from sedal.benchmark.stats.results import Group

TOL = 0.01


def reach_row(rows: list[dict], target: float, key: str = "total_iou") -> dict | None:
    """The row from which the run's ``key`` stays at or above ``target`` (None: it never
    does)."""
    f = [r["fraction"] for r in rows]
    y = [np.nan if r.get(key) is None else r[key] for r in rows]
    s = stay_fraction(f, y, target)
    if s is None:
        return None
    return next(r for r in rows if math.isclose(r["fraction"], s))


def reach_runs(groups: list[Group], label: str, which: str) -> tuple[list[dict], int]:
    """(rows where each run reaches ``which`` reference - 0.01, number of runs that never
    do). ``which``: "study" or "ceiling"."""
    hit, never = [], 0
    for g in groups:
        ref = g.full_iou() if which == "study" else _ceiling(g)
        if ref is None:
            continue
        for rows in g.rows.get(label, {}).values():
            r = reach_row(rows, ref - TOL)
            if r is None:
                never += 1
            else:
                hit.append(r)
    return hit, never


def _ceiling(g: Group) -> float | None:
    c = getattr(g, "ceiling", None)
    return None if c is None else float(c["total_iou"])


def reach_table(groups: list[Group]) -> list[str]:
    """Markdown: median labelled fraction and annotator hours to reach each reference, per
    strategy; runs that never reach count as needing more than their schedule (median over
    all runs: "> end" when more than half never reach)."""
    heads = " | ".join(f"hours ({m.name})" for m in COST_MODELS)
    out = [f"| strategy | reference | runs reaching | median labels to reach | {heads} | "
           "speed-up over Random (labels) |", "|---|---|---|---|" + "---|" * len(COST_MODELS)
           + "---|"]
    for which in ("study", "ceiling"):
        rnd = _median_need(groups, "random", which)
        end = max((rows[-1]["fraction"] for g in groups
                   for rows in g.rows.get("random", {}).values()), default=math.nan)
        for label in MAIN:
            hit, never = reach_runs(groups, label, which)
            n = len(hit) + never
            if not n:
                continue
            need = _median_need(groups, label, which)
            hours = []
            for m in COST_MODELS:
                med = median_inf([row_hours(r, m) for r in hit] + [math.inf] * never)
                hours.append("> end" if math.isinf(med) else f"{med:.2f}")
            speed = ("n/a" if label == "random" or not (math.isfinite(need) and need > 0)
                     else (f"> {end / need:.1f}x (Random: > {end:.0%})" if math.isinf(rnd)
                           else f"{rnd / need:.1f}x"))
            out.append(f"| {label} | {which} | {len(hit)} of {n} | "
                       + ("> end" if math.isinf(need) else f"{need:.1%}")
                       + f" | {' | '.join(hours)} | {speed} |")
    return out


def class_reach_table(groups: list[Group]) -> list[str]:
    """Markdown: per event class and strategy, the median labelled fraction at which a run's
    IoU of that class reaches (and stays at) the reference's IoU of that class − 0.01,
    against the study reference and the ceiling; runs that never reach count as needing
    more than their schedule."""
    classes = sorted({k[4:] for g in groups for runs in g.rows.values() for rows in runs.values()
                      for k in (rows[0] if rows else {}) if k.startswith("iou_")})
    out = ["| class | strategy | study: runs reaching | study: median labels | "
           "ceiling: runs reaching | ceiling: median labels |", "|---|---|---|---|---|---|"]
    for c in classes:
        key = f"iou_{c}"
        for label in MAIN:
            cells = []
            for which in ("study", "ceiling"):
                hit, never = [], 0
                for g in groups:
                    ref = g.reference if which == "study" else getattr(g, "ceiling", None)
                    if ref is None or ref.get(key) is None:
                        continue
                    for rows in g.rows.get(label, {}).values():
                        r = reach_row(rows, float(ref[key]) - TOL, key)
                        hit, never = (hit + [r], never) if r is not None else (hit, never + 1)
                n = len(hit) + never
                need = median_inf([r["fraction"] for r in hit] + [math.inf] * never)
                cells += ["-", "-"] if not n else [
                    f"{len(hit)} of {n}", "> end" if math.isinf(need) else f"{need:.1%}"]
            if cells != ["-"] * 4:
                out.append(f"| {c} | {label} | " + " | ".join(cells) + " |")
    return out


def median_inf(values) -> float:
    """Median that keeps infinities (runs that never reach); nan for no values."""
    v = sorted(values)
    if not v:
        return math.nan
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def _median_need(groups, label, which) -> float:
    hit, never = reach_runs(groups, label, which)
    return median_inf([r["fraction"] for r in hit] + [math.inf] * never)


def cost_ranking(groups: list[Group]) -> list[str]:
    """Markdown lines: the strategies ordered by median annotator hours to reach the study
    reference under each cost setting, and whether the order changes with the setting."""
    orders = []
    lines = []
    for m in COST_MODELS:
        med = {}
        for label in MAIN:
            hit, never = reach_runs(groups, label, "study")
            if hit or never:
                med[label] = median_inf([row_hours(r, m) for r in hit] + [math.inf] * never)
        order = sorted(med, key=lambda k: (med[k], k))
        orders.append(order)
        lines.append(f"- {m.name}: " + " < ".join(
            f"{k} ({'never' if math.isinf(med[k]) else f'{med[k]:.2f} h'})" for k in order))
    same = all(o == orders[0] for o in orders)
    return lines + [f"- The ranking {'is the same under every' if same else 'changes with the'}"
                    " cost setting."]
