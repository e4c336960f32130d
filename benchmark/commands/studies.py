"""The study commands: ``difficulty``, ``detectors`` and ``study`` (the confirmatory and
stratified-seed-set studies)."""

from __future__ import annotations

from pathlib import Path

from sedal.benchmark.commands.common import (
    grid_numbers,
    library_grid_args,
    yamnet_arg,
)
from sedal.benchmark.errors import BenchmarkError
from sedal.core.cli import add_output_options


def add_difficulty(sub) -> None:
    p = sub.add_parser("difficulty", help="supervised IoU of a library over SNR x ratio, band "
                                          "energies and a raw log-mel baseline")
    library_grid_args(p, snrs="10,0,-10")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--data", type=Path, default=Path("data/difficulty"),
                   help="where the datasets are found or built")
    p.add_argument("--out", type=Path, required=True,
                   help="result file stem: writes OUT.json and OUT.md")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    yamnet_arg(p)
    add_output_options(p)


def run_difficulty(args) -> int:
    from sedal.benchmark.studies import difficulty

    snrs, ratios = grid_numbers(args)
    res = difficulty.measure(sources=args.sources, builtin=args.builtin,
                             n_files=args.n_files, snrs=snrs, ratios=ratios, seed=args.seed,
                             data_root=args.data, jobs=args.jobs, yamnet=args.yamnet,
                             progress=not args.quiet)
    difficulty.write(res, args.out)
    print(difficulty.format_table(res), end="")
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


def add_detectors(sub) -> None:
    p = sub.add_parser("detectors", help="the detector study: every option's test IoU over "
                                         "dataset seeds, paired against the paper preset")
    library_grid_args(p, snrs="0")
    p.add_argument("--options", default=None,
                   help="comma-separated options (default: all; see "
                        "sedal.benchmark.studies.detectors)")
    p.add_argument("--seeds", default="5-9",
                   help="dataset seeds, e.g. 5-9 (real-sources seeds 0-4 chose the field preset "
                        "and are refused for it: sedal.sed.provenance)")
    p.add_argument("--fit-time", type=Path, default=None,
                   help="also time each option's fit on this (2000-file) dataset dir")
    p.add_argument("--data", type=Path, default=Path("data/difficulty"),
                   help="where the datasets are found or built")
    p.add_argument("--out", type=Path, required=True,
                   help="folder: cells/ (resumable), NAME.json, NAME.md, NAME.png")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    yamnet_arg(p)
    add_output_options(p)


def run_detectors(args) -> int:
    from sedal.benchmark.al import plan as al_plan
    from sedal.benchmark.studies import detector_leaks, detectors
    from sedal.benchmark.studies.difficulty import library_name

    snrs, ratios = grid_numbers(args)
    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    if args.fit_time is not None and not (args.fit_time / "manifest.json").exists():
        raise BenchmarkError(f"--fit-time {args.fit_time}: not a dataset dir (no manifest.json)")
    options = args.options.split(",") if args.options else list(detectors.OPTIONS)
    name = library_name(args.sources, args.builtin)
    seeds = tuple(al_plan.parse_seeds(args.seeds))
    unknown = [o for o in options if o not in detectors.OPTIONS]
    if unknown:
        raise BenchmarkError(f"unknown detector option(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(detectors.OPTIONS)}")
    # before anything is built: no preset is evaluated on data its selection saw
    detector_leaks.check_unseen(name, [(o, s) for o in options for s in seeds],
                           detectors.stored_cells(args.out, name, args.n_files))
    cells = detectors.run_study(sources=args.sources, builtin=args.builtin,
                                data_root=args.data, out=args.out, options=options,
                                n_files=args.n_files, snrs=snrs, ratios=ratios,
                                seeds=seeds, jobs=args.jobs,
                                yamnet=args.yamnet, progress=not args.quiet)
    # the table shows every cell of this library measured in --out so far, not only this call's
    cells = detectors.stored_cells(args.out, name, args.n_files) or cells
    fit = {}
    if args.fit_time is not None:
        fit = detectors.fit_times(args.fit_time, detectors.worth_timing(cells, options),
                                  args.out, cells, yamnet=args.yamnet)
    summary = detectors.summarize(cells, fit)
    title = (f"{name}: {args.n_files}-file datasets, dataset seeds {args.seeds}, "
             "fits on the training split, test split scored")
    detectors.write_summary(summary, args.out, name, title)
    print(detectors.format_markdown(summary, title), end="")
    if summary["pick"]:
        print(f"rule: {detectors.RULE}\npick: {summary['pick']}")
    print(f"wrote {args.out / (name + '.md')}, .json and .png")
    return 0


