"""The grids of the studies beside the main job (``sedbench study NAME``):

- ``confirm``: the pre-registered confirmatory study (``benchmark/claims.toml``,
  ``[confirm]``): the main cell (SNR 0, r 0.2) on every listed dataset seed of every listed
  built-in library seed (realisations nested in libraries), the five main-comparison
  strategies, the listed AL seeds, cut at the claims' budget; plus the rare-event cell
  (r = ``rare_ratio``) on its dataset seeds;
- ``stratified``: the main cell's first three realisations with stratified seed sets (one
  file of every event class first), the five strategies, cut at the claims' budget;
- ``worlds``: the main cell in the two worlds beside the main job's field library -- the
  clean built-in library and a folder of real recordings (``../shared/real-sources`` or
  ``--sources``) -- on three realisations each, the five strategies, the K sweep and the
  diversification arms, cut at the claims' budget, so that the claim family of the main cell
  can be read per world;
- ``strategies``: the main cell's first three realisations with every strategy of
  :mod:`sedal.benchmark.al.strategies` beside Top-10 and random, a TypiClust seed set for
  Top-10 and random, and the score-based ones also diversified by farthest traversal, cut at
  the claims' budget (issue 28);
- ``oracle``: the main cell's first three realisations, the five strategies under the
  ``noisy`` and ``noisy-high`` oracles (:mod:`sedal.benchmark.al.oracle`) and the strategies
  of the ``strategies`` study (undiversified, BALD aside) under ``noisy``, cut at the claims'
  budget.
"""

from __future__ import annotations

from pathlib import Path

from sedal.benchmark.al.plan import (
    CLAIM_BUDGET,
    OTHER_REALISATIONS,
    STUDY_STRATEGIES,
    Experiment,
    realisation_dirname,
)
from sedal.generator.builtin import DEFAULT_BUILTIN
from sedal.generator.spec import DatasetSpec

STUDIES = ("confirm", "stratified", "worlds", "strategies", "oracle")


def _cell(root: Path, ds: int, ratio: float, builtin_seed: int, seed_set: str = "random",
          n_files: int = 2500) -> list[Experiment]:
    spec = DatasetSpec(n_files=n_files, snr=0.0, event_ratio=ratio, seed=ds)
    path = str(root / realisation_dirname(spec))
    return [Experiment(path, s, 10, "none", spec.to_dict(), builtin=DEFAULT_BUILTIN,
                       builtin_seed=builtin_seed, max_fraction=CLAIM_BUDGET,
                       seed_set=seed_set) for s in STUDY_STRATEGIES]


def confirm_grid(data_root: Path, confirm: dict, n_files: int = 2500) -> list[Experiment]:
    """The confirmatory study's experiments (``confirm``: the claims file's table)."""
    exps = []
    for lib in confirm["library_seeds"]:
        root = Path(data_root) / f"builtin-{DEFAULT_BUILTIN}-seed{lib}"
        for ds in confirm["dataset_seeds"]:
            exps += _cell(root, int(ds), 0.2, int(lib), n_files=n_files)
    lib = int(confirm["library_seeds"][0])
    root = Path(data_root) / f"builtin-{DEFAULT_BUILTIN}-seed{lib}"
    for ds in confirm["rare_dataset_seeds"]:
        exps += _cell(root, int(ds), float(confirm["rare_ratio"]), lib, n_files=n_files)
    return exps


def stratified_grid(data_root: Path, dataset_seeds: list[int]) -> list[Experiment]:
    """The stratified-seed-set arm on the main job's datasets (its first realisations)."""
    exps = []
    for ds in dataset_seeds[:OTHER_REALISATIONS]:
        exps += _cell(Path(data_root), int(ds), 0.2, 0, seed_set="stratified")
    return exps


def worlds_grid(data_root: Path, sources: Path, dataset_seeds: list[int]) -> list[Experiment]:
    """The main cell in the clean built-in world and the real-recordings world."""
    import dataclasses

    from sedal.benchmark.al.plan import DIVERSIFIED, K_SWEEP

    exps = []
    for world, src in (("clean", None), ("real", str(Path(sources).resolve()))):
        root = Path(data_root) / (f"builtin-{world}" if src is None
                                  else f"folder-{Path(src).name}")
        for ds in dataset_seeds[:OTHER_REALISATIONS]:
            base = _cell(root, int(ds), 0.2, 0)
            more = [dataclasses.replace(base[0], strategy="top_k", k=k) for k in K_SWEEP
                    if k != 10]
            more += [dataclasses.replace(base[0], strategy=s, diversify=d) for s in DIVERSIFIED
                     for d in ("farthest", "random_selection")]
            exps += [dataclasses.replace(e, builtin=world if src is None else DEFAULT_BUILTIN,
                                         sources=src) for e in base + more]
    return exps


def strategies_grid(data_root: Path, dataset_seeds: list[int]) -> list[Experiment]:
    """The strategy comparison on the main job's datasets (their first realisations)."""
    import dataclasses

    from sedal.benchmark.al.strategies import EXTRA_STRATEGIES, SCORE_STRATEGIES

    exps = []
    for ds in dataset_seeds[:OTHER_REALISATIONS]:
        base = [e for e in _cell(Path(data_root), int(ds), 0.2, 0)
                if e.strategy in ("top_k", "random")]
        exps += base
        exps += [dataclasses.replace(base[0], strategy=s) for s in EXTRA_STRATEGIES]
        exps += [dataclasses.replace(base[0], strategy=s, diversify="farthest")
                 for s in SCORE_STRATEGIES]
        exps += [dataclasses.replace(e, seed_set="typiclust") for e in base]
    return exps


def oracle_grid(data_root: Path, dataset_seeds: list[int]) -> list[Experiment]:
    """The five strategies under the two noisy oracles, and the strategies of
    :data:`sedal.benchmark.al.strategies.EXTRA_STRATEGIES` (undiversified) but the BALD ones
    under the ``noisy`` oracle, on the main job's datasets: the leaderboard's noisy rows.
    (BALD refits a 5-member ensemble at every query, about 5 times a run's fit cost; left out
    to keep the study within a session.)"""
    import dataclasses

    from sedal.benchmark.al.strategies import ENSEMBLE_STRATEGIES, EXTRA_STRATEGIES

    exps = []
    for ds in dataset_seeds[:OTHER_REALISATIONS]:
        base = _cell(Path(data_root), int(ds), 0.2, 0)
        for oracle in ("noisy", "noisy-high"):
            exps += [dataclasses.replace(e, oracle=oracle) for e in base]
        exps += [dataclasses.replace(base[0], strategy=s, oracle="noisy")
                 for s in EXTRA_STRATEGIES if s not in ENSEMBLE_STRATEGIES]
    return exps
