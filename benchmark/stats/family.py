"""The pre-registered claim family (a)-(j) (``benchmark/claims.toml``) decided on dataset
realisations: HOLDS, FAILS, INCONCLUSIVE or FRAGILE, each with its primary analysis (the
mixed model of :mod:`sedal.benchmark.stats.hierarchy`), its confirming test (the exact
sign-flip over realisation means, or a permutation test for two sets of realisations) and a
power statement.

Rules. A part is decided at alpha after Holm over the claims of one world (the claim's
p is the largest p of its parts: an intersection-union test): both tests reject -> HOLDS;
one of them -> FRAGILE; the data show the opposite (superiority: the effect is below the
SESOI; equivalence: the CI lies outside the margin) -> FAILS, a test of the opposite
conclusion at alpha in both analyses, *not* adjusted for multiplicity (as pre-registered);
else INCONCLUSIVE. A claim
FAILS when a part fails, HOLDS when every part holds, is FRAGILE when every part rejects in
the primary analysis but some part not in the confirming test, else INCONCLUSIVE.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from sedal.benchmark.stats import hierarchy as H
from sedal.benchmark.stats.claims import FAILS, HOLDS, INCONCLUSIVE, holm, stay_fraction  # noqa: F401
from sedal.benchmark.stats.prereg import Preregistration
from sedal.benchmark.stats.results import Group, Results, aulc

FRAGILE = "FRAGILE"
TOP10, RANDOM, MEAN, MEDIAN, MEAN_EVENT = ("top_k(K=10)", "random", "mean", "median",
                                           "mean_event")
K_SWEEP = (1, 3, 5, 10, 20, 50)
DIVERSIFY = ("farthest", "random_selection")


def world_of(library: str) -> str:
    """The world a library build belongs to (its name without the build seed)."""
    return library.rsplit("-seed", 1)[0]


@dataclass
class Part:
    """One test inside a claim."""

    name: str
    kind: str  # superiority, non-superiority, equivalence, two-sample
    effect: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    p: float = math.nan
    confirm_p: float = math.nan
    fails_p: float = math.nan  # p of the opposite conclusion (see the module docstring)
    n_realisations: int = 0
    n_seeds: int = 0
    sd_realisation: float = math.nan
    sd_seed: float = math.nan
    sd_library: float = math.nan
    icc: float = math.nan
    power: float = math.nan
    needed_n: int | None = None
    method: str = ""
    confirm_test: str = ""


@dataclass
class ClaimResult:
    """One claim's verdict (the fields of claims.json)."""

    id: str
    text: str
    world: str
    cell: str
    verdict: str = INCONCLUSIVE
    effect: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    p: float = math.nan
    p_adj: float = math.nan
    test: str = ""
    confirming_test: str = ""
    confirming_p: float = math.nan
    confirming_p_adj: float = math.nan
    confirming_verdict: str = INCONCLUSIVE
    sesoi: float = math.nan
    n_realisations: int = 0
    n_seeds: int = 0
    power_at_sesoi: float = math.nan
    needed_realisations: int | None = None
    underpowered: bool = True
    claims_sha256: str = ""
    parts: list = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, tuple | list):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v
        return clean(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> ClaimResult:
        """The inverse of :meth:`to_dict` (a claims.json object; ``None`` numbers -> nan,
        parts back to :class:`Part`). Raises ValueError on an object that is not one."""
        try:
            kw = _numbers_back(cls, d)
            kw["parts"] = [Part(**_numbers_back(Part, x)) for x in d.get("parts") or []]
            out = cls(**kw)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"not a claim ({exc})") from None
        if out.verdict not in (HOLDS, FAILS, INCONCLUSIVE, FRAGILE):
            raise ValueError(f"unknown verdict {out.verdict!r}")
        return out


