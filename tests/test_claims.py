"""Known answers for the claims code: synthetic per-seed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sedal.benchmark.stats import claims as C


def _seeds(values) -> dict[int, float]:
    return {i: float(v) for i, v in enumerate(values)}


def _pair(n: int, diff: float, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = 0.7 + 0.05 * rng.standard_normal(n)
    return _seeds(base + diff + noise * rng.standard_normal(n)), _seeds(base)


def test_a_truly_beats_b_holds():
    a, b = _pair(10, 0.05, 0.01)
    c = C.superiority(a, b)
    assert c.verdict == C.HOLDS and c.effect == pytest.approx(0.05, abs=0.01)
    assert c.ci[0] > 0 and c.p < 0.001


def test_equal_strategies_fail_superiority_and_hold_equivalence():
    a, b = _pair(10, 0.0, 0.002)
    assert C.superiority(a, b).verdict == C.FAILS  # A - B < margin is shown
    assert C.equivalence(a, b).verdict == C.HOLDS
    assert C.non_superiority(a, b).verdict == C.HOLDS


def test_too_few_seeds_is_inconclusive_whatever_the_effect():
    for diff in (0.0, 0.2):
        a, b = _pair(3, diff, 0.001)
        for fn in (C.superiority, C.equivalence, C.non_superiority):
            assert fn(a, b).verdict == C.INCONCLUSIVE


def test_noisy_small_effect_is_inconclusive():
    a, b = _pair(5, 0.008, 0.03, seed=3)
    assert C.superiority(a, b).verdict == C.INCONCLUSIVE
    assert C.equivalence(a, b).verdict == C.INCONCLUSIVE


def test_clearly_different_is_not_equivalent_and_beats():
    a, b = _pair(8, 0.1, 0.005)
    assert C.equivalence(a, b).verdict == C.FAILS
    assert C.non_superiority(a, b).verdict == C.FAILS


def test_only_shared_seeds_are_paired():
    a = {0: 1.0, 1: 2.0, 2: 3.0}
    b = {1: 1.0, 2: 1.0, 7: 5.0}
    assert C.paired_differences(a, b).tolist() == [1.0, 2.0]


def test_holm_known_values():
    adj = C.holm([0.01, 0.04, 0.03, math.nan])
    assert adj[:3] == pytest.approx([0.03, 0.06, 0.06]) and math.isnan(adj[3])
    assert C.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_holm_adjustment_can_turn_holds_into_inconclusive():
    b = _seeds([0.70, 0.72, 0.69, 0.71, 0.73, 0.70])
    a = {s: v + d for (s, v), d in zip(b.items(), [0.02, 0.01, 0.03, 0.015, 0.025, 0.005])}
    c = C.superiority(a, b)
    assert c.verdict == C.HOLDS and 0.05 / 21 < c.p < 0.05
    many = C.adjust_superiority([c] + [C.superiority(*_pair(6, 0.0, 0.02, seed=s))
                                       for s in range(20, 40)])
    assert many[0].p_adj > c.p and many[0].verdict != C.HOLDS


def test_minimum_detectable_effect_has_the_stated_power():
    sd, n = 0.02, 10
    mde = C.min_detectable_effect(sd, n)
    crit = stats.t.ppf(0.95, n - 1)
    power = stats.nct.sf(crit, n - 1, mde * math.sqrt(n) / sd)
    assert power == pytest.approx(0.8, abs=1e-6)
    assert C.min_detectable_effect(sd, 40) < mde  # more seeds detect smaller effects


def test_bigger_gain():
    rng = np.random.default_rng(1)
    big = _seeds(0.3 + 0.02 * rng.standard_normal(8))
    small = _seeds(0.1 + 0.02 * rng.standard_normal(8))
    assert C.bigger_gain(big, small).verdict == C.HOLDS
    assert C.bigger_gain(small, big).verdict == C.FAILS
    assert C.bigger_gain(_seeds([0.3, 0.2]), _seeds([0.1, 0.0])).verdict == C.INCONCLUSIVE


def test_relative_gain():
    assert C.relative_gain({0: 0.6, 1: 0.9}, {0: 0.5, 1: 0.9, 2: 1.0}) == \
        pytest.approx({0: 0.2, 1: 0.0})


def test_stay_fraction_needs_the_curve_to_stay():
    f = [0.01, 0.02, 0.04, 0.08, 0.16]
    assert C.stay_fraction(f, [0.1, 0.8, 0.7, 0.8, 0.8], 0.75) == 0.08  # touched, dropped back
    assert C.stay_fraction(f, [0.8] * 5, 0.75) == 0.01
    assert C.stay_fraction(f, [0.8, 0.8, 0.8, 0.8, 0.7], 0.75) is None


def test_reaches_by():
    assert C.reaches_by(_seeds([0.04, 0.05, 0.04, 0.06, 0.05]), 0.08).verdict == C.HOLDS
    assert C.reaches_by(_seeds([0.2, 0.25, 0.3, 0.2, 0.25]), 0.08).verdict == C.FAILS
    never = C.reaches_by({0: 0.04, 1: None, 2: 0.05, 3: 0.04, 4: 0.05}, 0.08)
    assert never.verdict == C.INCONCLUSIVE and never.extra["not_reached"] == 1
    assert C.reaches_by(_seeds([0.04, 0.05]), 0.08).verdict == C.INCONCLUSIVE


def test_compound_claims():
    h = C.Comparison("superiority", C.HOLDS, 5)
    f = C.Comparison("superiority", C.FAILS, 5)
    i = C.Comparison("superiority", C.INCONCLUSIVE, 5)
    assert C.all_of([h, h]) == C.HOLDS
    assert C.all_of([h, i]) == C.INCONCLUSIVE
    assert C.all_of([h, i, f]) == C.FAILS


def test_intervals_never_leave_the_quantitys_range():
    import numpy as np

    from sedal.benchmark.stats import claims as C

    two_seeds = np.array([0.05, 1.0])  # stay fractions of two seeds: the t interval is huge
    lo, hi = C.t_ci(two_seeds)
    assert lo < 0 and hi > 1
    assert C.t_ci(two_seeds, bounds=C.UNIT_RANGE) == (0.0, 1.0)
    reach = C.reaches_by({0: 0.05, 1: None}, 0.08)
    assert 0.0 <= reach.ci[0] <= reach.ci[1] <= 1.0
    diff = C.superiority({0: 0.9, 1: 0.1}, {0: 0.0, 1: 0.95})
    assert -1.0 <= diff.ci[0] <= diff.ci[1] <= 1.0
    # a well-determined interval is untouched
    x = np.linspace(0.4, 0.6, 20)
    assert C.t_ci(x, bounds=C.UNIT_RANGE) == C.t_ci(x)
