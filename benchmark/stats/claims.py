"""Deciding claims from per-seed numbers: HOLDS, FAILS or INCONCLUSIVE, with the test that fits.

Pure functions over per-seed values (dicts ``{seed: value}``). The distributions come
from :mod:`scipy.stats`; the only procedure written here is Holm's step-down adjustment.

Tests
-----
- "A > B" (superiority): one-sided paired t-test of ``d = A - B`` over the shared seeds,
  ``H1: mean(d) > 0``; Holm-adjusted over the claims of a report. HOLDS when the adjusted
  p < alpha; FAILS when a one-sided test shows ``mean(d) < margin`` (A is not better by
  a meaningful amount); otherwise INCONCLUSIVE.
- "A ≈ B" (equivalence): two one-sided tests (TOST) against ``±margin``; HOLDS when
  both reject (p = the larger one < alpha); FAILS when the 95 % CI of ``mean(d)`` lies
  wholly outside ``[-margin, margin]``; otherwise INCONCLUSIVE.
- "A does not beat B" (non-superiority): HOLDS when a one-sided test shows
  ``mean(d) < margin``; FAILS when one shows ``mean(d) > margin``; otherwise INCONCLUSIVE.
- Fewer than :data:`MIN_SEEDS` paired seeds: always INCONCLUSIVE.

Every result carries the effect (mean difference), its two-sided 95 % t CI, the raw and
adjusted p, the margin, and the minimum detectable effect: the smallest true mean
difference the test would detect with 80 % power at alpha (one-sided), given the observed
standard deviation and the number of seeds (from the noncentral t distribution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

HOLDS, FAILS, INCONCLUSIVE = "HOLDS", "FAILS", "INCONCLUSIVE"
ALPHA = 0.05
MARGIN = 0.01  # AULC (a mean IoU): differences smaller than this do not matter
MIN_SEEDS = 5
POWER = 0.8


@dataclass(frozen=True)
class Comparison:
    """One statistical comparison and its verdict."""

    kind: str  # "superiority", "equivalence", "non-superiority", ...
    verdict: str
    n: int
    effect: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    p: float = math.nan  # the p-value that decides HOLDS (raw)
    p_adj: float = math.nan  # after Holm (superiority only; else = p)
    margin: float = MARGIN
    mde: float = math.nan
    test: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)


def paired_differences(a: dict, b: dict) -> np.ndarray:
    """``a[s] - b[s]`` over the seeds both have, in seed order."""
    seeds = sorted(set(a) & set(b))
    return np.array([a[s] - b[s] for s in seeds], dtype=float)


#: Ranges of the quantities the report gives intervals for: IoU, AULC and labelled
#: fractions lie in [0, 1], differences of two of them in [-1, 1].
UNIT_RANGE = (0.0, 1.0)
DIFFERENCE_RANGE = (-1.0, 1.0)


def t_ci(x: np.ndarray, level: float = 0.95,
         bounds: tuple[float, float] | None = None) -> tuple[float, float]:
    """Two-sided t confidence interval of the mean of ``x`` (nan for fewer than 2 values),
    intersected with ``bounds``, the range the mean cannot leave.

    The intersection keeps the interval's coverage (the mean is inside ``bounds`` whatever
    the data), and with few seeds a t interval can reach far outside the quantity's range
    (a stay fraction of 0.575 [-4.8, 6.0] from two seeds); the bounded one then says
    honestly that the data pin nothing down ([0, 1]).
    """
    from scipy import stats

    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return (math.nan, math.nan)
    m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    if se == 0:
        lo, hi = m, m
    else:
        lo, hi = (float(v) for v in stats.t.interval(level, len(x) - 1, loc=m, scale=se))
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return (lo, hi)


def _one_sided_p(d: np.ndarray, shift: float, alternative: str) -> float:
    """p of the one-sample t-test of ``mean(d) - shift`` against 0 (``alternative``)."""
    from scipy import stats

    x = d - shift
    if np.all(x == x[0]):  # no spread: the sign decides
        if alternative == "greater":
            return 0.0 if x[0] > 0 else 1.0
        return 0.0 if x[0] < 0 else 1.0
    return float(stats.ttest_1samp(x, 0.0, alternative=alternative).pvalue)


def min_detectable_effect(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean difference a one-sided one-sample t-test detects with ``power``.

    Solves ``P(T' > t_{1-alpha, n-1}) = power`` for the effect, where ``T'`` is noncentral
    t with ``n - 1`` degrees of freedom and noncentrality ``effect * sqrt(n) / sd``.
    """
    from scipy import optimize, stats

    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    crit = stats.t.ppf(1 - alpha, df)

    def gap(nc: float) -> float:
        return float(stats.nct.sf(crit, df, nc)) - power

    nc = optimize.brentq(gap, 0.0, 100.0)
    return float(nc * sd / math.sqrt(n))