def _numbers_back(kind, d: dict) -> dict:
    """``d``'s fields of the dataclass ``kind``, with ``None`` floats as nan and ``ci`` a
    pair (what :meth:`ClaimResult.to_dict` wrote)."""
    names = {f.name for f in fields(kind)}
    floats = {f.name for f in fields(kind) if f.type in (float, "float")}
    kw = {k: v for k, v in d.items() if k in names}
    for k in floats:
        if kw.get(k) is None and k in kw:
            kw[k] = math.nan
    if "ci" in kw:
        ci = list(kw["ci"] or [None, None])
        if len(ci) != 2:
            raise TypeError(f"ci has {len(ci)} values")
        kw["ci"] = tuple(math.nan if x is None else float(x) for x in ci)
    return kw


# -- measurements per (realisation, seed) ---------------------------------------------------
def cell(res: Results, world: str, snr: float, ratio: float,
         seed_set: str | None = "auto") -> list[Group]:
    """Every realisation (group) of a study cell in ``world``, by library then dataset seed.

    ``seed_set``: keep the groups whose runs drew their seed sets by this rule; ``"auto"``
    keeps the ``random`` ones when there are any, else the one rule present (a results dir of
    one study, e.g. the stratified one), so that runs from other seed-set rules never pool
    as extra seeds of a realisation; ``None`` keeps every group.
    """
    out = [g for g in res.groups if world_of(g.info.get("library", "")) == world
           and g.spec.get("snr_range") is None
           and math.isclose(float(g.spec.get("snr", math.nan)), snr)
           and math.isclose(float(g.spec.get("event_ratio", math.nan)), ratio)]
    if seed_set == "auto":
        present = {g.seed_set for g in out}
        if "random" in present:
            seed_set = "random"
        elif len(present) > 1:
            from sedal.benchmark.errors import BenchmarkError

            raise BenchmarkError(f"cell SNR {snr:g}, r {ratio:g} of {world} mixes seed-set "
                                 f"rules {', '.join(sorted(present))}; report them apart")
        else:
            seed_set = None
    if seed_set is not None:
        out = [g for g in out if g.seed_set == seed_set]
    return sorted(out, key=lambda g: (g.info.get("library", ""), g.spec.get("seed", 0)))


def low_aulc(pre: Preregistration):
    def fn(g: Group, label: str, seed: int) -> float:
        f, y = g.curves[label][seed]
        return aulc(f, y, *pre.low_budget)
    return fn


def iou_at(budget: float):
    def fn(g: Group, label: str, seed: int) -> float:
        f, y = g.curves[label][seed]
        i = int(np.argmin(np.abs(f - budget)))  # the schedule step nearest the budget
        return float(y[i]) if abs(f[i] - budget) <= 0.25 * budget else math.nan
    return fn


