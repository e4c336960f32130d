"""The strategy leaderboard and the pre-registered family "Top-10 beats each new strategy"
(sedal.benchmark.stats.leaderboard), on hand-made realisations with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.stats import family as F
from sedal.benchmark.stats import leaderboard as L
from sedal.benchmark.stats import prereg
from sedal.benchmark.stats.results import Group, MergedStores

FR = np.array([0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10])
BASE = np.linspace(0.10, 0.40, len(FR))
WORLD = "builtin-field-v6"


def _rows(strategy, label, seed, y, *, seed_set="random", diversify="none", fr=FR):
    return [{"iteration": i, "fraction": float(f), "total_iou": float(v), "label": label,
             "seed": seed, "strategy": strategy, "diversify": diversify, "seed_set": seed_set,
             "labelled_seconds": 20000 * f * 10, "labelled_events": int(400 * f),
             "n_labelled": int(2000 * f)} for i, (f, v) in enumerate(zip(fr, y))]


def _group(ds, oracle, curves, *, seed_set="random", ref=0.40):
    g = Group({"spec": {"n_files": 2500, "snr": 0.0, "event_ratio": 0.2, "seed": ds},
               "library": "builtin-field-v6-seed0", "name": f"d{ds}",
               "manifest_sha256": f"{ds:02d}" + "0" * 62},
              f"s-{oracle}-{seed_set}", "r" * 20, name=f"d{ds} {oracle} {seed_set}")
    g.reference = {"total_iou": ref}
    g.ceiling = {"total_iou": ref + 0.02}
    suffix = "" if oracle == "perfect" else f"@{oracle}"
    for (strategy, label), ys in curves.items():
        for seed, y in enumerate(ys):
            g.rows[label + suffix][seed] = _rows(strategy, label + suffix, seed, y,
                                                seed_set=seed_set)
            g.curves[label + suffix][seed] = (FR, np.asarray(y))
    return g


def _world(n_real=10, *, gain=0.10, new=("margin_top_k", "coreset")):
    """Top-10 is ``gain`` above ``new[0]`` and equal to ``new[1]`` under both annotators;
    random is well below; a TypiClust Top-10 group sits beside the plain one."""
    rng = np.random.default_rng(1)
    out = []
    for ds in range(n_real):
        shift = rng.normal(0, 0.01)
        for oracle in ("perfect", "noisy"):
            def ys(delta, shift=shift):
                return [BASE + shift + delta + rng.normal(0, 0.002, len(FR)) for _ in range(3)]
            curves = {("top_k", "top_k(K=10)"): ys(0.0), ("random", "random"): ys(-0.08),
                      (new[0], f"{new[0]}(K=10)"): ys(-gain), (new[1], new[1]): ys(0.0)}
            out.append(_group(ds, oracle, curves))
        out.append(_group(ds, "perfect", {("top_k", "top_k(K=10)"): ys(-0.05)},
                          seed_set="typiclust"))
    return out


def test_top10_holds_against_a_clearly_worse_strategy_and_fails_against_an_equal_one():
    groups = _world()
    table, plain = L.collect(groups)
    sp = prereg.load_strategies()
    manifests = L.leaderboard_manifests(table, plain, sp)
    fam = L.strategy_family(table, plain, manifests, prereg.load(), sp, WORLD)
    by = {(r.id, r.world): r for r in fam}
    for world in (WORLD, f"{WORLD} @ noisy"):
        worse, equal = by[("s-margin_top_k", world)], by[("s-coreset", world)]
        assert worse.verdict == "HOLDS" and abs(worse.effect - 0.10) < 0.01
        assert worse.n_realisations == 10 and worse.n_seeds == 3
        assert equal.verdict == "FAILS" and abs(equal.effect) < 0.01
    # every pre-registered strategy is a claim; those that did not run have no data
    assert {r.id for r in fam} == {f"s-{s}" for s in sp.strategies}
    assert all(r.claims_sha256 == sp.sha256 for r in fam)
    missing = by[("s-badge", WORLD)]
    assert missing.verdict == "INCONCLUSIVE" and "lacks data" in missing.note


def test_three_realisations_can_never_hold_whatever_the_effect():
    groups = _world(3)
    table, plain = L.collect(groups)
    sp = prereg.load_strategies()
    fam = L.strategy_family(table, plain, L.leaderboard_manifests(table, plain, sp),
                            prereg.load(), sp, WORLD)
    worse = next(r for r in fam if r.id == "s-margin_top_k" and r.world == WORLD)
    assert worse.confirming_p >= 2.0 ** -3  # the sign-flip floor
    assert worse.verdict in ("FRAGILE", "INCONCLUSIVE")


def test_rows_keep_seed_sets_and_annotators_apart():
    groups = _world(2)
    table, plain = L.collect(groups)
    assert ("top_k(K=10) [typiclust seed set]", "perfect") in table
    assert ("top_k(K=10)", "noisy") in table
    assert plain[("top_k(K=10) [typiclust seed set]", "perfect")] is None
    assert plain[("margin_top_k(K=10)", "noisy")] == "margin_top_k"
    assert len(table[("top_k(K=10)", "perfect")]) == 2  # realisations
    assert all(len(s) == 3 for s in table[("top_k(K=10)", "perfect")].values())


def test_other_seed_sets_never_pool_as_seeds_of_the_main_family_cell():
    class Res:
        groups = _world(2)

    assert {g.seed_set for g in F.cell(Res, WORLD, 0.0, 0.2)} == {"random"}
    assert len(F.cell(Res, WORLD, 0.0, 0.2, seed_set=None)) == 6

    class OnlyTypi:
        groups = [g for g in _world(2) if g.seed_set == "typiclust"]

    assert len(F.cell(OnlyTypi, WORLD, 0.0, 0.2)) == 2  # one rule present: that one


def test_reach_is_judged_on_the_claims_budget_only():
    fr = np.array([0.005, 0.05, 0.10, 0.12])
    rows = _rows("mean", "mean", 0, [0.1, 0.2, 0.3, 0.5], fr=fr)
    assert L.reach(rows, 0.45, hi=0.10) == (math.inf, math.inf)  # 12 % is beyond it
    assert L.reach(rows, 0.45, hi=0.12)[0] == pytest.approx(0.12)
    f, h = L.reach(rows, 0.15, hi=0.10)
    assert f == pytest.approx(0.05) and h > 0


def test_cluster_median_keeps_infinities_and_resamples_units():
    est, lo, hi = L.cluster_median([[0.02, 0.03], [math.inf, math.inf], [0.04]])
    assert est == pytest.approx(0.04)
    assert lo <= est
    assert math.isinf(hi)  # resamples made of the never-reaching unit
    assert math.isnan(L.cluster_median([[0.1]])[1])  # one unit: no interval


def test_the_section_writes_the_table_and_the_family(tmp_path):
    md, fam = L.section(_world(3), prereg.load(), WORLD, tmp_path, "lb")
    text = "\n".join(md)
    assert "| margin_top_k(K=10) | perfect | 3 x 3 |" in text
    assert "| top_k(K=10) [typiclust seed set] | perfect | 3 x 3 |" in text
    assert (tmp_path / "lb.png").is_file() and (tmp_path / "lb_forest.png").is_file()
    assert {"s-margin_top_k", "s-coreset", "s-badge"} <= {r.id for r in fam}
    # no new strategy on these realisations: no section
    only_main = [g for g in _world(2)]
    for g in only_main:
        for lab in [lab for lab in g.rows if lab.startswith(("margin", "coreset"))]:
            del g.rows[lab]
    assert L.section(only_main, prereg.load(), WORLD, tmp_path, "none") == ([], [])


class _Store:
    def __init__(self, root, recs, refs=None):
        self.root, self._recs, self._refs = root, recs, refs or {}

    def records(self):
        return self._recs

    def references(self):
        return self._refs

    def ceilings(self):
        return {}


def _rec(key, iou):
    return {"key": key, "rows": [{"iteration": 0, "n_labelled": 10, "total_iou": iou}]}


def test_several_results_dirs_read_as_one_and_disagreeing_runs_are_refused():
    a = _Store("a", [_rec("k1", 0.3), _rec("k2", 0.4)], {"r1": {"x": 1}})
    b = _Store("b", [_rec("k2", 0.4), _rec("k3", 0.5)], {"r2": {"x": 2}})
    merged = MergedStores([a, b])
    assert sorted(r["key"] for r in merged.records()) == ["k1", "k2", "k3"]
    assert set(merged.references()) == {"r1", "r2"}
    c = _Store("c", [_rec("k2", 0.41)])
    with pytest.raises(BenchmarkError, match="k2 differs between a and c"):
        MergedStores([a, c]).records()


def _full_rec(key, seed, fr, ious, label="top_k(K=10)"):
    info = {"manifest_sha256": "ab" * 32, "name": "d0", "library": "builtin-field-v6-seed0",
            "spec": {"n_files": 2500, "snr": 0.0, "event_ratio": 0.2, "seed": 0}}
    return {"key": key, "settings_key": "s", "reference_key": "r", "dataset_info": info,
            "config": {}, "rows": [{"iteration": i, "fraction": f, "total_iou": v,
                                    "label": label, "seed": seed}
                                   for i, (f, v) in enumerate(zip(fr, ious))]}


def test_a_run_cut_at_a_smaller_budget_is_read_as_the_start_of_the_full_run():
    from sedal.benchmark.stats.results import Results

    full = _full_rec("k-full", 0, [0.005, 0.01, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4])
    cut = _full_rec("a-cut", 0, [0.005, 0.01, 0.1], [0.1, 0.2, 0.3])  # read first by name
    other = _full_rec("b-other", 1, [0.005, 0.01, 0.1, 0.5], [0.1, 0.2, 0.3, 0.5])
    res = Results(_Store("x", [cut, full, other]))
    (g,) = res.groups
    assert sorted(g.curves["top_k(K=10)"]) == [0, 1] and not g.odd
    assert len(g.curves["top_k(K=10)"][0][0]) == 4  # the full run's curve
    bad = _full_rec("a-bad", 0, [0.005, 0.01, 0.1], [0.1, 0.25, 0.3])
    with pytest.raises(BenchmarkError, match="disagree"):
        Results(_Store("x", [bad, full]))


def test_two_settings_of_one_row_on_a_realisation_are_refused():
    groups = _world(2)
    twin = _group(0, "perfect", {("top_k", "top_k(K=10)"): [BASE] * 3})
    twin.settings_key = "other-features"
    with pytest.raises(BenchmarkError, match="two settings"):
        L.collect(groups + [twin])


def test_the_family_warns_when_runs_recorded_no_or_another_claims_file(tmp_path):
    sp = prereg.load_strategies()
    md, _ = L.section(_world(3), prereg.load(), WORLD, tmp_path, "lb", recorded=set())
    assert any("record no sha256" in line for line in md)
    md, _ = L.section(_world(3), prereg.load(), WORLD, tmp_path, "lb", recorded={"0" * 64})
    assert any("changed after results were made" in line for line in md)
    md, _ = L.section(_world(3), prereg.load(), WORLD, tmp_path, "lb", recorded={sp.sha256})
    assert not any("Warning" in line for line in md)


def test_contrasts_carry_each_realisations_library_so_the_model_nests_them():
    curves = {("top_k", "top_k(K=10)"): [BASE + 0.05, BASE + 0.04],
              ("margin_mean", "margin_mean"): [BASE, BASE + 0.01]}
    groups = [_group(ds, "perfect", curves) for ds in (0, 1, 2, 3)]
    table, _ = L.collect(groups)
    manifests = sorted(table[("top_k(K=10)", "perfect")])
    libraries = {m: f"lib{i % 2}" for i, m in enumerate(manifests)}
    low = prereg.load_strategies().low_budget
    vals, reals, libs = L._contrast(table, ("top_k(K=10)", "perfect"),
                                    ("margin_mean", "perfect"), manifests, low, libraries)
    assert len(vals) == 8 and sorted(set(libs)) == ["lib0", "lib1"]
    assert all(libraries[m][-1] == lib[-1] for m, lib in zip(
        [m for m in manifests for _ in range(2)], libs))
    _, _, none = L._contrast(table, ("top_k(K=10)", "perfect"), ("margin_mean", "perfect"),
                             manifests, low)
    assert set(none) == {""}
