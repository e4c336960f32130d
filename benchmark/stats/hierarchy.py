"""Inference with the dataset realisation as the unit.

A contrast (e.g. the low-budget AULC of Top-10 minus Random, paired within a realisation and
an AL seed) is measured once per (library, realisation, seed). The estimand is its expected
value over datasets drawn from the generator (and over built-in libraries when there are
several). Pure functions over arrays; the model is statsmodels', the exact test is written
here (it is a few lines).

Primary analysis (:func:`mixed_effect`): a linear mixed model fitted by REML with random
intercepts for the realisation (and for the library, realisation nested in it, when the
design has more than one library); AL seeds are the residual level. Its interval is a t
interval on ``n_top - 1`` degrees of freedom, ``n_top`` the number of top-level units
(libraries when there are several, else realisations), with a standard error never below
that of the top-level means: for a balanced design that is the exact analysis of the
top-level means, and it never pretends that seeds replicate datasets (with few
realisations REML often sets the between-realisation variance to 0, which would).

Confirming test (:func:`sign_flip`): the exact sign-flip (randomisation) test over
realisation means; with ``n`` realisations its one-sided p cannot go below ``2**-n``.

Power (:func:`power_at`, :func:`needed_realisations`): from the measured variance
components, the power of the one-sided t-test at the SESOI for a design of ``n``
realisations x ``m`` seeds, and the smallest ``n`` with 80 % power.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """The mixed model's estimate of a contrast (units of the contrast)."""

    effect: float
    se: float
    df: int
    ci: tuple[float, float]
    sd_library: float
    sd_realisation: float
    sd_seed: float
    icc: float  # share of the non-library variance that lies between realisations
    n_libraries: int
    n_realisations: int
    n_seeds: int  # fewest seeds of any realisation
    method: str

    def p_greater(self, shift: float = 0.0) -> float:
        """One-sided p of H1: effect > shift (t on :attr:`df`)."""
        from scipy import stats

        if not self.se > 0:
            return 0.0 if self.effect > shift else 1.0
        return float(stats.t.sf((self.effect - shift) / self.se, self.df))

    def p_less(self, shift: float = 0.0) -> float:
        """One-sided p of H1: effect < shift."""
        from scipy import stats

        if not self.se > 0:
            return 0.0 if self.effect < shift else 1.0
        return float(stats.t.cdf((self.effect - shift) / self.se, self.df))


