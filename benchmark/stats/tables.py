"""The report's tables (Markdown): the datasets, the claims and their verdicts, seed-to-seed
comparisons and the end-of-curve checks."""

from __future__ import annotations

import math

import numpy as np

from sedal.benchmark.stats import claims as C
from sedal.benchmark.stats.figures import (
    _label_order,
)
from sedal.benchmark.stats.results import TOL, Group, Results, _ci, _fmt, _mean, _p


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
