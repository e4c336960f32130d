"""What a benchmark run is made of: the study's grid of experiments, config files, seeds, and
the plan (datasets built and embedded, RunConfigs expanded) that the runner executes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sedal.benchmark.al.loop import (
    DEFAULT_SCHEDULE,
    RunConfig,
    check_strategy,
    cut_schedule,
    validate_schedule,
)
from sedal.benchmark.al.strategies import uses_k
from sedal.benchmark.errors import BenchmarkError
from sedal.generator.builtin import DEFAULT_BUILTIN
from sedal.generator.spec import STUDY_GRID, DatasetSpec

STUDY_STRATEGIES = ("random", "mean", "median", "mean_event", "top_k")



K_SWEEP = (1, 3, 5, 10, 20, 50)


DIVERSIFIED = ("top_k", "mean", "median")


#: Most seeds one command may expand to (a typo such as 0-10000000000 is an error).
MAX_SEEDS = 10_000


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0..4]; ``"0,2,5"`` -> [0, 2, 5] (at most :data:`MAX_SEEDS` seeds)."""
    out: set[int] = set()
    bad = BenchmarkError(f"bad seeds {text!r}; use e.g. 0-4 or 0,1,2")
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b - a + 1 > MAX_SEEDS:
                    raise BenchmarkError(f"seeds {part} are {b - a + 1} seeds; at most "
                                         f"{MAX_SEEDS} per command")
                out.update(range(a, b + 1))
            elif part:
                out.add(int(part))
            if len(out) > MAX_SEEDS:
                raise BenchmarkError(f"more than {MAX_SEEDS} seeds in {text!r}")
    except ValueError:
        raise bad from None
    if not out or min(out) < 0 or max(out) >= 2**32:
        raise bad
    return sorted(out)


@dataclass(frozen=True)
class Experiment:
    """A dataset (path, or a spec to build) and the strategies to run on it."""

    dataset: str
    strategy: str
    k: int = 10
    diversify: str = "none"
    spec: dict | None = None  # how to build the dataset if it is missing
    seeds: tuple[int, ...] | None = None  # None: the command's --seeds
    priority: int = 0  # runs of lower priority go first (the claims' runs before the rest)
    builtin: str = DEFAULT_BUILTIN  # the built-in library to build it from (no --sources)
    builtin_seed: int = 0  # which build of that library
    max_fraction: float | None = None  # cut the command's schedule here (None: keep it)
    seed_set: str = "random"  # how seed sets are drawn (sedal.benchmark.al.pool)
    sources: str | None = None  # a folder library to build from (None: the command's)
    oracle: str = "perfect"  # the simulated annotator (sedal.benchmark.al.oracle)
    reviewer_metrics: bool = True  # PSDS and segment F1 (RunConfig.reviewer_metrics)


#: Replicated runs stop here: the claims use budgets of 0.5-10 % (claims.toml); the main
#: cell's first realisation keeps the whole schedule (its own curves, the labels-to-reach
#: and stopping tables; Fig. 3 itself spans 0.5-10 % on every realisation).
CLAIM_BUDGET = 0.10

#: Realisations (dataset seeds) of the main cell and of every other cell and arm.
MAIN_REALISATIONS, OTHER_REALISATIONS = 5, 3

#: AL seeds of every other cell and arm: the first ones of the main strategies' seeds
#: (paired with them); fewer than the main comparison's to keep the job within the hour.
OTHER_SEEDS = 2


