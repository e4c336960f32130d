"""The main job's grid: informed strategies on replicated realisations, the budget cut, the
pre-registration recorded and checked."""

from collections import Counter
from pathlib import Path

from sedal.benchmark.al.plan import CLAIM_BUDGET, STUDY_STRATEGIES, study_grid
from sedal.benchmark.stats import prereg


def test_every_main_strategy_runs_on_five_realisations_of_the_main_cell_and_three_elsewhere():
    exps = study_grid(Path("data"), dataset_seeds=[0, 1, 2, 3, 4], seeds=[0, 1, 2])
    per_cell = Counter()
    for e in exps:
        if e.k == 10 and e.diversify == "none":
            per_cell[(e.spec["snr"], e.spec["event_ratio"], e.strategy)] += 1
    # the main comparison on every seed; other cells and the arms on the first two, paired
    main = {e.seeds for e in exps if e.spec["snr"] == 0.0 and e.spec["event_ratio"] == 0.2
            and e.k == 10 and e.diversify == "none"}
    rest = {e.seeds for e in exps if not (e.spec["snr"] == 0.0 and e.spec["event_ratio"] == 0.2
                                          and e.k == 10 and e.diversify == "none")}
    assert main == {None} and rest == {(0, 1)}
    assert {e.seeds for e in study_grid(Path("data"), dataset_seeds=[0, 1, 2])} == {None}
    for s in STUDY_STRATEGIES:
        assert per_cell[(0.0, 0.2, s)] == 5
        for cell in ((10.0, 0.2), (-10.0, 0.2), (0.0, 1.0)):
            assert per_cell[(*cell, s)] == 3
    sweeps = [e for e in exps if e.k != 10 or e.diversify != "none"]
    assert {e.spec["seed"] for e in sweeps} == {0, 1, 2}
    assert {e.strategy for e in sweeps if e.diversify != "none"} == {"top_k", "mean", "median"}
    # the main cell's first realisation keeps the whole schedule (its own curves); the
    # rest stop at the claims' budget
    full = [e for e in exps if e.max_fraction is None]
    assert {e.spec["seed"] for e in full} == {0} and all(e.diversify == "none" and e.k == 10
                                                         for e in full)
    assert {(e.spec["snr"], e.spec["event_ratio"]) for e in full} == {(0.0, 0.2)}
    assert {e.strategy for e in full} == set(STUDY_STRATEGIES)
    # PSDS and segment F1 where the report reads them: the main cell's five strategies
    costly = {(e.spec["snr"], e.spec["event_ratio"], e.k, e.diversify)
              for e in exps if e.reviewer_metrics}
    assert costly == {(0.0, 0.2, 10, "none")}
    assert all(e.max_fraction == CLAIM_BUDGET for e in exps if e.spec["seed"] != 0)


def test_the_claims_file_is_recorded_and_a_change_is_warned_about(tmp_path):
    pre = prereg.load()
    assert set(pre.claims) == set("abcdefghij") and pre.sesoi_iou > 0
    assert prereg.changed_since({pre.sha256}) is None
    assert "changed after" in prereg.changed_since({"0" * 64})
    assert "no claims file" in prereg.changed_since(set())
    other = tmp_path / "claims.toml"
    other.write_text(prereg.CLAIMS_FILE.read_text() + "\n# edited\n")
    assert prereg.claims_sha256(other) != pre.sha256


def test_the_confirmatory_study_uses_fresh_seeds_on_three_libraries():
    from sedal.benchmark.al.study_grids import confirm_grid, worlds_grid

    pre = prereg.load()
    exps = confirm_grid(Path("data"), pre.confirm)
    main = {(e.builtin_seed, e.spec["seed"]) for e in exps if e.spec["event_ratio"] == 0.2}
    rare = {(e.builtin_seed, e.spec["seed"]) for e in exps if e.spec["event_ratio"] == 0.05}
    assert len(main) >= 10 and len({lib for lib, _ in main}) >= 3 and len(rare) >= 5
    development = set(range(5))
    assert not {s for _, s in main | rare} & development
    assert not {lib for lib, _ in main} & {0}
    assert all(e.max_fraction == CLAIM_BUDGET for e in exps)
    assert {e.strategy for e in exps} == set(STUDY_STRATEGIES)
    worlds = worlds_grid(Path("data"), Path("real"), [0, 1, 2])
    assert {(e.builtin, e.sources is None) for e in worlds} == {("clean", True),
                                                                ("field", False)}


def test_the_strategy_and_oracle_studies_cover_every_strategy_on_three_realisations():
    from sedal.benchmark.al.strategies import (
        BATCH_STRATEGIES,
        ENSEMBLE_STRATEGIES,
        EXTRA_STRATEGIES,
    )
    from sedal.benchmark.al.study_grids import oracle_grid, strategies_grid

    exps = strategies_grid(Path("data"), [0, 1, 2, 3, 4])
    assert {e.spec["seed"] for e in exps} == {0, 1, 2}
    assert {e.strategy for e in exps} == set(EXTRA_STRATEGIES) | {"top_k", "random"}
    assert not any(e.diversify != "none" for e in exps if e.strategy in BATCH_STRATEGIES)
    assert {e.strategy for e in exps if e.seed_set == "typiclust"} == {"top_k", "random"}
    assert all(e.max_fraction == CLAIM_BUDGET for e in exps)
    noisy = oracle_grid(Path("data"), [0, 1, 2])
    assert {e.oracle for e in noisy} == {"noisy", "noisy-high"}
    assert {e.strategy for e in noisy if e.oracle == "noisy-high"} == set(STUDY_STRATEGIES)
    assert {e.strategy for e in noisy if e.oracle == "noisy"} == (
        set(STUDY_STRATEGIES) | set(EXTRA_STRATEGIES) - set(ENSEMBLE_STRATEGIES))
    assert all(e.diversify == "none" for e in noisy)
    assert {e.spec["seed"] for e in noisy} == {0, 1, 2}


def test_runs_go_to_workers_in_dataset_blocks_that_fit_the_cache_seed_by_seed():
    from sedal.benchmark.al.loop import RunConfig
    from sedal.benchmark.al.runner import DATA_CACHE_SIZE, task_order

    runs = [RunConfig(f"cell{c}/d{d}", f"{c}{d}".ljust(64, "0"), s, seed)
            for c in range(2) for d in range(9 if c else 5) for s in ("random", "mean")
            for seed in range(3)]
    priority = {r.key: int(r.dataset.startswith("cell1")) for r in runs}
    order = task_order(runs, priority)
    assert sorted(r.key for r in order) == sorted(r.key for r in runs)
    assert [priority[r.key] for r in order] == sorted(priority[r.key] for r in order)
    # one worker with an LRU cache of DATA_CACHE_SIZE datasets loads each dataset once
    cache: list[str] = []
    loads = 0
    for r in order:
        if r.dataset in cache:
            cache.remove(r.dataset)
        else:
            loads += 1
            cache = cache[-(DATA_CACHE_SIZE - 1):]
        cache.append(r.dataset)
    assert loads == len({r.dataset for r in runs})
    # within a block, every dataset gets seed 0 before any gets seed 1
    first = order[:DATA_CACHE_SIZE // 2 * 2 * 3]
    assert [r.seed for r in first] == sorted(r.seed for r in first)
