"""The realisation-level inference: the mixed model's intervals cover on simulated studies
of the designs the benchmark uses, the exact sign-flip test, FRAGILE verdicts, power."""

import numpy as np
import pytest

from sedal.benchmark.stats import hierarchy as H
from sedal.benchmark.stats.family import FRAGILE, decide, measure_part
from sedal.benchmark.stats.prereg import load


def _simulate(rng, n_lib, n_real, n_seed, effect, sd_lib, sd_real, sd_seed):
    vals, reals, libs = [], [], []
    for lib in range(n_lib):
        u = rng.normal(0, sd_lib)
        for r in range(n_real):
            v = rng.normal(0, sd_real)
            for _ in range(n_seed):
                vals.append(effect + u + v + rng.normal(0, sd_seed))
                reals.append(f"{lib}-{r}")
                libs.append(f"lib{lib}")
    return np.array(vals), np.array(reals), np.array(libs)


# the main job's design (1 library x 5 realisations x 3 seeds) and the confirmatory study's
# (3 libraries x 4 realisations x 3 seeds)
@pytest.mark.parametrize("design", [(1, 5, 3, 0.0), (3, 4, 3, 0.01)])
def test_mixed_model_recovers_the_effect_and_its_intervals_cover(design):
    n_lib, n_real, n_seed, sd_lib = design
    rng = np.random.default_rng(7)
    truth, hits, est = 0.03, 0, []
    for _ in range(200):
        v, r, lib = _simulate(rng, n_lib, n_real, n_seed, truth, sd_lib, 0.02, 0.03)
        e = H.mixed_effect(v, r, lib if n_lib > 1 else None)
        hits += e.ci[0] <= truth <= e.ci[1]
        est.append(e.effect)
    assert hits / 200 >= 0.90
    assert abs(np.mean(est) - truth) < 0.005


def test_balanced_designs_estimate_the_grand_mean_and_the_interior_reml_optimum():
    # measured on real-sources results (2 realisations x 5 seeds): statsmodels' L-BFGS fit
    # stopped on the boundary and reported an intercept of exactly 0.0 where the mean is
    # +0.00075; the primary analysis must give the GLS mean under the best REML fit
    v = np.array([-0.03158088, -0.00740216, 0.01421711, 0.01475019, -0.06476311,
                  0.05873821, 0.03529681, -0.03030897, -0.00077192, 0.01928414])
    r = np.repeat(["a", "b"], 5)
    e = H.mixed_effect(v, r)
    assert e.effect == pytest.approx(v.mean(), abs=1e-12)
    assert e.sd_realisation == pytest.approx(0.0162, abs=0.001)  # the moments value, > 0
    rng = np.random.default_rng(11)
    for design in [(1, 5, 3), (3, 4, 3), (1, 2, 5)]:
        for _ in range(20):
            v, r, lib = _simulate(rng, *design, 0.01, 0.01, 0.02, 0.03)
            e = H.mixed_effect(v, r, lib if design[0] > 1 else None)
            assert e.effect == pytest.approx(v.mean(), abs=1e-9)


def test_values_constant_within_realisations_use_the_moments_not_a_degenerate_reml_fit():
    # no seed variation: REML's likelihood is unbounded as the seed variance goes to 0 (a
    # review measured sd_realisation 0.0055 from such a fit where the means' spread is 0.0143)
    means = np.array([0.01, 0.02, -0.005, 0.03, 0.0])
    v, r = np.repeat(means, 3), np.repeat(list("abcde"), 3)
    e = H.mixed_effect(v, r)
    assert e.method == "method of moments"
    assert e.effect == pytest.approx(means.mean())
    assert e.sd_realisation == pytest.approx(means.std(ddof=1))
    assert e.se == pytest.approx(means.std(ddof=1) / np.sqrt(5))