def study_grid(data_root: Path, n_files: int = 2500, seed: int = 0, *,
               seeds: list[int] | None = None, long_seeds: list[int] | None = None,
               dataset_seeds: list[int] | None = None,
               builtin: str = DEFAULT_BUILTIN, builtin_seed: int = 0,
               seed_set: str = "random") -> list[Experiment]:
    """The study's grid on replicated dataset realisations (the unit of inference).

    - SNR 0, r 0.2 (the main cell) on the first :data:`MAIN_REALISATIONS` of
      ``dataset_seeds`` and every other cell of :data:`~sedal.generator.spec.STUDY_GRID` on
      the first :data:`OTHER_REALISATIONS`: the five main-comparison strategies, ``seeds``
      each on the main cell and the first :data:`OTHER_SEEDS` of them elsewhere (seed sets
      paired across strategies within a realisation);
    - on the main cell's first :data:`OTHER_REALISATIONS` realisations: the K sweep and
      Top-10, Mean and Median x {farthest, random_selection}, on the first
      :data:`OTHER_SEEDS` seeds;
    - ``long_seeds``: extra seeds of Top-10 and Mean on the first realisation;
    - every run stops at :data:`CLAIM_BUDGET` except the five main strategies on the main
      cell's first realisation (``seed``), which keep the whole schedule (its curves;
      budgets above 10 % in the other cells were about a quarter of the job's AL time,
      estimated from the 2026-12-06 run's fit times, and no claim uses them);
    - PSDS and segment F1 (:attr:`RunConfig.reviewer_metrics`) only on the main cell's five
      strategies, the runs the report's reviewer figure reads (elsewhere they were about a
      fifth of the AL time, estimated, for numbers no table shows).

    ``seeds=None`` means the command's ``--seeds``. Realisation ``seed`` lives in
    ``data_root/<cell>``, others in ``<cell>_dseed<s>``; datasets of a built-in library other
    than the default (or another build seed) under ``data_root/builtin-<name>[-seed<n>]``.
    """
    import dataclasses

    dseeds = [seed] + [d for d in (dataset_seeds or []) if d != seed]
    if builtin != DEFAULT_BUILTIN or builtin_seed:
        data_root = data_root / (f"builtin-{builtin}" + (f"-seed{builtin_seed}"
                                                          if builtin_seed else ""))
    if n_files != 2500 or seed != 0:  # keep non-standard builds apart from the standard grid
        data_root = data_root / f"n{n_files}_seed{seed}"
    few = None if seeds is None else tuple(seeds[:OTHER_SEEDS])
    exps = []
    for snr, ratio in STUDY_GRID:
        main = (snr, ratio) == STUDY_GRID[0]
        for i, ds in enumerate(dseeds[:MAIN_REALISATIONS if main else OTHER_REALISATIONS]):
            spec = DatasetSpec(n_files=n_files, snr=snr, event_ratio=ratio, seed=ds)
            path, d = str(data_root / realisation_dirname(spec, seed)), spec.to_dict()
            cut = None if main and i == 0 else CLAIM_BUDGET
            exps += [Experiment(path, s, 10, "none", d, seeds=None if main else few,
                                max_fraction=cut, priority=0 if main else 1,
                                reviewer_metrics=main)
                     for s in STUDY_STRATEGIES]
            if main and i < OTHER_REALISATIONS:
                arm = {"seeds": few, "priority": 2, "max_fraction": CLAIM_BUDGET,
                       "reviewer_metrics": False}
                exps += [Experiment(path, "top_k", k, "none", d, **arm)
                         for k in K_SWEEP if k != 10]
                exps += [Experiment(path, s, 10, dv, d, **arm)
                         for s in DIVERSIFIED for dv in ("farthest", "random_selection")]
            if main and i == 0 and long_seeds:
                exps += [Experiment(path, s, 10, "none", d, tuple(long_seeds), priority=3)
                         for s in ("top_k", "mean")]
    return [dataclasses.replace(e, builtin=builtin, builtin_seed=builtin_seed,
                                seed_set=seed_set) for e in exps]


def realisation_dirname(spec: DatasetSpec, first_seed: int = 0) -> str:
    """A cell's realisation folder: ``<cell>`` for the first realisation (dataset seed
    ``first_seed``), ``<cell>_dseed<s>`` for the others."""
    return spec.default_dirname() + ("" if spec.seed == first_seed else f"_dseed{spec.seed}")


REAL_GRID = ((0.0, 0.2), (0.0, 1.0))


REAL_STRATEGIES = ("random", "mean", "top_k")


#: Dataset seeds of ``--grid real`` by default: evaluation seeds. Real-sources seeds 0-4
#: are the ``field`` preset's development set (:mod:`sedal.sed.provenance`), which reports
#: refuse to evaluate it on.
REAL_DATASET_SEEDS = (5, 6)


def real_grid(data_root: Path, n_files: int = 500, seeds=REAL_DATASET_SEEDS
              ) -> list[Experiment]:
    """The real-recordings grid: SNR 0 at r 0.2 and 1.0; random, mean and top_k (K=10),
    on each dataset seed of ``seeds`` (one dataset realisation each)."""
    exps = []
    for seed in seeds:
        root = data_root / f"n{n_files}_seed{seed}"
        for snr, ratio in REAL_GRID:
            spec = DatasetSpec(n_files=n_files, snr=snr, event_ratio=ratio, seed=seed)
            path = str(root / spec.default_dirname())
            exps += [Experiment(path, s, 10, "none", spec.to_dict()) for s in REAL_STRATEGIES]
    return exps