def _base(d: np.ndarray, kind: str, margin: float) -> Comparison:
    n = len(d)
    sd = float(d.std(ddof=1)) if n >= 2 else math.nan
    return Comparison(kind=kind, verdict=INCONCLUSIVE, n=n,
                      effect=float(d.mean()) if n else math.nan,
                      ci=t_ci(d, bounds=DIFFERENCE_RANGE), margin=margin,
                      mde=min_detectable_effect(sd, n))


def superiority(a: dict, b: dict, margin: float = MARGIN) -> Comparison:
    """"A > B": one-sided paired t-test (verdict before any Holm adjustment)."""
    d = paired_differences(a, b)
    c = _base(d, "superiority", margin)
    if c.n < 2:
        return replace(c, test="one-sided paired t-test", note="too few seeds")
    p = _one_sided_p(d, 0.0, "greater")
    p_small = _one_sided_p(d, margin, "less")
    c = replace(c, p=p, p_adj=p, test="one-sided paired t-test (H1: A - B > 0)",
                extra={"p_below_margin": p_small})
    return _decide_superiority(c)


def _decide_superiority(c: Comparison) -> Comparison:
    if c.n < MIN_SEEDS:
        return replace(c, verdict=INCONCLUSIVE, note=f"fewer than {MIN_SEEDS} seeds")
    if c.p_adj < ALPHA:
        return replace(c, verdict=HOLDS)
    if c.extra.get("p_below_margin", 1.0) < ALPHA:
        return replace(c, verdict=FAILS, note=f"A - B < {c.margin:g} shown")
    return replace(c, verdict=INCONCLUSIVE)


def equivalence(a: dict, b: dict, margin: float = MARGIN) -> Comparison:
    """"A ≈ B": TOST against ``±margin`` on the paired differences."""
    d = paired_differences(a, b)
    c = _base(d, "equivalence", margin)
    if c.n < 2:
        return replace(c, test="TOST", note="too few seeds")
    p = max(_one_sided_p(d, -margin, "greater"), _one_sided_p(d, margin, "less"))
    c = replace(c, p=p, p_adj=p, test=f"paired TOST, margin ±{margin:g}")
    if c.n < MIN_SEEDS:
        return replace(c, note=f"fewer than {MIN_SEEDS} seeds")
    lo, hi = c.ci
    if p < ALPHA:
        return replace(c, verdict=HOLDS)
    if lo > margin or hi < -margin:
        return replace(c, verdict=FAILS, note="95 % CI outside the margin")
    return c


def non_superiority(a: dict, b: dict, margin: float = MARGIN) -> Comparison:
    """"A does not beat B": one-sided test of ``mean(A - B) < margin``."""
    d = paired_differences(a, b)
    c = _base(d, "non-superiority", margin)
    if c.n < 2:
        return replace(c, test="non-superiority test", note="too few seeds")
    p = _one_sided_p(d, margin, "less")
    p_beats = _one_sided_p(d, margin, "greater")
    c = replace(c, p=p, p_adj=p, test=f"one-sided paired t-test (H1: A - B < {margin:g})",
                extra={"p_beats": p_beats})
    if c.n < MIN_SEEDS:
        return replace(c, note=f"fewer than {MIN_SEEDS} seeds")
    if p < ALPHA:
        return replace(c, verdict=HOLDS)
    if p_beats < ALPHA:
        return replace(c, verdict=FAILS, note=f"A - B > {margin:g} shown")
    return c


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given; nan stays nan)."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def adjust_superiority(comparisons: list[Comparison]) -> list[Comparison]:
    """Holm-adjust the superiority comparisons of a report and re-decide their verdicts."""
    sup = [i for i, c in enumerate(comparisons) if c.kind in ("superiority", "gain")]
    adj = holm([comparisons[i].p for i in sup])
    out = list(comparisons)
    for i, p in zip(sup, adj):
        c = replace(out[i], p_adj=p if not math.isnan(p) else out[i].p)
        out[i] = _decide_superiority(c) if c.kind == "superiority" else _decide_gain(c)
    return out