def test_the_method_names_the_optimiser_that_won():
    rng = np.random.default_rng(5)
    v, r, _ = _simulate(rng, 1, 5, 3, 0.02, 0.0, 0.02, 0.03)
    e = H.mixed_effect(v, r)
    assert e.method.startswith("linear mixed model (REML variance components, statsmodels ")
    assert any(f"statsmodels {m};" in e.method for m in ("lbfgs", "powell", "nm"))


def test_gls_mean_weights_realisations_by_their_precision():
    # unbalanced: realisation "a" has 4 seeds, "b" one; with no seed noise each realisation
    # counts once (mean of the means), with no realisation variance each value counts once
    v, r, lib = np.array([1.0, 1.0, 1.0, 1.0, 3.0]), np.array(list("aaaab")), np.zeros(5, str)
    assert H.gls_mean(v, r, lib, (0.0, 1.0, 1e-12))[0] == pytest.approx(2.0)
    assert H.gls_mean(v, r, lib, (0.0, 0.0, 1.0))[0] == pytest.approx(1.4)
    assert H.gls_mean(v, r, lib, (0.0, 0.0, 0.0)) is None


def test_mixed_model_reports_the_variance_components():
    rng = np.random.default_rng(3)
    v, r, _ = _simulate(rng, 1, 40, 5, 0.0, 0.0, 0.05, 0.01)
    e = H.mixed_effect(v, r)
    assert e.n_realisations == 40 and e.n_seeds == 5 and e.df == 39
    assert 0.03 < e.sd_realisation < 0.07 and 0.005 < e.sd_seed < 0.015 and e.icc > 0.8


def test_sign_flip_is_exact_and_cannot_go_below_two_to_the_minus_n():
    assert H.sign_flip([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(1 / 32)
    assert H.sign_flip([0.1, -0.2, 0.3]) == pytest.approx(3 / 8)
    assert H.sign_flip([-0.1, -0.2, -0.3], alternative="less") == pytest.approx(1 / 8)


def test_a_tight_effect_on_three_realisations_is_fragile_not_holds():
    pre = load()
    reals = np.repeat(["a", "b", "c"], 3)
    values = 0.05 + np.tile([0.0, 0.001, -0.001], 3) + np.repeat([0.0, 0.001, 0.002], 3)
    part = measure_part("x", "superiority", (values, reals, np.zeros(9, str)), pre, 0.02)
    assert part.p < 0.05 and part.confirm_p == pytest.approx(1 / 8)
    assert decide(part.p, part.confirm_p, False, 0.05) == FRAGILE
    assert decide(0.001, 0.001, False, 0.05) == "HOLDS"
    assert decide(0.2, 0.01, False, 0.05) == FRAGILE
    assert decide(0.001, 0.001, True, 0.05) == "FAILS"


def test_power_grows_with_realisations_and_needed_n_reaches_80_percent():
    p5 = H.power_at(0.02, 5, 3, 0.02, 0.03)
    p20 = H.power_at(0.02, 20, 3, 0.02, 0.03)
    assert 0 < p5 < p20 <= 1
    n = H.needed_realisations(0.02, 3, 0.02, 0.03)
    assert H.power_at(0.02, n, 3, 0.02, 0.03) >= 0.8 > H.power_at(0.02, n - 1, 3, 0.02, 0.03)


def test_a_bounded_effect_gets_its_interval_cut_to_the_range_and_keeps_its_tests():
    pre = load()
    reals = np.repeat(["a", "b", "c"], 3)
    stay = np.repeat([0.02, 0.05, 0.6], 3) + np.tile([0.0, 0.01, 0.02], 3)  # in [0, 1]
    values = 0.08 - stay
    free = measure_part("x", "superiority", (values, reals, np.zeros(9, str)), pre, 0.0)
    cut = measure_part("x", "superiority", (values, reals, np.zeros(9, str)), pre, 0.0,
                       bounds=(0.08 - 1.0, 0.08))
    assert free.ci[1] > 0.08  # three realisations: the t interval leaves the range
    assert cut.ci == (max(free.ci[0], -0.92), 0.08)
    assert (cut.p, cut.confirm_p, cut.effect) == (free.p, free.confirm_p, free.effect)
