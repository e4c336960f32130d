"""``sedbench``: the thin command line over :mod:`sed` and :mod:`benchmark`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from generator.errors import GeneratorError
from sed.errors import SedError

from .errors import BenchmarkError


def _feature_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yamnet", type=Path, default=None,
                   help="YAMNet SavedModel dir or yamnet.h5 (else $SEDAL_YAMNET, cache, TF-Hub, "
                        "PyPI wheel)")
    p.add_argument("--mode", choices=("patch", "context"), default="patch")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    p.add_argument("--segment", type=float, default=0.12, help="segment length in s")
    p.add_argument("--hop", type=float, default=0.06, help="segment hop in s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sedbench", description="YAMNet features, supervised SED and the active-learning "
                                     "benchmark.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("embed", help="build a dataset's feature store")
    p.add_argument("dataset", type=Path)
    _feature_args(p)
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("supervised", help="train on (a fraction of) the training files, "
                                          "print test metrics")
    p.add_argument("dataset", type=Path)
    _feature_args(p)
    p.add_argument("--fraction", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    return parser


def _params(args):
    from sed.features import FeatureParams

    return FeatureParams(segment=args.segment, hop=args.hop, mode=args.mode, dtype=args.dtype)


def run(args: argparse.Namespace) -> int:
    from sed.features import ensure_store, load_dataset_manifest

    if args.cmd == "embed":
        store = ensure_store(args.dataset, _params(args), yamnet_path=args.yamnet,
                             progress=not args.no_progress)
        print(f"feature store {store.path}: {store.meta['n_segments']} segments of "
              f"{store.meta['n_files']} files ({store.meta['dtype']})")
    elif args.cmd == "supervised":
        from sed.evaluate import supervised

        if not 0.0 < args.fraction <= 1.0:
            raise BenchmarkError(f"--fraction must be in (0, 1], got {args.fraction}")
        doc, _ = load_dataset_manifest(args.dataset)
        store = ensure_store(args.dataset, _params(args), yamnet_path=args.yamnet,
                             progress=not args.no_progress)
        res = supervised(store, doc, args.fraction, random_state=args.seed,
                         max_iter=args.max_iter)
        if args.json:
            print(json.dumps(res, sort_keys=True))
        else:
            print(f"trained on {res['n_train_files']} files in {res['fit_seconds']:.1f} s")
            print(f"total IoU  {res['total_iou']:.4f}")
            print(f"macro IoU  {res['macro_iou']:.4f}")
            for c, v in res["per_class_iou"].items():
                print(f"  {c:<12} {'n/a' if v is None else f'{v:.4f}'}")
            print(f"event F1 (collar 0.2 s)  {res['event_f1']:.4f}")
            print(f"segment F1 (1 s)         {res['segment_f1']:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sedbench``; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (BenchmarkError, SedError, GeneratorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