_CONFIG_KEYS = {"seeds": (str, list), "max_fraction": (int, float), "schedule": (list,),
                "experiment": (list,)}


_EXPERIMENT_KEYS = {"dataset": (str,), "strategies": (list,), "k": (list,), "diversify": (list,)}


def load_config(path: Path) -> dict:
    """Read and validate a grid config in TOML (unknown keys and wrong types are errors).

    Dataset paths are relative to the config file's folder and must stay inside it.

    Example::

        seeds = "0-4"
        max_fraction = 0.5
        schedule = [0.005, 0.01, 0.02, 0.05, 0.1]   # optional
        [[experiment]]
        dataset = "data/snr0_r0.2"
        strategies = ["random", "top_k"]
        k = [10, 20]                                # optional, for top_k
        diversify = ["none", "farthest"]            # optional
    """
    try:
        cfg = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BenchmarkError(f"cannot read config {path}: {' '.join(str(exc).split())}") from None
    _check_table(cfg, _CONFIG_KEYS, path, "config")
    if not cfg.get("experiment"):
        raise BenchmarkError(f"config {path} has no [[experiment]] table")
    for i, e in enumerate(cfg["experiment"]):
        where = f"experiment[{i}]"
        if not isinstance(e, dict):
            raise BenchmarkError(f"config {path}: {where} must be a table")
        _check_table(e, _EXPERIMENT_KEYS, path, where)
        if "dataset" not in e or "strategies" not in e:
            raise BenchmarkError(f"config {path}: each [[experiment]] needs dataset and "
                                 "strategies")
        for key, kind in (("strategies", str), ("diversify", str), ("k", int)):
            if any(not isinstance(v, kind) or isinstance(v, bool) for v in e.get(key, [])):
                raise BenchmarkError(f"config {path}: {where}.{key} must be a list of "
                                     f"{'integers' if kind is int else 'strings'}")
    seeds = cfg.get("seeds")
    if isinstance(seeds, list) and any(not isinstance(v, int) or isinstance(v, bool)
                                       for v in seeds):
        raise BenchmarkError(f"config {path}: seeds must be a string or a list of integers")
    if any(not isinstance(v, int | float) or isinstance(v, bool)
           for v in cfg.get("schedule", [])):
        raise BenchmarkError(f"config {path}: schedule must be a list of numbers")
    return cfg