def add_study(sub) -> None:
    from sedal.benchmark.al.study_grids import STUDIES

    p = sub.add_parser("study", help="a study beside the main job: confirm (the "
                                     "pre-registered confirmatory study), stratified "
                                     "(stratified seed sets on the main cell), worlds (the "
                                     "main cell on the clean and the real-recordings worlds), "
                                     "strategies (every query strategy), oracle (noisy "
                                     "annotators) or transfer (the main strategies' "
                                     "selections at 5 and 10 %% given to the ceiling's rule "
                                     "and the field detector)")
    p.add_argument("name", choices=STUDIES + ("transfer",), help="which study")
    p.add_argument("--out", type=Path, default=None, help="results dir (default results-NAME)")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="where the datasets are found or built")
    p.add_argument("--dataset-seeds", default="0-4",
                   help="stratified, worlds, strategies, oracle: dataset seeds (the first 3 "
                        "are used)")
    p.add_argument("--sources", type=Path, default=Path("../shared/real-sources"),
                   help="worlds: the folder of real recordings (default %(default)s)")
    p.add_argument("--results", type=Path, default=None,
                   help="transfer: the main job's results dir; each replayed run is checked "
                        "against its stored rows there")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address")
    add_output_options(p)


def _run_transfer(args) -> int:
    import time

    from sedal.benchmark.al import plan as al_plan
    from sedal.benchmark.al import transfer

    if args.results is not None and not (args.results / "runs").is_dir():
        raise BenchmarkError(f"--results {args.results} is not a results dir (no runs/)")
    out = args.out or Path("results-transfer")
    t0 = time.perf_counter()
    summary = transfer.run_study(args.data, al_plan.parse_seeds(args.dataset_seeds)[:3], out,
                                 results=args.results, jobs=args.jobs,
                                 progress=not args.quiet)
    print(transfer.format_markdown(summary), end="")
    print(f"study transfer: {time.perf_counter() - t0:.0f} s; wrote {out / 'transfer.md'} "
          "and transfer.json")
    return 0


def run_study(args) -> int:
    import time

    from sedal.benchmark.al import plan as al_plan
    from sedal.benchmark.al import runner, study_grids
    from sedal.benchmark.stats import prereg

    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    if args.name == "transfer":
        return _run_transfer(args)
    pre = prereg.load()
    if args.name == "confirm":
        exps = study_grids.confirm_grid(args.data, pre.confirm)
        seeds = [int(s) for s in pre.confirm["al_seeds"]]
    elif args.name == "worlds":
        if not args.sources.is_dir():
            raise BenchmarkError(f"--sources {args.sources} is not a folder")
        exps = study_grids.worlds_grid(args.data, args.sources,
                                       al_plan.parse_seeds(args.dataset_seeds))
        seeds = [0, 1, 2]
    else:
        grid = {"stratified": study_grids.stratified_grid,
                "strategies": study_grids.strategies_grid,
                "oracle": study_grids.oracle_grid}[args.name]
        exps = grid(args.data, al_plan.parse_seeds(args.dataset_seeds))
        seeds = [0, 1, 2]
    out = args.out or Path(f"results-{args.name}")
    t0 = time.perf_counter()
    plan = al_plan.resolve(exps, seeds, jobs=args.jobs, progress=not args.quiet)
    t1 = time.perf_counter()
    counts = runner.execute(plan, runner.ResultsStore(out), jobs=args.jobs,
                            scheduler=args.scheduler, progress=not args.quiet)
    t2 = time.perf_counter()
    print(f"study {args.name}: {counts['ran']} run(s) done, {counts['skipped']} already "
          f"finished; datasets {t1 - t0:.0f} s, AL {t2 - t1:.0f} s; results in {out}")
    return 0
