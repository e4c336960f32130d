"""``sedbench``: the thin command line over :mod:`sed` and :mod:`benchmark`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sedal.core.cli import Parser, add_output_options, apply_verbosity, parse_args, run_main
from sedal.generator.builtin import BUILTINS, DEFAULT_BUILTIN
from sedal.generator.errors import GeneratorError
from sedal.sed.errors import SedError
from sedal.sed.grid import HOP_S, SEGMENT_S

from .aggregation import STRATEGIES
from .errors import BenchmarkError


def class_list(text: str | None) -> list[str] | None:
    """``--classes a,b,c`` as a list of checked class names (``None`` when not given)."""
    if not text:
        return None
    from sedal.sed.annotations import check_class_name

    names = [c.strip() for c in text.split(",")]
    for c in names:
        check_class_name(c, f"--classes {text!r}")
    if len({c.casefold() for c in names}) < len(names):
        raise BenchmarkError(f"--classes {text!r}: a class is named twice")
    return names


def _detector_args(p: argparse.ArgumentParser, default: str = "paper") -> None:
    from sedal.sed.detector import PRESETS

    p.add_argument("--detector", choices=sorted(PRESETS), default=default,
                   help="detector preset: paper (the study's) or field (the best measured on "
                        "real recordings; docs/results/detectors)")
    p.add_argument("--class-weight", choices=("none", "balanced"), default=None,
                   help="class weights of the classifier's loss (default: the preset's)")
    p.add_argument("--tol", type=float, default=None,
                   help="lbfgs tolerance every classifier fit runs to (default: the preset's, "
                        "1e-5)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="safety stop on lbfgs iterations; fits that reach it are flagged "
                        "(default: the preset's, 10000)")


def _detector(args):
    """The chosen preset with the settings given on the command line applied."""
    from sedal.sed.detector import PRESETS

    det = PRESETS[args.detector]
    changes = {k: v for k, v in (("tol", args.tol), ("max_iter", args.max_iter)) if v is not None}
    if args.class_weight is not None:
        changes["class_weight"] = None if args.class_weight == "none" else args.class_weight
    try:
        det = det.with_settings(**changes) if changes else det
    except SedError as exc:
        raise BenchmarkError(str(exc)) from None
    mode = getattr(args, "mode", "patch")
    if mode != "patch":
        if det.modes != ("patch",) or det.recipe():
            raise BenchmarkError(f"--mode {mode} only goes with --detector paper (the "
                                 f"{det.name} preset chooses its own features)")
        det = det.__class__.from_recipe(mode, det.settings, name=det.name)
    return det


def _yamnet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yamnet", type=Path, default=None,
                   help="YAMNet SavedModel dir or yamnet.h5 (else $SEDAL_YAMNET, cache, TF-Hub, "
                        "PyPI wheel)")


def _feature_args(p: argparse.ArgumentParser) -> None:
    _yamnet_arg(p)
    p.add_argument("--mode", choices=("patch", "context"), default="patch",
                   help="YAMNet on each segment's own frames (patch) or on a 0.96 s window "
                        "centred on it (context)")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32",
                   help="storage type of the embeddings")
    p.add_argument("--segment", type=float, default=SEGMENT_S, help="segment length in s")
    p.add_argument("--hop", type=float, default=HOP_S, help="segment hop in s")


def _strategy_args(p: argparse.ArgumentParser) -> None:
    from .aggregation import STRATEGIES
    from .diversify import METHODS

    p.add_argument("--strategy", choices=STRATEGIES, default="top_k",
                   help="how segment entropies become a file score")
    p.add_argument("--k", type=int, default=10, help="K of top_k")
    p.add_argument("--diversify", choices=METHODS, default="none",
                   help="diversify each batch")
    p.add_argument("--factor", type=int, default=3,
                   help="diversify among the top factor x batch candidates")


def _labels_args(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    if required:
        p.add_argument("--labels", type=Path, required=True, help="folder of label files")
    p.add_argument("--label-column", default="Annotation", help="Raven label column")
    p.add_argument("--classes", default=None,
                   help="comma-separated event classes (others are an error)")


def _collection_args(p: argparse.ArgumentParser, *, accept_predictions: bool = True) -> None:
    if accept_predictions:
        p.add_argument("--accept-predictions", action="store_true",
                       help="train on label tables whose rows are all unreviewed predictions")
    p.add_argument("--cache", type=Path, default=None,
                   help="embedding cache folder (default $SEDAL_CACHE/embeddings)")
    _yamnet_arg(p)


def _library_grid_args(p: argparse.ArgumentParser, snrs: str) -> None:
    p.add_argument("--sources", type=Path, default=None,
                   help="a source library (default: a built-in one)")
    p.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="the built-in library, without --sources")
    p.add_argument("--n-files", type=int, default=500, help="files per dataset")
    p.add_argument("--snrs", default=snrs, help="comma-separated SNRs in dB")
    p.add_argument("--ratios", default="0.2,1.0", help="comma-separated event ratios")


def _grid_numbers(args) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(SNRs, ratios) of ``--snrs`` and ``--ratios``."""
    try:
        return (tuple(float(x) for x in args.snrs.split(",")),
                tuple(float(x) for x in args.ratios.split(",")))
    except ValueError:
        raise BenchmarkError("--snrs and --ratios take comma-separated numbers") from None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sedbench", description="YAMNet features, supervised SED and the active-learning "
                                     "benchmark.")
    add_output_options(parser, top=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = sub.add_parser("embed", help="build a dataset's feature store")
    p.add_argument("dataset", type=Path, help="dataset dir")
    _feature_args(p)
    add_output_options(p)

    p = sub.add_parser("supervised", help="train on (a fraction of) the training files, "
                                          "print test metrics")
    p.add_argument("dataset", type=Path, help="dataset dir")
    _feature_args(p)
    p.add_argument("--fraction", type=float, default=1.0,
                   help="fraction of the training files to train on")
    p.add_argument("--seed", type=int, default=0, help="seed of the training subset")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads of the classifier fit")
    _detector_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_output_options(p)

    p = sub.add_parser("run", help="active-learning runs: one dataset, a TOML grid (--config) "
                                   "or the study's grid (--all)")
    p.add_argument("dataset", type=Path, nargs="?", default=None,
                   help="one dataset dir (or use --all or --config)")
    p.add_argument("--all", action="store_true", help="the study's grid")
    p.add_argument("--config", type=Path, default=None,
                   help="a grid in TOML (flags given here win over it)")
    _strategy_args(p)
    p.add_argument("--seeds", default=None, help="AL seeds, e.g. 0-4 or 0,1,2 (default 0-4)")
    p.add_argument("--schedule", default=None,
                   help="cumulative labelled fractions, comma separated (default: the "
                        "study's)")
    p.add_argument("--max-fraction", type=float, default=None, help="cut the schedule here")
    p.add_argument("--long-seeds", default="0-19",
                   help="with --all: seeds of Top-10 and Mean on SNR 0, r 0.2 (study Fig. 3)")
    p.add_argument("--dataset-seeds", default="0-4",
                   help="with --all: dataset realisations of SNR 0, r 0.2 that random runs on")
    _detector_args(p)
    _feature_args(p)
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

    p = sub.add_parser("query", help="rank unlabelled recordings for annotation")
    p.add_argument("audio", type=Path, help="folder of recordings (nested)")
    p.add_argument("--labels", type=Path, default=None,
                   help="folder of label files (Raven, BirdNET, Audacity, DCASE tsv, CSV)")
    p.add_argument("--out", type=Path, required=True, help="folder for the ranking and batch")
    _strategy_args(p)
    p.add_argument("--batch", type=int, default=20, help="recordings in the next batch")
    _labels_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed of ties, random ranks and CV")
    _collection_args(p)
    p.add_argument("--scheduler", default=None, help="Dask scheduler for embedding")
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads of predictions and threads of the ranking (classifier "
                        "fits always use one, so their results do not depend on it)")
    _detector_args(p, default="field")
    add_output_options(p)

    p = sub.add_parser("detect", help="detect events in every recording of a folder (train "
                                      "on labelled ones, or use a saved model)")
    p.add_argument("audio", type=Path, help="folder of recordings (nested)")
    p.add_argument("--labels", type=Path, default=None,
                   help="folder of label files to train on (or --model)")
    p.add_argument("--model", type=Path, default=None,
                   help="a saved model folder (--save-model), instead of --labels")
    p.add_argument("--out", type=Path, required=True, help="folder for the tables")
    p.add_argument("--save-model", type=Path, default=None,
                   help="write the trained model to this folder (JSON + npz)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="drop events whose mean class probability is below this "
                        "(default: chosen by cross-validation on the labels, or the model's)")
    p.add_argument("--min-duration", type=float, default=None,
                   help="drop events shorter than this, in s (default: as --min-confidence)")
    p.add_argument("--merge-gap", type=float, default=None,
                   help="merge same-class events separated by at most this, in s "
                        "(default: as --min-confidence)")
    _labels_args(p)
    _collection_args(p)
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads of predictions (classifier fits always use one)")
    _detector_args(p, default="field")
    add_output_options(p)

    p = sub.add_parser("annotate", help="a local web app: label the recordings active "
                                        "learning asks for; the model refits as you save")
    p.add_argument("audio", type=Path, help="folder of recordings (nested)")
    p.add_argument("--labels", type=Path, required=True,
                   help="folder of label files: read at start, one Raven table written per "
                        "saved recording")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for exports (labels.tsv, model/)")
    p.add_argument("--strategy", choices=STRATEGIES, default="top_k",
                   help="how segment entropies become a recording's rank")
    p.add_argument("--k", type=int, default=10, help="K of top_k")
    _labels_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (anything but loopback exposes your files: warned)")
    p.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL")
    p.add_argument("--export", action="store_true",
                   help="no app: write OUT/labels.tsv (DCASE) and OUT/model/ from the labels "
                        "and exit (what the page's Export button does)")
    p.add_argument("--seed", type=int, default=0, help="seed of ties, random ranks and CV")
    _collection_args(p, accept_predictions=False)
    _detector_args(p, default="field")
    add_output_options(p)

    p = sub.add_parser("weights", help="where the YAMNet weights come from: source, sha256, "
                                       "cache path (fetched once if need be)")
    _yamnet_arg(p)
    add_output_options(p)

    p = sub.add_parser("labels", help="label files: check them against the recordings")
    lsub = p.add_subparsers(dest="labels_cmd", required=True, metavar="SUBCOMMAND")
    q = lsub.add_parser("check", help="per recording, the events per class read, and every "
                                      "problem (file:line); exit 1 on problems")
    q.add_argument("audio", type=Path, help="folder of recordings (nested)")
    _labels_args(q, required=True)
    add_output_options(q)

    p = sub.add_parser("difficulty", help="supervised IoU of a library over SNR x ratio, band "
                                          "energies and a raw log-mel baseline")
    _library_grid_args(p, snrs="10,0,-10")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--data", type=Path, default=Path("data/difficulty"),
                   help="where the datasets are found or built")
    p.add_argument("--out", type=Path, required=True,
                   help="result file stem: writes OUT.json and OUT.md")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    _yamnet_arg(p)
    add_output_options(p)

    p = sub.add_parser("detectors", help="the detector study: every option's test IoU over "
                                         "dataset seeds, paired against the paper preset")
    _library_grid_args(p, snrs="0")
    p.add_argument("--options", default=None,
                   help="comma-separated options (default: all; see sedal.benchmark.detectors)")
    p.add_argument("--seeds", default="0-4", help="dataset seeds, e.g. 0-4")
    p.add_argument("--fit-time", type=Path, default=None,
                   help="also time each option's fit on this (2000-file) dataset dir")
    p.add_argument("--data", type=Path, default=Path("data/difficulty"),
                   help="where the datasets are found or built")
    p.add_argument("--out", type=Path, required=True,
                   help="folder: cells/ (resumable), NAME.json, NAME.md, NAME.png")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    _yamnet_arg(p)
    add_output_options(p)

    p = sub.add_parser("compare", help="compare the mean curves of two results dirs")
    p.add_argument("a", type=Path, help="results dir")
    p.add_argument("b", type=Path, help="results dir")
    add_output_options(p)

    p = sub.add_parser("report", help="Markdown + HTML report of a results dir")
    p.add_argument("results", type=Path, help="results dir")
    p.add_argument("--out", type=Path, default=None, help="report folder (default RESULTS/report)")
    add_output_options(p)
    return parser


