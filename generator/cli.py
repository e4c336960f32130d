"""``sedgen``: the thin command line over :mod:`generator`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sedal.core.cli import Parser, run_main

from .builtin import BUILTINS, DEFAULT_BUILTIN
from .errors import GeneratorError
from .spec import STUDY_GRID, DatasetSpec


def _add_make_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snr", type=float, default=None, help="event SNR in dB (default 0)")
    p.add_argument("--snr-range", type=float, nargs=2, metavar=("LO", "HI"),
                   help="draw each event's SNR uniformly in [LO, HI] dB")
    p.add_argument("--ratio", type=float, default=None,
                   help="event ratio r: fraction of files with events (default 0.2)")
    p.add_argument("--n-files", type=int, default=None, help="number of files (default 2500)")
    p.add_argument("--duration", type=float, default=None, help="file length in s (default 10)")
    p.add_argument("--sr", type=int, default=None, help="sample rate in Hz (default 16000)")
    p.add_argument("--max-event-duration", type=float, default=None,
                   help="cap on event length in s (default 4)")
    p.add_argument("--ref-db", type=float, default=None, help="background LUFS (default -20)")
    p.add_argument("--train-fraction", type=float, default=None, help="default 0.8")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--config", type=Path, help="TOML file with a [dataset] table")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sources", type=Path, default=None,
                   help="source library in Scaper's layout (default: a built-in one)")
    p.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="which built-in library, without --sources: 'field' (field-realistic) "
                        f"or 'clean' (the first, easily separable one); default {DEFAULT_BUILTIN}")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sedgen", description="Reproducible Scaper soundscape datasets for bioacoustic SED.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("make", help="build one dataset")
    _add_make_args(p)
    _common(p)
    p.add_argument("--out", type=Path, default=None, help="default data/snr<snr>_r<ratio>")
    p.add_argument("--force", action="store_true", help="replace a different dataset in --out")

    p = sub.add_parser("grid", help="build the study's grid of datasets")
    _common(p)
    p.add_argument("--n-files", type=int, default=2500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-root", type=Path, default=None,
                   help="default data (data/builtin-NAME for a non-default --builtin)")
    p.add_argument("--manifests", type=Path, default=None,
                   help="also write gzipped manifests into this folder (e.g. data_manifests)")
    p.add_argument("--force", action="store_true")

    p = sub.add_parser("info", help="summarise a dataset dir")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("verify", help="check a dataset dir against its manifest")
    p.add_argument("dir", type=Path)

    p = sub.add_parser("regenerate", help="re-render a dataset from its manifest")
    p.add_argument("manifest", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--files", nargs="+", default=None, metavar="ID",
                   help="only these file ids")
    p.add_argument("--force", action="store_true",
                   help="replace a different dataset (or other files) in --out")
    _common(p)

    p = sub.add_parser("cite", help="BibTeX for a dataset: sedal, the study, Scaper and "
                                    "every corpus or recording its clips cite")
    p.add_argument("dir", type=Path, help="dataset dir (or its manifest)")
    p.add_argument("--sources", type=Path, default=None,
                   help="the folder library it was made from, for datasets without a "
                        "SOURCES.csv (made by an older sedal)")

    p = sub.add_parser("license", help="licences and attributions of the source clips a "
                                       "dataset uses")
    p.add_argument("dir", type=Path, help="dataset dir (or its manifest)")
    p.add_argument("--sources", type=Path, default=None,
                   help="the folder library it was made from, for datasets without a "
                        "SOURCES.csv (made by an older sedal)")

    p = sub.add_parser("sources", help="source libraries")
    ssub = p.add_subparsers(dest="sources_cmd", required=True)
    q = ssub.add_parser("builtin", help="write a built-in (synthetic) library to a folder")
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--library", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help=f"which built-in library (default {DEFAULT_BUILTIN})")
    q = ssub.add_parser("fetch", help="download a published corpus into a library")
    q.add_argument("name", help="esc50, nigens, dcase-fewshot or tut-park")
    q.add_argument("--dest", type=Path, required=True, help="library folder")
    q.add_argument("--mirror", default=None, help="base URL serving the corpus files")
    q.add_argument("--lock", type=Path, default=None, help="checksum lock file")
    q.add_argument("--timeout", type=float, default=30.0, help="network time-out in s")
    q.add_argument("--no-progress", action="store_true")
    q = ssub.add_parser("check", help="validate a library and print a table")
    q.add_argument("dir", type=Path)
    return parser


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    """Build the spec: defaults, then ``--config``, then explicit flags."""
    spec = DatasetSpec.from_toml(args.config) if args.config else DatasetSpec()
    changes = {}
    for flag, field in (("snr", "snr"), ("ratio", "event_ratio"), ("n_files", "n_files"),
                        ("duration", "duration"), ("sr", "sr"),
                        ("max_event_duration", "max_event_duration"), ("ref_db", "ref_db"),
                        ("train_fraction", "train_fraction"), ("seed", "seed")):
        v = getattr(args, flag)
        if v is not None:
            changes[field] = v
    if args.snr_range is not None:
        changes["snr_range"] = tuple(args.snr_range)
    return spec.replace(**changes) if changes else spec


def _print_info(info: dict) -> None:
    print(f"dataset {info['dataset_id']} (sources: {info['sources']})")
    for split, s in info["splits"].items():
        per = ", ".join(f"{k} {v}" for k, v in s["events_per_class"].items()) or "none"
        print(f"  {split}: {s['files']} files, {s['files_with_events']} with events "
              f"(ratio {s['event_ratio']:.3f}), {s['events']} events ({per}), "
              f"active time {100 * s['active_fraction']:.2f}%")


def run(args: argparse.Namespace) -> int:
    from . import dataset

    progress = not getattr(args, "no_progress", True)
    if args.cmd == "make":
        spec = spec_from_args(args)
        out = args.out or Path("data") / spec.default_dirname()
        dataset.make_dataset(spec, out, sources=args.sources, jobs=args.jobs, force=args.force,
                             progress=progress, builtin=args.builtin)
        print(f"wrote {out}")
        _print_info(dataset.dataset_info(out))
    elif args.cmd == "grid":
        from .manifest import load_manifest, write_manifest

        root = args.out_root or (Path("data") if args.builtin == DEFAULT_BUILTIN
                                 else Path("data") / f"builtin-{args.builtin}")
        for snr, ratio in STUDY_GRID:
            spec = DatasetSpec(n_files=args.n_files, seed=args.seed, snr=snr, event_ratio=ratio)
            out = root / spec.default_dirname()
            dataset.make_dataset(spec, out, sources=args.sources, jobs=args.jobs,
                                 force=args.force, progress=progress, builtin=args.builtin)
            print(f"wrote {out}")
            if args.manifests is not None:
                doc = load_manifest(out / "manifest.json")
                dest = args.manifests / f"{spec.default_dirname()}_n{args.n_files}" \
                    f"_seed{args.seed}.manifest.json.gz"
                write_manifest(dest, {k: v for k, v in doc.items() if k != "manifest_sha256"},
                               compress=True)
                print(f"wrote {dest}")
    elif args.cmd == "info":
        info = dataset.dataset_info(args.dir)
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            _print_info(info)
    elif args.cmd == "verify":
        problems = dataset.verify_dataset(args.dir)
        if problems:
            for line in problems:
                print(line)
            print(f"verify failed: {len(problems)} file(s) missing or changed", file=sys.stderr)
            return 1
        print(f"{args.dir}: every file matches its manifest")
    elif args.cmd == "regenerate":
        bad = dataset.regenerate_dataset(args.manifest, args.out, sources=args.sources,
                                         jobs=args.jobs, ids=args.files, force=args.force,
                                         progress=progress)
        if bad:
            for rel in bad:
                print(f"differs: {rel}")
            print(f"regenerate: {len(bad)} file(s) differ from the manifest (different package "
                  "versions? see the manifest's 'versions')", file=sys.stderr)
            return 1
        print(f"regenerated into {args.out}; every file matches the manifest")
    elif args.cmd in ("cite", "license"):
        from sedal import __version__

        from .attribution import bibtex, dataset_sources, licence_text

        doc, rows = dataset_sources(args.dir, args.sources)
        print(bibtex(doc, rows, __version__) if args.cmd == "cite" else licence_text(doc, rows),
              end="")
    elif args.cmd == "sources":
        return _sources(args)
    return 0


def _sources(args) -> int:
    if args.sources_cmd == "builtin":
        from .builtin import write_builtin

        write_builtin(args.out, args.seed, library=args.library, progress=True)
        print(f"wrote the built-in (synthetic) source library '{args.library}' to {args.out}")
    elif args.sources_cmd == "fetch":
        from .corpora.fetch import fetch_corpus
        from .corpora.registry import CORPORA

        corpus = CORPORA.get(args.name)
        if corpus is not None:  # the licence comes before any byte is downloaded
            print(f"{corpus.title}\nlicence: {corpus.licence} (see {corpus.homepage})\n"
                  f"cite: {corpus.citation}", file=sys.stderr)
        counts = fetch_corpus(args.name, args.dest, mirror=args.mirror, lock_path=args.lock,
                              timeout=args.timeout, progress=not args.no_progress)
        for cls, n in counts.items():
            print(f"{cls}: {n} clips")
        print(f"library {args.dest} updated (provenance in {args.dest / 'provenance.csv'})")
    elif args.sources_cmd == "check":
        from .corpora.check import background_warnings, check_library, format_table

        reports, problems = check_library(args.dir)
        for line in background_warnings(args.dir, reports):
            print(f"warning: {line}", file=sys.stderr)
        print(format_table(reports))
        if problems:
            for line in problems:
                print(f"problem: {line}")
            print(f"check failed: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        print("library OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sedgen``; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_main(lambda: run(args), (GeneratorError,))


if __name__ == "__main__":
    sys.exit(main())