def relative_gain(a: dict, r: dict) -> dict:
    """Per-seed relative gain ``(A - R) / R`` over the seeds both have."""
    return {s: (a[s] - r[s]) / r[s] for s in sorted(set(a) & set(r)) if r[s] != 0}


def bigger_gain(g1: dict, g2: dict, *, random_state: int = 0) -> Comparison:
    """"gain 1 > gain 2" for two independent sets of per-seed gains (different datasets):
    one-sided Welch t-test, and a bootstrap 95 % CI of the difference of means."""
    from scipy import stats

    x = np.array(list(g1.values()), float)
    y = np.array(list(g2.values()), float)
    n = min(len(x), len(y))
    eff = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    c = Comparison(kind="gain", verdict=INCONCLUSIVE, n=n, effect=eff, test=(
        "one-sided Welch t-test of the per-seed relative gains; bootstrap 95 % CI"))
    if len(x) < 2 or len(y) < 2:
        return replace(c, note="too few seeds")
    p = float(stats.ttest_ind(x, y, equal_var=False, alternative="greater").pvalue)
    boot = stats.bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis) - b.mean(axis),
                           vectorized=True, paired=False, n_resamples=9999,
                           method="percentile", random_state=random_state)
    ci = (float(boot.confidence_interval.low), float(boot.confidence_interval.high))
    sd = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y)) * math.sqrt(n)
    c = replace(c, p=p, p_adj=p, ci=ci, margin=math.nan, mde=min_detectable_effect(sd, n))
    return _decide_gain(c)


def _decide_gain(c: Comparison) -> Comparison:
    if c.n < MIN_SEEDS:
        return replace(c, verdict=INCONCLUSIVE, note=f"fewer than {MIN_SEEDS} seeds")
    if c.p_adj < ALPHA:
        return replace(c, verdict=HOLDS)
    if c.ci[1] < 0:
        return replace(c, verdict=FAILS, note="95 % CI below 0")
    return replace(c, verdict=INCONCLUSIVE)


def stay_fraction(fractions, ious, target: float) -> float | None:
    """The first labelled fraction from which the curve stays at or above ``target`` to the
    end of the schedule (None if its last point is below)."""
    f = np.asarray(fractions, float)
    y = np.asarray(ious, float)
    below = np.flatnonzero(y < target - 1e-12)
    if len(below) == 0:
        return float(f[0])
    if below[-1] == len(y) - 1:
        return None
    return float(f[below[-1] + 1])


def reaches_by(per_seed: dict, budget: float, never: float = 1.0) -> Comparison:
    """"reaches the target by ``budget``": per-seed stay fractions (``None`` -> ``never``,
    i.e. counted as needing every file), mean with its 95 % t CI. HOLDS when the CI's upper
    end is <= budget, FAILS when its lower end is > budget."""
    x = np.array([never if v is None else v for v in per_seed.values()], float)
    c = Comparison(kind="reach", verdict=INCONCLUSIVE, n=len(x),
                   effect=float(x.mean()) if len(x) else math.nan,
                   ci=t_ci(x, bounds=UNIT_RANGE),
                   margin=math.nan, test="mean stay-fraction over seeds, 95 % t CI",
                   extra={"not_reached": int(sum(v is None for v in per_seed.values()))})
    if c.n < MIN_SEEDS:
        return replace(c, note=f"fewer than {MIN_SEEDS} seeds")
    lo, hi = c.ci
    if hi <= budget + 1e-12:
        return replace(c, verdict=HOLDS)
    if lo > budget + 1e-12:
        return replace(c, verdict=FAILS)
    return c


def all_of(parts: list[Comparison]) -> str:
    """Verdict of a compound claim: HOLDS if every part holds, FAILS if any fails."""
    if any(p.verdict == FAILS for p in parts):
        return FAILS
    if parts and all(p.verdict == HOLDS for p in parts):
        return HOLDS
    return INCONCLUSIVE