def _params(args):
    from sedal.sed.features import FeatureParams

    return FeatureParams(segment=args.segment, hop=args.hop, mode=args.mode, dtype=args.dtype)


def run(args: argparse.Namespace) -> int:
    from sedal.core.progress import stage
    from sedal.sed.features import ensure_store, load_dataset_manifest

    if args.cmd == "embed":
        store = ensure_store(args.dataset, _params(args), yamnet_path=args.yamnet,
                             progress=not args.quiet)
        print(f"feature store {store.path}: {store.meta['n_segments']} segments of "
              f"{store.meta['n_files']} files ({store.meta['dtype']})")
    elif args.cmd == "supervised":
        from sedal.sed.estimator import Detector
        from sedal.sed.evaluate import supervised

        if not 0.0 < args.fraction <= 1.0:
            raise BenchmarkError(f"--fraction must be in (0, 1], got {args.fraction}")
        from sedal.sed.detector import detector_store

        doc, _ = load_dataset_manifest(args.dataset)
        det = _detector(args)
        store = detector_store(args.dataset, det, _params(args), yamnet_path=args.yamnet,
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
    elif args.cmd == "run":
        return _run(args)
    elif args.cmd == "query":
        from .query import run_query

        res = run_query(args.audio, args.labels, args.out, strategy=args.strategy, k=args.k,
                        batch=args.batch, diversify_method=args.diversify, factor=args.factor,
                        label_column=args.label_column,
                        classes=class_list(args.classes),
                        seed=args.seed, yamnet=args.yamnet, cache_root=args.cache,
                        scheduler=args.scheduler, accept_predictions=args.accept_predictions,
                        threads=args.threads, progress=not args.quiet,
                        detector=_detector(args))
        for line in res["warnings"]:
            print(f"warning: {line}", file=sys.stderr)
        print(res["text"], end="")
        print(f"wrote {args.out / 'ranking.csv'}")
    elif args.cmd == "labels":
        return _labels_check(args)
    elif args.cmd == "detect":
        from .detect import run_detect

        with stage("detecting", enabled=not args.quiet):
            res = run_detect(args.audio, args.out, labels=args.labels, model_path=args.model,
                             save_model=args.save_model, label_column=args.label_column,
                             classes=class_list(args.classes),
                             min_confidence=args.min_confidence, min_duration=args.min_duration,
                             merge_gap=args.merge_gap, accept_predictions=args.accept_predictions,
                             yamnet=args.yamnet, cache_root=args.cache, threads=args.threads,
                             progress=not args.quiet, detector=_detector(args))
        print(f"{res['recordings']} recordings, {res['events']} events ({res['model']}); "
              f"wrote {args.out}")
    elif args.cmd == "weights":
        from sedal.sed.weights import describe

        for key, value in describe(args.yamnet).items():
            print(f"{key}: {value}")
    elif args.cmd == "difficulty":
        from . import difficulty

        snrs, ratios = _grid_numbers(args)
        res = difficulty.measure(sources=args.sources, builtin=args.builtin,
                                 n_files=args.n_files, snrs=snrs, ratios=ratios, seed=args.seed,
                                 data_root=args.data, jobs=args.jobs, yamnet=args.yamnet,
                                 progress=not args.quiet)
        difficulty.write(res, args.out)
        print(difficulty.format_table(res), end="")
        print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    elif args.cmd == "detectors":
        return _detectors(args)
    elif args.cmd == "annotate":
        from .serve import serve_annotate

        return serve_annotate(args, _detector(args))
    elif args.cmd == "compare":
        from .report import compare_results

        rows = compare_results(args.a, args.b)
        if not rows:
            raise BenchmarkError("the two results dirs share no (dataset, strategy, seed)")
        print(f"{'dataset':<16} {'strategy':<24} {'seeds':<8} {'max |dIoU|':>10} "
              f"{'mean |dIoU|':>11}")
        for r in rows:
            print(f"{r['dataset']:<16} {r['label']:<24} {len(r['seeds']):<8} "
                  f"{r['max_abs_diff']:>10.4f} {r['mean_abs_diff']:>11.4f}")
    elif args.cmd == "report":
        from .report import write_report

        out = write_report(args.results, args.out, progress=not args.quiet)
        print(f"wrote {out / 'report.md'} and {out / 'report.html'}")
    return 0


def _detectors(args) -> int:
    from . import detectors, runner
    from .difficulty import library_name

    snrs, ratios = _grid_numbers(args)
    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    if args.fit_time is not None and not (args.fit_time / "manifest.json").exists():
        raise BenchmarkError(f"--fit-time {args.fit_time}: not a dataset dir (no manifest.json)")
    options = args.options.split(",") if args.options else list(detectors.OPTIONS)
    cells = detectors.run_study(sources=args.sources, builtin=args.builtin,
                                data_root=args.data, out=args.out, options=options,
                                n_files=args.n_files, snrs=snrs, ratios=ratios,
                                seeds=tuple(runner.parse_seeds(args.seeds)), jobs=args.jobs,
                                yamnet=args.yamnet, progress=not args.quiet)
    name = library_name(args.sources, args.builtin)
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


def _labels_check(args) -> int:
    from collections import Counter

    from .query import collect_annotations, scan_audio

    recs, skipped = scan_audio(args.audio)
    ann = collect_annotations(args.labels, recs, label_column=args.label_column,
                              classes=class_list(args.classes),
                              strict=False)
    by_key = {r.key: r for r in recs}
    for key, events in sorted(ann.events.items()):
        counts = Counter(lab for _, _, lab in events)
        per = ", ".join(f"{c} {n}" for c, n in sorted(counts.items())) or "no events"
        print(f"{by_key[key].rel}: {per}  (from {ann.sources[key]})")
    print(f"{len(ann.events)} of {len(recs)} recordings annotated; "
          f"{sum(len(e) for e in ann.events.values())} events")
    for rel, why in skipped:
        print(f"warning: unreadable recording {rel}: {why}", file=sys.stderr)
    for line in ann.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in ann.problems:
        print(f"problem: {line}")
    if ann.problems:
        print(f"labels check failed: {len(ann.problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


def _run(args) -> int:
    import time

    from . import runner
    from .loop import DEFAULT_SCHEDULE

    if args.jobs < 1:
        raise BenchmarkError(f"--jobs must be >= 1, got {args.jobs}")
    chosen = [name for name, v in (("a dataset", args.dataset), ("--all", args.all),
                                   ("--config", args.config)) if v]
    if len(chosen) != 1:
        raise BenchmarkError("run needs exactly one of: a dataset dir, --all, --config"
                             + (f" (got {' and '.join(chosen)})" if chosen else ""))
    # precedence: defaults < the TOML config < flags given on the command line
    seeds, schedule = runner.parse_seeds("0-4"), DEFAULT_SCHEDULE
    if args.config:
        cfg = runner.load_config(args.config)
        exps = runner.experiments_from_config(cfg, args.config.parent)
        if "seeds" in cfg:
            seeds = runner.parse_seeds(cfg["seeds"] if isinstance(cfg["seeds"], str)
                                       else ",".join(str(s) for s in cfg["seeds"]))
        schedule = tuple(cfg.get("schedule", schedule))
        if args.max_fraction is None and "max_fraction" in cfg:
            args.max_fraction = float(cfg["max_fraction"])
    if args.seeds is not None:
        seeds = runner.parse_seeds(args.seeds)
    if args.schedule:
        try:
            schedule = tuple(float(x) for x in args.schedule.split(","))
        except ValueError:
            raise BenchmarkError(f"bad --schedule {args.schedule!r}") from None
    if args.all and args.grid == "real":
        exps = runner.real_grid(args.data, n_files=args.n_files or 500)
    elif args.all:
        exps = runner.study_grid(args.data, n_files=args.n_files or 2500,
                                 seeds=seeds, long_seeds=runner.parse_seeds(args.long_seeds),
                                 dataset_seeds=runner.parse_seeds(args.dataset_seeds),
                                 builtin=args.builtin)
    elif args.dataset:
        exps = [runner.Experiment(str(args.dataset), args.strategy, args.k, args.diversify)]
    progress = not args.quiet
    plan = runner.resolve(exps, seeds, schedule=schedule, max_fraction=args.max_fraction,
                          detector=_detector(args), features=_params(args), factor=args.factor,
                          sources=args.sources, warm_start=not args.cold,
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sedbench``; returns the exit code."""
    args = parse_args(build_parser(), argv)
    if isinstance(args, int):
        return args
    apply_verbosity(args)
    return run_main(lambda: run(args), (BenchmarkError, SedError, GeneratorError),
                    debug=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