def contrast(groups: list[Group], fa, fb=None, *, a: str, b: str | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, realisation ids, library ids) of ``fa(a) - fb(b)`` over every realisation
    and the AL seeds both labels ran (paired seed sets); ``b=None``: ``fa(a)`` alone."""
    vals, reals, libs = [], [], []
    for g in groups:
        if a not in g.curves or (b is not None and b not in g.curves):
            continue
        seeds = set(g.curves[a]) & (set(g.curves[b]) if b is not None else set(g.curves[a]))
        for s in sorted(seeds):
            v = fa(g, a, s) - ((fb or fa)(g, b, s) if b is not None else 0.0)
            if math.isfinite(v):
                vals.append(v)
                reals.append(g.info["manifest_sha256"][:12])
                libs.append(g.info.get("library", ""))
    return np.array(vals), np.array(reals), np.array(libs)


# -- tests --------------------------------------------------------------------------------
def measure_part(name: str, kind: str, data, pre: Preregistration, margin: float,
              power_effect: float | None = None,
              bounds: tuple[float, float] | None = None) -> Part:
    """Decide-ready statistics of one part from per-(realisation, seed) ``data``; power is
    computed at ``power_effect`` (default: ``margin``, or the SESOI when that is 0).
    ``bounds``: the range the effect cannot leave; the interval is intersected with it (as
    :func:`sedal.benchmark.stats.claims.t_ci` does), which keeps its coverage and only
    changes what is shown: the tests use the unbounded fit.

    FAILS needs both analyses too: ``fails_p`` is the larger of the primary and the
    confirming p of the opposite conclusion."""
    values, reals, libs = data
    part = Part(name, kind)
    if len(values) == 0 or len(set(reals)) < 2:
        part.n_realisations = len(set(reals))
        return part
    multi = len(set(libs)) > 1
    est = H.mixed_effect(values, reals, libs if multi else None)
    means, _ = H.realisation_means(values, reals, libs)
    if kind == "superiority":
        p, cp = est.p_greater(0.0), H.sign_flip(means, 0.0, "greater")
        fp = max(est.p_less(margin), H.sign_flip(means, margin, "less"))
        ptype = "superiority"
    elif kind == "non-superiority":
        p, cp = est.p_less(margin), H.sign_flip(means, margin, "less")
        fp = max(est.p_greater(margin), H.sign_flip(means, margin, "greater"))
        ptype = "superiority"
    else:  # equivalence
        p = max(est.p_greater(-margin), est.p_less(margin))
        cp = max(H.sign_flip(means, -margin, "greater"), H.sign_flip(means, margin, "less"))
        fp = 0.0 if (est.ci[0] > margin or est.ci[1] < -margin) else 1.0
        ptype = "equivalence"
    eff = power_effect if power_effect is not None else (margin if margin > 0
                                                         else pre.sesoi_iou)
    power = H.power_at(eff, est.n_realisations,
                       est.n_seeds, est.sd_realisation, est.sd_seed, est.sd_library,
                       est.n_libraries, pre.alpha, ptype)
    need = H.needed_realisations(eff, est.n_seeds,
                                 est.sd_realisation, est.sd_seed, alpha=pre.alpha,
                                 power=pre.power, kind=ptype)
    ci = est.ci if bounds is None else (max(est.ci[0], bounds[0]), min(est.ci[1], bounds[1]))
    return Part(name, kind, est.effect, ci, p, cp, fp, est.n_realisations, est.n_seeds,
                est.sd_realisation, est.sd_seed, est.sd_library, est.icc, power, need,
                est.method, "exact sign-flip over realisation means")


def two_sample_part(name: str, x: np.ndarray, y: np.ndarray, pre: Preregistration) -> Part:
    """"mean(x) > mean(y)" for two independent sets of realisation-level values: one-sided
    Welch t-test (primary) and an exact permutation test of the difference of means."""
    import itertools

    from scipy import stats

    part = Part(name, "two-sample", n_realisations=min(len(x), len(y)), n_seeds=1,
                method="one-sided Welch t-test on realisation values",
                confirm_test="exact permutation test of the difference of means")
    if len(x) < 2 or len(y) < 2:
        return part
    t = stats.ttest_ind(x, y, equal_var=False, alternative="greater")
    ci = t.confidence_interval(0.95) if hasattr(t, "confidence_interval") else None
    allv = np.concatenate([x, y])
    obs = x.mean() - y.mean()
    diffs = [allv[list(c)].mean() - np.delete(allv, list(c)).mean()
             for c in itertools.combinations(range(len(allv)), len(x))]
    part.effect = float(obs)
    part.p = float(t.pvalue)
    part.confirm_p = float(np.mean(np.array(diffs) >= obs - 1e-12))
    lo = stats.ttest_ind(x, y, equal_var=False, alternative="two-sided").confidence_interval()
    part.ci = (float(lo.low), float(lo.high)) if ci is not None else (math.nan, math.nan)
    part.fails_p = float(stats.ttest_ind(x - pre.sesoi_relative_gain, y, equal_var=False,
                                         alternative="less").pvalue)
    sd = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    part.sd_realisation = sd
    part.power = H.power_at(pre.sesoi_relative_gain, len(x), 1, sd * math.sqrt(2), 0.0,
                            alpha=pre.alpha)
    part.needed_n = H.needed_realisations(pre.sesoi_relative_gain, 1, sd * math.sqrt(2), 0.0,
                                          alpha=pre.alpha, power=pre.power)
    return part


def decide(p_adj: float, cp_adj: float, fails: bool, alpha: float) -> str:
    """The verdict of a part or claim from its adjusted p-values (see the module)."""
    if fails:
        return FAILS
    a, b = p_adj < alpha, cp_adj < alpha
    if a and b:
        return HOLDS
    if a or b:
        return FRAGILE
    return INCONCLUSIVE
