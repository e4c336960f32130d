"""The benchmark's commands: ``embed``, ``supervised``, ``run``, ``compare`` and ``report``."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from sedal.benchmark.commands.common import (
    detector_args,
    detector_of,
    feature_args,
    feature_params,
    strategy_args,
)
from sedal.benchmark.errors import BenchmarkError
from sedal.core.cli import add_output_options
from sedal.core.progress import stage
from sedal.generator.builtin import BUILTINS, DEFAULT_BUILTIN
from sedal.sed.features import ensure_store, load_dataset_manifest


def add_embed(sub) -> None:
    p = sub.add_parser("embed", help="build a dataset's feature store")
    p.add_argument("dataset", type=Path, help="dataset dir")
    feature_args(p)
    add_output_options(p)


def run_embed(args) -> int:
    store = ensure_store(args.dataset, feature_params(args), yamnet_path=args.yamnet,
                         progress=not args.quiet)
    print(f"feature store {store.path}: {store.meta['n_segments']} segments of "
          f"{store.meta['n_files']} files ({store.meta['dtype']})")
    return 0


def add_supervised(sub) -> None:
    p = sub.add_parser("supervised", help="train on (a fraction of) the training files, "
                                          "print test metrics")
    p.add_argument("dataset", type=Path, help="dataset dir")
    feature_args(p)
    p.add_argument("--fraction", type=float, default=1.0,
                   help="fraction of the training files to train on")
    p.add_argument("--seed", type=int, default=0, help="seed of the training subset")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads of the classifier fit")
    detector_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_output_options(p)


def run_supervised(args) -> int:
    from sedal.sed.estimator import Detector
    from sedal.sed.evaluate import supervised

    if not 0.0 < args.fraction <= 1.0:
        raise BenchmarkError(f"--fraction must be in (0, 1], got {args.fraction}")
    from sedal.sed.detector import detector_store

    doc, _ = load_dataset_manifest(args.dataset)
    det = detector_of(args)
    store = detector_store(args.dataset, det, feature_params(args), yamnet_path=args.yamnet,
                           progress=not args.quiet)
    with stage("training and scoring", enabled=not args.quiet):
        res = supervised(store, doc, args.fraction, random_state=args.seed,
                         detector=Detector.from_spec(det), threads=args.threads)
    res["detector"] = det.name
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        def num(v) -> str:
            return "undefined" if v is None else f"{v:.4f}"

        print(f"trained on {res['n_train_files']} files in {res['fit_seconds']:.1f} s "
              f"({res['solver_iterations']} lbfgs iterations, "
              f"{'converged' if res['converged'] else 'NOT converged'})")
        if res.get("warning"):
            print(f"warning: {res['warning']}", file=sys.stderr)
        print(f"total IoU  {num(res['total_iou'])}")
        print(f"macro IoU  {num(res['macro_iou'])}")
        for c, v in res["per_class_iou"].items():
            print(f"  {c:<12} {'n/a' if v is None else f'{v:.4f}'}")
        print(f"event F1 (collar 0.2 s)  {num(res.get('event_f1'))}")
        print(f"segment F1 (1 s)         {num(res.get('segment_f1'))}")
    return 0


def add_run(sub) -> None:
    p = sub.add_parser("run", help="active-learning runs: one dataset, a TOML grid (--config) "
                                   "or the study's grid (--all)")
    p.add_argument("dataset", type=Path, nargs="?", default=None,
                   help="one dataset dir (or use --all or --config)")
    p.add_argument("--all", action="store_true", help="the study's grid")
    p.add_argument("--config", type=Path, default=None,
                   help="a grid in TOML (flags given here win over it)")
    strategy_args(p, extra=True)
    p.add_argument("--seeds", default=None,
                   help="AL seeds, e.g. 0-4 or 0,1,2 (default 0-4; with --all 0-1 on each "
                        "dataset realisation: the main comparison runs every seed given, "
                        "other cells and the K / diversification arms the first two)")
    p.add_argument("--schedule", default=None,
                   help="cumulative labelled fractions, comma separated (default: the "
                        "study's)")
    p.add_argument("--max-fraction", type=float, default=None, help="cut the schedule here")
    p.add_argument("--long-seeds", default=None,
                   help="with --all: extra seeds of Top-10 and Mean on the first realisation "
                        "of SNR 0, r 0.2 (default none)")
    p.add_argument("--dataset-seeds", default=None,
                   help="with --all: dataset realisations; the main cell uses the first 5, "
                        "every other cell and arm the first 3 (default 0-4); with --grid "
                        "real every cell uses each (default 5,6: real-sources seeds 0-4 "
                        "selected the field preset)")
    p.add_argument("--oracle", choices=("perfect", "noisy", "noisy-high"), default="perfect",
                   help="the simulated annotator: perfect (the study's) or one that misses "
                        "quiet events, jitters boundaries, confuses classes and draws "
                        "spurious boxes (sedal.benchmark.al.oracle; two noise levels)")
    p.add_argument("--seed-set", choices=("random", "stratified", "typiclust"),
                   default="random",
                   help="how seed sets are drawn: uniformly (the study), with >= 1 file of "
                        "every event class first, or TypiClust's typical files of k-means "
                        "clusters of file embeddings (label-free)")
    detector_args(p)
    feature_args(p)
    p.add_argument("--cold", action="store_true",
                   help="refit from scratch each iteration (the plain baseline)")
    p.add_argument("--out", type=Path, default=Path("results"), help="results dir")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="where --all finds or builds its datasets")
    p.add_argument("--n-files", type=int, default=None,
                   help="files per dataset for --all (default 2500; 500 for --grid real)")
    p.add_argument("--grid", choices=("study", "real"), default="study",
                   help="with --all: the study's grid, or the smaller real-recordings grid "
                        "(SNR 0, r 0.2 and 1.0; random, mean, top_k) for use with --sources")
    p.add_argument("--sources", type=Path, default=None,
                   help="source library for datasets that must be built")
    p.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="with --all and no --sources: the built-in library of the grid "
                        "(non-default ones live under DATA/builtin-NAME)")
    add_output_options(p)


def run_run(args) -> int:
    import time

    from sedal.benchmark.al import plan as al_plan
    from sedal.benchmark.al import runner
    from sedal.benchmark.al.loop import DEFAULT_SCHEDULE

    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    chosen = [name for name, v in (("a dataset", args.dataset), ("--all", args.all),
                                   ("--config", args.config)) if v]
    if len(chosen) != 1:
        raise BenchmarkError("run needs exactly one of: a dataset dir, --all, --config"
                             + (f" (got {' and '.join(chosen)})" if chosen else ""))
    # precedence: defaults < the TOML config < flags given on the command line
    seeds = al_plan.parse_seeds("0-1" if args.all and args.grid == "study" else "0-4")
    schedule = DEFAULT_SCHEDULE
    if args.config:
        cfg = al_plan.load_config(args.config)
        exps = al_plan.experiments_from_config(cfg, args.config.parent)
        if "seeds" in cfg:
            seeds = al_plan.parse_seeds(cfg["seeds"] if isinstance(cfg["seeds"], str)
                                       else ",".join(str(s) for s in cfg["seeds"]))
        schedule = tuple(cfg.get("schedule", schedule))
        if args.max_fraction is None and "max_fraction" in cfg:
            args.max_fraction = float(cfg["max_fraction"])
    if args.seeds is not None:
        seeds = al_plan.parse_seeds(args.seeds)
    if args.schedule:
        try:
            schedule = tuple(float(x) for x in args.schedule.split(","))
        except ValueError:
            raise BenchmarkError(f"bad --schedule {args.schedule!r}") from None
    if args.all and args.grid == "real":
        exps = al_plan.real_grid(args.data, n_files=args.n_files or 500,
                                 seeds=(al_plan.parse_seeds(args.dataset_seeds)
                                        if args.dataset_seeds else al_plan.REAL_DATASET_SEEDS))
    elif args.all:
        exps = al_plan.study_grid(args.data, n_files=args.n_files or 2500,
                                 seeds=seeds, long_seeds=(al_plan.parse_seeds(args.long_seeds)
                                                          if args.long_seeds else None),
                                 dataset_seeds=al_plan.parse_seeds(args.dataset_seeds or "0-4"),
                                 builtin=args.builtin, seed_set=args.seed_set)
    elif args.dataset:
        exps = [al_plan.Experiment(str(args.dataset), args.strategy, args.k, args.diversify,
                                   seed_set=args.seed_set)]
    if args.oracle != "perfect":
        exps = [dataclasses.replace(e, oracle=args.oracle) for e in exps]
    progress = not args.quiet
    plan = al_plan.resolve(exps, seeds, schedule=schedule, max_fraction=args.max_fraction,
                           detector=detector_of(args), features=feature_params(args),
                           factor=args.factor, sources=args.sources, warm_start=not args.cold,
                           jobs=args.jobs, yamnet=args.yamnet, progress=progress)
    t0 = time.perf_counter()
    counts = runner.execute(plan, runner.ResultsStore(args.out), jobs=args.jobs,
                            scheduler=args.scheduler, progress=progress)
    wall = time.perf_counter() - t0
    print(f"{counts['ran']} run(s) done, {counts['skipped']} already finished, "
          f"{counts['references']} reference fit(s); AL wall time {wall:.1f} s; "
          f"results in {args.out}")
    if counts.get("elsewhere"):
        print(f"{counts['elsewhere']} run(s) were left to another sedbench run on {args.out} "
              "(run this command again when it ends to report on all of them)")
    return 0


def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="compare the mean curves of two results dirs")
    p.add_argument("a", type=Path, help="results dir")
    p.add_argument("b", type=Path, help="results dir")
    add_output_options(p)


def run_compare(args) -> int:
    from sedal.benchmark.stats.report import compare_results

    rows = compare_results(args.a, args.b)
    if not rows:
        raise BenchmarkError("the two results dirs share no (dataset, strategy, seed)")
    print(f"{'dataset':<16} {'strategy':<24} {'seeds':<8} {'max |dIoU|':>10} "
          f"{'mean |dIoU|':>11}")
    for r in rows:
        print(f"{r['dataset']:<16} {r['label']:<24} {len(r['seeds']):<8} "
              f"{r['max_abs_diff']:>10.4f} {r['mean_abs_diff']:>11.4f}")
    return 0


def add_report(sub) -> None:
    p = sub.add_parser("report", help="Markdown + HTML report of a results dir (or of "
                                      "several read as one)")
    p.add_argument("results", type=Path, nargs="+",
                   help="results dir(s); several are read as one (a run found in two must "
                        "agree)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default RESULTS/report)")
    add_output_options(p)


def run_report(args) -> int:
    from sedal.benchmark.stats.report import write_report

    out = write_report(list(args.results), args.out, progress=not args.quiet)
    print(f"wrote {out / 'report.md'} and {out / 'report.html'}")
    return 0


def add_ceiling(sub) -> None:
    p = sub.add_parser("ceiling", help="the ceiling reference of a results dir's main-cell "
                                       "datasets: class weights, C and median kernel chosen "
                                       "by source-grouped cross-validation on the training "
                                       "split")
    p.add_argument("results", type=Path, help="results dir")
    p.add_argument("--snr", type=float, default=0.0, help="cell SNR in dB (default 0)")
    p.add_argument("--ratio", type=float, default=0.2, help="cell event ratio (default 0.2)")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes")
    add_output_options(p)


def run_ceiling(args) -> int:
    import time

    from sedal.benchmark.al.ceiling import compute_ceilings

    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    t0 = time.perf_counter()
    done = compute_ceilings(args.results, snr=args.snr, ratio=args.ratio, jobs=args.jobs,
                            progress=not args.quiet)
    for d in done:
        c = d["chosen"]
        print(f"{d['dataset_info']['name']}: ceiling total IoU {d['total_iou']:.3f} "
              f"(class weights {c['class_weight']}, C {c['C']:g}, median {c['kernel']}; "
              f"CV IoU {c['cv_total_iou']:.3f})")
    print(f"{len(done)} ceiling(s) in {time.perf_counter() - t0:.0f} s")
    return 0