def _check_table(table: dict, keys: dict, path: Path, where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise BenchmarkError(f"config {path}: unknown key(s) {', '.join(unknown)} in {where} "
                             f"(known: {', '.join(sorted(keys))})")
    for key, kinds in keys.items():
        if key in table and (not isinstance(table[key], kinds) or isinstance(table[key], bool)):
            raise BenchmarkError(f"config {path}: {where}.{key} has the wrong type "
                                 f"({type(table[key]).__name__})")


def experiments_from_config(cfg: dict, base: Path) -> list[Experiment]:
    """Experiments of a :func:`load_config` config; dataset paths confined to ``base``."""
    from sedal.core.errors import UnsafePathError
    from sedal.core.fsutil import resolve_inside

    exps = []
    for e in cfg["experiment"]:
        try:
            ds = str(resolve_inside(base, e["dataset"], what="dataset path",
                                    origin=f"config in {base}"))
        except UnsafePathError as exc:
            raise BenchmarkError(str(exc)) from None
        for s in e["strategies"]:
            for d in e.get("diversify", ["none"]):
                for k in (e.get("k", [10]) if uses_k(s) else [10]):
                    exps.append(Experiment(ds, s, int(k), d))
    return exps


@dataclass
class RunPlan:
    """Resolved runs plus the settings that produced them."""

    runs: list[RunConfig]
    datasets: dict[str, str]  # path -> manifest sha256
    settings: dict
    priority: dict[str, int] = field(default_factory=dict)  # run key -> priority

    def to_dict(self) -> dict:
        return {"settings": self.settings, "datasets": self.datasets,
                "runs": [{"dataset": r.dataset, **r.key_dict(), "key": r.key}
                         for r in self.runs]}


def ensure_dataset(exp: Experiment, *, features=None, sources=None, jobs: int = 1,
                   yamnet=None, progress: bool = False, build: bool = True) -> str:
    """Make sure the dataset exists and is embedded with ``features`` (a
    :class:`sedal.sed.features.FeatureParams`); returns its manifest sha256."""
    from sedal.sed.errors import SedError
    from sedal.sed.features import ensure_store, load_dataset_manifest

    path = Path(exp.dataset)
    sources = exp.sources if exp.sources is not None else sources
    if not (path / "manifest.json").exists():
        if not build or exp.spec is None:
            raise BenchmarkError(f"dataset {path} does not exist and there is no spec to build "
                                 "it from")
        from sedal.generator.dataset import make_dataset

        make_dataset(DatasetSpec.from_dict(exp.spec), path, sources=sources, jobs=jobs,
                     progress=progress, builtin=exp.builtin, builtin_seed=exp.builtin_seed)
    elif exp.spec is not None:
        _check_library(path, sources, exp.builtin)
    try:
        ensure_store(path, features, yamnet_path=yamnet, progress=progress)
    except SedError as exc:
        raise BenchmarkError(f"dataset {path} has no embeddings and they cannot be built: "
                             f"{exc}") from None
    return load_dataset_manifest(path)[1]


def _check_library(path: Path, sources, builtin: str) -> None:
    """Refuse a grid dataset that exists but was built from another library than the grid
    asks for (e.g. the clean built-in library where the field one is wanted)."""
    from sedal.generator.builtin import builtin_name
    from sedal.generator.manifest import read_manifest

    have = read_manifest(path / "manifest.json").sources
    if sources is None:
        want = builtin_name(0, builtin)
        ok = have.kind == "builtin" and have.name.rsplit("-seed", 1)[0] \
            == want.rsplit("-seed", 1)[0]
    else:
        want = Path(sources).resolve().name
        ok = have.kind == "folder" and have.name == want
    if not ok:
        raise BenchmarkError(f"dataset {path} was built from the library {have.name!r}, "
                             f"but this grid needs {want!r}; use another --data (or move "
                             "that dataset away)")


def resolve(exps: list[Experiment], seeds: list[int], *, schedule=DEFAULT_SCHEDULE,
            max_fraction=None, detector=None, features=None, factor: int = 3, sources=None,
            warm_start: bool = True, jobs: int = 1, yamnet=None,
            progress: bool = False) -> RunPlan:
    """Validate, build/embed missing datasets, and expand into RunConfigs.

    ``detector`` is a :class:`sedal.sed.detector.DetectorSpec` (default: the paper preset) and
    ``features`` a :class:`sedal.sed.features.FeatureParams` giving segment, hop and dtype
    (default: 0.12 s / 0.06 s, float32); the detector's modes choose the stores.
    """
    import dataclasses

    from sedal.sed.detector import PAPER_DETECTOR
    from sedal.sed.features import FeatureParams

    preset = detector or PAPER_DETECTOR
    detector = preset.settings
    params = preset.feature_params(features or FeatureParams())
    features = params[0]
    plain = len(params) == 1 and preset.recipe() in ("", preset.modes[0])
    recipe = "" if plain else preset.recipe()
    for e in exps:
        check_strategy(e.strategy, e.k, e.diversify, extra=True)
    sched = cut_schedule(validate_schedule(schedule), max_fraction)
    datasets: dict[str, str] = {}
    for e in exps:
        key = str(Path(e.dataset).resolve())
        if key not in datasets:
            datasets[key] = ensure_dataset(e, features=features, sources=sources, jobs=jobs,
                                           yamnet=yamnet, progress=progress)
            for extra in params[1:]:
                ensure_dataset(e, features=extra, sources=sources, jobs=jobs, yamnet=yamnet,
                               progress=progress)
    runs = []
    seen = set()
    priority: dict[str, int] = {}
    for e in exps:
        path = str(Path(e.dataset).resolve())
        for seed in (e.seeds if e.seeds is not None else seeds):
            cfg = RunConfig(path, datasets[path], e.strategy, seed, k=e.k,
                            diversify=e.diversify, factor=factor,
                            schedule=cut_schedule(sched, e.max_fraction),
                            warm_start=warm_start, features=features.name(), detector=preset,
                            seed_set=e.seed_set, oracle=e.oracle,
                            reviewer_metrics=e.reviewer_metrics)
            if cfg.key not in seen:
                seen.add(cfg.key)
                runs.append(cfg)
            priority[cfg.key] = min(priority.get(cfg.key, e.priority), e.priority)
    from sedal.benchmark.stats.prereg import claims_sha256

    settings = {"claims_sha256": claims_sha256(), "seeds": seeds, "schedule": list(sched),
                "factor": factor,
                "warm_start": warm_start, "features": features.name(),
                "detector": detector.to_dict(),
                **({"detector_preset": dataclasses.replace(preset, settings=detector).to_dict()}
                   if preset.name != "paper" or recipe else {})}
    return RunPlan(runs, datasets, settings, priority)
