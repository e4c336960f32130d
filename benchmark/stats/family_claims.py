"""The claims (a)-(j) of ``benchmark/claims.toml`` assembled from results: which contrasts,
on which cell, with which margin (:mod:`sedal.benchmark.stats.family` decides them)."""

from __future__ import annotations

import math

import numpy as np

from sedal.benchmark.stats import family as F
from sedal.benchmark.stats.claims import FAILS, INCONCLUSIVE, holm, stay_fraction
from sedal.benchmark.stats.prereg import Preregistration
from sedal.benchmark.stats.results import Results

MAIN, LOW_SNR, HIGH_SNR, DENSE = (0.0, 0.2), (-10.0, 0.2), (10.0, 0.2), (0.0, 1.0)


def _cell_name(c: tuple[float, float]) -> str:
    return f"SNR {c[0]:+g} dB, r {c[1]:g}"


def _stay(pre: Preregistration):
    """Per-run labelled fraction from which the curve stays within the tolerance of the
    realisation's fully supervised IoU (1.0 when it never does within the run)."""
    def fn(g, label, seed):
        full = g.full_iou()
        if full is None:
            return math.nan
        f, y = g.curves[label][seed]
        v = stay_fraction(f, y, full - pre.reach_tolerance)
        return 1.0 if v is None else v
    return fn


def claim_parts(res: Results, pre: Preregistration, world: str) -> dict[str, list]:
    """``{claim id: [Part, ...]}`` for one world."""
    groups = {c: F.cell(res, world, *c) for c in (MAIN, LOW_SNR, HIGH_SNR, DENSE)}
    main, m = groups[MAIN], pre.sesoi_iou
    au = F.low_aulc(pre)

    def sup(name, a, b, cell=main, fn=au, kind="superiority", margin=m):
        return F.measure_part(name, kind, F.contrast(cell, fn, a=a, b=b), pre, margin)

    stay = _stay(pre)
    vals, reals, libs = F.contrast(main, stay, a=F.TOP10)
    parts = {"a": [F.measure_part("0.08 - stay fraction of Top-10", "superiority",
                               (0.08 - vals, reals, libs), pre, 0.0, power_effect=0.02,
                               bounds=(0.08 - 1.0, 0.08))]}  # a stay fraction is in [0, 1]
    parts["b"] = [sup(f"Top-10 - Random at {b:.1%}", F.TOP10, F.RANDOM, fn=F.iou_at(b))
                  for b in pre.budgets] + [sup("Top-10 - Random, AULC", F.TOP10, F.RANDOM)]
    parts["c"] = [sup("Top-10 - Mean", F.TOP10, F.MEAN)]
    parts["d"] = [sup("Mean - Median", F.MEAN, F.MEDIAN)]
    parts["e"] = [sup("Median - Random (equivalence)", F.MEDIAN, F.RANDOM, kind="equivalence")]
    parts["f"] = [sup("Random - Mean-Event", F.RANDOM, F.MEAN_EVENT)]
    parts["g"] = []
    for x, xl in ((F.MEAN, "Mean"), (F.MEDIAN, "Median")):
        for d in F.DIVERSIFY:
            parts["g"].append(F.measure_part(
                f"({xl}+{d} - {xl}) - (Top-10+{d} - Top-10)", "superiority",
                _interaction(main, au, x, d), pre, m))
    parts["h"] = [sup(f"Top-{k} - Random", f"top_k(K={k})", F.RANDOM) for k in F.K_SWEEP]
    parts["h"] += [sup(f"Top-{k} - Top-10 (equivalence)", f"top_k(K={k})", F.TOP10,
                       kind="equivalence") for k in F.K_SWEEP if k != 10]
    parts["h"].append(sup("Top-10 - Mean (K = all)", F.TOP10, F.MEAN))
    gain = {c: _gains(groups[c], au) for c in (LOW_SNR, MAIN, HIGH_SNR)}
    parts["i"] = [F.two_sample_part(f"gain at SNR -10 > gain at {_cell_name(c)}",
                                    gain[LOW_SNR], gain[c], pre) for c in (MAIN, HIGH_SNR)]
    dense = groups[DENSE]
    parts["j"] = [sup("Top-10 - Random at r 1", F.TOP10, F.RANDOM, cell=dense),
                  sup("Mean does not beat Random at r 1", F.MEAN, F.RANDOM, cell=dense,
                      kind="non-superiority")]
    return parts


def _interaction(groups, fn, x: str, d: str):
    vals, reals, libs = [], [], []
    labels = (f"{x}+{d}", x, f"{F.TOP10}+{d}", F.TOP10)
    for g in groups:
        if not all(lab in g.curves for lab in labels):
            continue
        for s in sorted(set.intersection(*(set(g.curves[lab]) for lab in labels))):
            v = (fn(g, labels[0], s) - fn(g, labels[1], s)) - (fn(g, labels[2], s)
                                                                - fn(g, labels[3], s))
            vals.append(v)
            reals.append(g.info["manifest_sha256"][:12])
            libs.append(g.info.get("library", ""))
    return np.array(vals), np.array(reals), np.array(libs)