def realisation_means(values, realisation, library=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean of ``values`` per realisation, the library of each), realisations sorted."""
    values = np.asarray(values, float)
    real = np.asarray(realisation).astype(str)
    lib = np.zeros(len(real), dtype=str) if library is None else np.asarray(library).astype(str)
    keys = sorted(set(zip(lib, real)))
    means = np.array([values[(lib == a) & (real == b)].mean() for a, b in keys])
    return means, np.array([a for a, _ in keys])


def _moments(values, real, lib) -> tuple[float, float, float]:
    """Variance components (library, realisation, seed) by the method of moments on the
    nested design (unbalanced-safe averages), each clipped at 0."""
    seed_var, real_means, real_libs, sizes = [], [], [], []
    for key in sorted(set(zip(lib, real))):
        x = values[(lib == key[0]) & (real == key[1])]
        if len(x) > 1:
            seed_var.append(x.var(ddof=1))
        real_means.append(x.mean())
        real_libs.append(key[0])
        sizes.append(len(x))
    s2_seed = float(np.mean(seed_var)) if seed_var else 0.0
    real_means, real_libs = np.array(real_means), np.array(real_libs)
    m = float(np.mean(sizes))
    within_lib = [real_means[real_libs == g] for g in sorted(set(real_libs))]
    dev = np.concatenate([w - w.mean() for w in within_lib])
    dof = len(real_means) - len(within_lib)
    s2_real = max(0.0, float(dev @ dev) / dof - s2_seed / m) if dof > 0 else 0.0
    s2_lib = 0.0
    if len(within_lib) > 1:
        lib_means = np.array([w.mean() for w in within_lib])
        per = float(np.mean([len(w) for w in within_lib]))
        s2_lib = max(0.0, float(lib_means.var(ddof=1)) - s2_real / per - s2_seed / (per * m))
    return s2_lib, s2_real, s2_seed


def mixed_effect(values, realisation, library=None, level: float = 0.95) -> Estimate:
    """The primary analysis of a contrast measured per (library, realisation, seed).

    Parameters
    ----------
    values : array [n]
        The contrast of each run pair (e.g. AULC difference, IoU units).
    realisation : array [n]
        Realisation (dataset) id of each value.
    library : array [n], optional
        Library id of each value (realisations are nested in libraries).

    Returns
    -------
    Estimate
        REML estimate of the mean with its t interval on ``n_top - 1`` df, and the variance
        components as SDs. Falls back to the method of moments (stated in ``method``) when
        the model cannot be fitted (e.g. every value equal).
    """
    from scipy import stats

    values = np.asarray(values, float)
    real = np.asarray(realisation).astype(str)
    lib = np.zeros(len(real), dtype=str) if library is None else np.asarray(library).astype(str)
    n_lib, n_real = len(set(lib)), len(set(zip(lib, real)))
    n_seeds = min(np.sum((lib == a) & (real == b)) for a, b in set(zip(lib, real)))
    means, mlibs = realisation_means(values, real, lib)
    n_top = n_lib if n_lib > 1 else n_real
    df = max(1, n_top - 1)
    s2_lib, s2_real, s2_seed = _moments(values, real, lib)
    effect, method = float(values.mean()), "method of moments"
    se = _moments_se(means, mlibs, n_lib)
    # REML needs variation within realisations: with none its likelihood is unbounded as
    # the seed variance goes to 0 and "the best fit" is a degenerate one
    within = s2_seed > 1e-12 * max(float(values.var()), 1e-300)
    fit = _reml(values, real, lib) if n_real >= 2 and np.ptp(values) > 0 and within else None
    if fit is not None:
        effect, se_reml, (s2_lib, s2_real, s2_seed), optimiser = fit
        # never below the SE of the top-level means: with few realisations REML can put the
        # between-realisation variance at 0 and treat seeds as independent datasets
        se = max(se_reml, se) if math.isfinite(se) else se_reml
        method = (f"linear mixed model (REML variance components, statsmodels {optimiser}; "
                  "GLS mean); SE >= that of the unit means")
    half = float(stats.t.ppf(0.5 + level / 2, df) * se) if se > 0 else 0.0
    tot = s2_real + s2_seed
    return Estimate(effect=effect, se=se, df=df, ci=(effect - half, effect + half),
                    sd_library=math.sqrt(s2_lib), sd_realisation=math.sqrt(s2_real),
                    sd_seed=math.sqrt(s2_seed), icc=s2_real / tot if tot > 0 else math.nan,
                    n_libraries=n_lib, n_realisations=n_real, n_seeds=int(n_seeds),
                    method=method)


def _moments_se(means: np.ndarray, libs: np.ndarray, n_lib: int) -> float:
    """SE of the grand mean from the top-level means (libraries, else realisations)."""
    top = (np.array([means[libs == g].mean() for g in sorted(set(libs))]) if n_lib > 1
           else means)
    return float(top.std(ddof=1) / math.sqrt(len(top))) if len(top) > 1 else math.nan


def _reml(values, real, lib):
    """(effect, se, (var_lib, var_real, var_seed), optimiser) of statsmodels' MixedLM, or
    None."""
    import pandas as pd
    import statsmodels.formula.api as smf

    df = pd.DataFrame({"y": values, "real": [f"{a}/{b}" for a, b in zip(lib, real)],
                       "lib": lib})
    nested = len(set(lib)) > 1
    if nested:
        model = smf.mixedlm("y ~ 1", df, groups="lib", re_formula="1",
                            vc_formula={"real": "0 + C(real)"})
    else:
        model = smf.mixedlm("y ~ 1", df, groups="real")
    best = _best_reml_fit(model)
    if best is None:
        return None
    res, optimiser = best
    s2_group = float(np.asarray(res.cov_re)[0, 0])
    s2_seed = float(res.scale)
    if nested:
        s2_lib, s2_real = s2_group, float(np.asarray(res.vcomp)[0])
    else:
        s2_lib, s2_real = 0.0, s2_group
    comps = (max(s2_lib, 0.0), max(s2_real, 0.0), max(s2_seed, 0.0))
    # the mean and its SE by generalised least squares under the REML variance components:
    # statsmodels can report a converged fit whose intercept is not that (measured: exactly
    # 0.0 with the realisation variance on its boundary, where the mean was 0.00075)
    gls = gls_mean(values, real, lib, comps)
    return (gls[0], gls[1], comps, optimiser) if gls is not None else None


def _best_reml_fit(model):
    """(fit, optimiser name) with the highest REML log-likelihood over three optimisers,
    converged fits first; ``None`` when none succeeds.

    One optimiser is not enough: L-BFGS has been measured stopping on the boundary
    (realisation variance 0, "converged") where Powell and Nelder-Mead found the interior
    optimum of a higher likelihood, and raising (singular matrix) on most of the study's
    contrasts."""
    best = None
    for method in ("lbfgs", "powell", "nm"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = model.fit(reml=True, method=method)
                llf = float(res.llf)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
            continue
        rank = (bool(getattr(res, "converged", False)), llf)
        if math.isfinite(llf) and (best is None or rank > best[0]):
            best = (rank, res, method)
    return None if best is None else (best[1], best[2])


def gls_mean(values, real, lib, comps: tuple[float, float, float]
             ) -> tuple[float, float] | None:
    """(mean, SE) of ``values`` by generalised least squares under the variance components
    ``comps`` = (library, realisation, seed) of the nested random-intercept model; ``None``
    when the covariance is singular (every component 0)."""
    values = np.asarray(values, float)
    lib, real = np.asarray(lib).astype(str), np.asarray(real).astype(str)
    s2_lib, s2_real, s2_seed = comps
    same_lib = lib[:, None] == lib[None, :]
    same_real = same_lib & (real[:, None] == real[None, :])
    cov = s2_lib * same_lib + s2_real * same_real + s2_seed * np.eye(len(values))
    try:
        w = np.linalg.solve(cov, np.ones(len(values)))
    except np.linalg.LinAlgError:
        return None
    total = float(w.sum())
    if not (math.isfinite(total) and total > 0):
        return None
    return float(w @ values / total), math.sqrt(1.0 / total)


def sign_flip(means, shift: float = 0.0, alternative: str = "greater") -> float:
    """Exact one-sided sign-flip p of the mean of ``means - shift`` (all 2^n sign patterns;
    above 16 units, 65 536 random patterns from a fixed seed)."""
    x = np.asarray(means, float) - shift
    n = len(x)
    if n == 0:
        return math.nan
    obs = x.mean()
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        rng = np.random.default_rng(0)
        signs = rng.choice((1.0, -1.0), size=(65536, n))
        signs[0] = 1.0
    stats_ = signs @ x / n
    tol = 1e-12 * max(1.0, abs(obs))
    if alternative == "greater":
        return float(np.mean(stats_ >= obs - tol))
    return float(np.mean(stats_ <= obs + tol))


def power_at(sesoi: float, n_real: int, n_seeds: int, sd_real: float, sd_seed: float,
             sd_lib: float = 0.0, n_lib: int = 1, alpha: float = 0.05,
             kind: str = "superiority") -> float:
    """Power of the one-sided t-test (or of TOST at a true difference of 0, ``kind=
    "equivalence"``) at the SESOI for ``n_lib`` libraries x ``n_real`` realisations (in
    all) x ``n_seeds`` seeds, from the variance components (SDs)."""
    from scipy import stats

    if n_real < 2:
        return math.nan
    var = sd_lib ** 2 / n_lib + sd_real ** 2 / n_real + sd_seed ** 2 / (n_real * n_seeds)
    if not var > 0:
        return 1.0
    se = math.sqrt(var)
    df = max(1, (n_lib if n_lib > 1 else n_real) - 1)
    crit = stats.t.ppf(1 - alpha, df)
    if kind == "equivalence":
        return max(0.0, 2 * float(stats.t.cdf(sesoi / se - crit, df)) - 1)
    return float(stats.nct.sf(crit, df, sesoi / se))


def needed_realisations(sesoi: float, n_seeds: int, sd_real: float, sd_seed: float, *,
                        alpha: float = 0.05, power: float = 0.8,
                        kind: str = "superiority", most: int = 1000) -> int | None:
    """Fewest realisations (one library, ``n_seeds`` each) with ``power`` at the SESOI
    (None: more than ``most``)."""
    for n in range(2, most + 1):
        if power_at(sesoi, n, n_seeds, sd_real, sd_seed, alpha=alpha, kind=kind) >= power:
            return n
    return None


def file_bootstrap(units: list[dict], fractions: np.ndarray, low_budget: tuple[float, float],
                   *, n_boot: int = 2000, level: float = 0.95, random_state: int = 0
                   ) -> tuple[float, tuple[float, float]]:
    """Hierarchical bootstrap of an AULC contrast A − B that also resamples test files:
    library → realisation → AL seed → test file (each level with replacement, within the
    level above; one test-file resample per realisation, shared by both strategies and every
    seed, so the contrast stays paired).

    Parameters
    ----------
    units : list of dict
        One per realisation: ``{"library": str, "a": {seed: iu}, "b": {seed: iu}}``, ``iu``
        the run's per-iteration per-test-file intersections and unions, [n_iterations,
        n_files, n_classes, 2] (segments; :func:`sedal.benchmark.al.metrics.decode_test_iu`).
    fractions : array
        Labelled fraction of each iteration (the same grid for every run).
    low_budget : (lo, hi)
        The AULC's budget range.

    Returns
    -------
    (estimate, (lo, hi))
        The contrast on the data as they are (mean over libraries of the mean over
        realisations of the mean over seeds) and the percentile interval.
    """
    from sedal.benchmark.stats.results import aulc

    f = np.asarray(fractions, float)

    def curve(iu: np.ndarray, w: np.ndarray) -> np.ndarray:
        s = np.tensordot(w, iu, axes=([0], [1]))  # [n_iter, n_classes, 2]
        inter, union = s[..., 0].sum(axis=1), s[..., 1].sum(axis=1)
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)

    def unit_value(u: dict, w: np.ndarray, seeds: list) -> float:
        return float(np.mean([aulc(f, curve(u["a"][s], w), *low_budget)
                              - aulc(f, curve(u["b"][s], w), *low_budget) for s in seeds]))

    units = [u for u in units if set(u["a"]) & set(u["b"])]
    if not units:
        return math.nan, (math.nan, math.nan)
    libs = sorted({u["library"] for u in units})
    by_lib = [[u for u in units if u["library"] == lib] for lib in libs]
    paired = {id(u): sorted(set(u["a"]) & set(u["b"])) for u in units}
    n_files = {id(u): next(iter(u["a"].values())).shape[1] for u in units}

    def estimate(pick_unit, pick_files, pick_seeds) -> float:
        top = []
        for group in pick_unit():
            vals = [unit_value(u, pick_files(u), pick_seeds(u, paired[id(u)])) for u in group]
            top.append(np.mean(vals))
        return float(np.mean(top))

    point = estimate(lambda: by_lib, lambda u: np.ones(n_files[id(u)]), lambda u, s: s)
    rng = np.random.default_rng(random_state)
    reps = []
    for _ in range(n_boot):
        chosen_libs = [by_lib[i] for i in rng.integers(0, len(by_lib), len(by_lib))]
        picked = [[g[i] for i in rng.integers(0, len(g), len(g))] for g in chosen_libs]
        reps.append(estimate(
            lambda picked=picked: picked,
            lambda u: np.bincount(rng.integers(0, n_files[id(u)], n_files[id(u)]),
                                  minlength=n_files[id(u)]).astype(float),
            lambda u, s: [s[i] for i in rng.integers(0, len(s), len(s))]))
    alpha = (1 - level) / 2
    return point, (float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha)))