def _gains(groups, fn) -> np.ndarray:
    """Relative gain (Top-10 - Random) / Random of each realisation's mean AULCs."""
    out = []
    for g in groups:
        if F.TOP10 in g.curves and F.RANDOM in g.curves:
            t = np.mean([fn(g, F.TOP10, s) for s in g.curves[F.TOP10]])
            r = np.mean([fn(g, F.RANDOM, s) for s in g.curves[F.RANDOM]])
            if r > 0:
                out.append((t - r) / r)
    return np.array(out)


def _why_fails(kind: str) -> str:
    if kind == "equivalence":
        return "the CI lies outside the equivalence margin"
    if kind == "non-superiority":
        return "the effect is shown to exceed the SESOI"
    return "the effect is shown to be below the SESOI"


CELLS = {"a": MAIN, "b": MAIN, "c": MAIN, "d": MAIN, "e": MAIN, "f": MAIN, "g": MAIN,
         "h": MAIN, "i": LOW_SNR, "j": DENSE}


def evaluate_family(res: Results, pre: Preregistration, world: str) -> list[F.ClaimResult]:
    """Every claim of ``pre`` on ``world``, Holm-adjusted over the family."""
    parts = claim_parts(res, pre, world)
    out = []
    for cid, spec in pre.claims.items():
        r = F.ClaimResult(id=cid, text=spec["text"], world=world,
                          cell="SNR -10 vs 0 and +10 dB, r 0.2" if cid == "i"
                          else _cell_name(CELLS.get(cid, MAIN)),
                          test=spec["test"], claims_sha256=pre.sha256,
                          sesoi=pre.sesoi_relative_gain if cid == "i" else
                          (0.0 if cid == "a" else pre.sesoi_iou))
        out.append(summarise_parts(r, parts.get(cid, []), head=-1 if cid == "b" else 0,
                                   power=pre.power))
    return decide_family(out, pre.alpha)


def summarise_parts(r: F.ClaimResult, ps: list, *, head: int = 0,
                    power: float = 0.8) -> F.ClaimResult:
    """Fill a claim from its parts (an intersection-union test: its p is the largest p of
    its parts); ``head`` is the part whose effect and CI the claim shows."""
    r.parts = ps
    ok = [p for p in ps if math.isfinite(p.p)]
    if not ps or len(ok) < len(ps):
        r.note = "a part lacks data (fewer than 2 realisations with both strategies)"
    if ok:
        worst = max(ok, key=lambda p: p.p)
        r.effect, r.ci = ps[head].effect, ps[head].ci
        r.p = max(p.p for p in ps) if len(ok) == len(ps) else math.nan
        r.confirming_p = max(p.confirm_p for p in ps) if len(ok) == len(ps) else math.nan
        r.confirming_test = worst.confirm_test
        r.n_realisations = min(p.n_realisations for p in ps)
        r.n_seeds = min(p.n_seeds for p in ps)
        r.power_at_sesoi, r.needed_realisations = worst.power, worst.needed_n
        r.underpowered = not (worst.power >= power)
    return r


def decide_family(out: list[F.ClaimResult], alpha: float) -> list[F.ClaimResult]:
    """Holm over the claims of one family (primary and confirming p separately), then each
    claim's verdict (:func:`sedal.benchmark.stats.family.decide`) and its notes."""
    for key, adj_key in (("p", "p_adj"), ("confirming_p", "confirming_p_adj")):
        adj = holm([getattr(r, key) for r in out])
        for r, a in zip(out, adj):
            setattr(r, adj_key, a)
    for r in out:
        if not math.isfinite(r.p_adj):
            r.verdict = r.confirming_verdict = INCONCLUSIVE
            continue
        failing = [p for p in r.parts if p.fails_p < alpha]
        fails = bool(failing)
        if failing:
            r.note = (r.note + " " if r.note else "") + "FAILS because " + "; ".join(
                f"{p.name}: {_why_fails(p.kind)}" for p in failing) + " (both analyses)."
        r.verdict = F.decide(r.p_adj, r.confirming_p_adj, fails, alpha)
        r.confirming_verdict = (FAILS if fails else "HOLDS" if r.confirming_p_adj < alpha
                                else INCONCLUSIVE)
        if r.underpowered and r.verdict not in ("HOLDS", FAILS):
            need = r.needed_realisations
            r.note = (r.note + " " if r.note else "") + (
                f"underpowered: {r.n_realisations} realisations x {r.n_seeds} seeds give "
                f"{r.power_at_sesoi:.0%} power at the SESOI; 80 % needs "
                + (f"{need} realisations" if need else "more than 1000 realisations"))
    return out
