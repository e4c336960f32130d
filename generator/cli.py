"""``sedgen``: the thin command line over :mod:`generator`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sedal.core.cli import Parser, add_output_options, apply_verbosity, parse_args, run_main

from .builtin import BUILTINS, DEFAULT_BUILTIN
from .corpora.registry import CORPORA
from .errors import GeneratorError
from .spec import STUDY_GRID, DatasetSpec

#: The spec fields ``make`` takes as flags: (flag, DatasetSpec field, type, help). One table
#: for the parser and for :func:`spec_from_args`.
MAKE_FLAGS = (
    ("--snr", "snr", float, "event SNR in dB"),
    ("--ratio", "event_ratio", float, "event ratio r: fraction of files with events"),
    ("--n-files", "n_files", int, "number of files"),
    ("--duration", "duration", float, "file length in s"),
    ("--sr", "sr", int, "sample rate in Hz"),
    ("--max-event-duration", "max_event_duration", float, "cap on event length in s"),
    ("--ref-db", "ref_db", float, "background loudness in LUFS"),
    ("--train-fraction", "train_fraction", float, "fraction of files in the train split"),
    ("--seed", "seed", int, "dataset seed"),
)


def _add_make_args(p: argparse.ArgumentParser) -> None:
    d = DatasetSpec()
    for flag, field, kind, what in MAKE_FLAGS:
        p.add_argument(flag, type=kind, default=None,
                       help=f"{what} (default {getattr(d, field):g})")
    p.add_argument("--snr-range", type=float, nargs=2, metavar=("LO", "HI"),
                   help="draw each event's SNR uniformly in [LO, HI] dB (instead of --snr)")
    p.add_argument("--config", type=Path,
                   help="TOML file with a [dataset] table (flags given here win over it)")


def _library_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sources", type=Path, default=None,
                   help="source library in Scaper's layout (default: a built-in one)")
    p.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="which built-in library, without --sources: 'field' (field-realistic) "
                        "or 'clean' (the first, easily separable one)")


def _jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=int, default=1, help="worker processes")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sedgen", description="Reproducible Scaper soundscape datasets for bioacoustic SED.")
    add_output_options(parser, top=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _add_dataset_commands(sub)
    _add_source_commands(sub)
    return parser


def _add_dataset_commands(sub) -> None:
    """``make``, ``grid``, ``info``, ``verify`` and ``regenerate``."""
    p = sub.add_parser("make", help="build one dataset")
    _add_make_args(p)
    _library_args(p)
    _jobs(p)
    p.add_argument("--out", type=Path, default=None,
                   help="dataset dir (default data/snr<SNR>_r<RATIO>)")
    p.add_argument("--force", action="store_true", help="replace a different dataset in --out")
    add_output_options(p)

    p = sub.add_parser("grid", help="build the study's grid of datasets")
    _library_args(p)
    _jobs(p)
    p.add_argument("--n-files", type=int, default=2500, help="files per dataset")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--out", type=Path, default=None,
                   help="folder of the grid's datasets (default data, or data/builtin-NAME "
                        "for a non-default --builtin)")
    p.add_argument("--manifests", type=Path, default=None,
                   help="also write gzipped manifests into this folder (e.g. data_manifests)")
    p.add_argument("--force", action="store_true", help="replace different datasets")
    add_output_options(p)

    p = sub.add_parser("info", help="summarise a dataset dir")
    p.add_argument("dir", type=Path, help="dataset dir")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_output_options(p)

    p = sub.add_parser("verify", help="check a dataset dir against its manifest (exit 1 on "
                                      "differences)")
    p.add_argument("dir", type=Path, help="dataset dir")
    add_output_options(p)

    p = sub.add_parser("regenerate", help="re-render a dataset from its manifest (exit 1 on "
                                          "differences)")
    p.add_argument("manifest", type=Path, help="manifest.json or .manifest.json.gz")
    p.add_argument("--out", type=Path, required=True, help="dataset dir to write")
    p.add_argument("--files", nargs="+", default=None, metavar="ID", help="only these file ids")
    p.add_argument("--force", action="store_true",
                   help="replace a different dataset (or other files) in --out")
    p.add_argument("--sources", type=Path, default=None,
                   help="the folder library it was made from (built-in ones are rebuilt)")
    _jobs(p)
    add_output_options(p)


def _add_source_commands(sub) -> None:
    """``cite``, ``license`` and ``sources`` (builtin, fetch, check)."""
    for name, what in (("cite", "BibTeX for a dataset: sedal, the study, Scaper and every "
                                "corpus or recording its clips cite"),
                       ("license", "licences and attributions of the source clips a dataset "
                                   "uses")):
        p = sub.add_parser(name, help=what)
        p.add_argument("dir", type=Path, help="dataset dir (or its manifest)")
        if name == "cite":
            p.add_argument("--format", choices=("bibtex", "cff"), default="bibtex",
                           help="BibTeX entries, or a CITATION.cff (Citation File Format 1.2)")
        p.add_argument("--sources", type=Path, default=None,
                       help="the folder library it was made from, for datasets without a "
                            "SOURCES.csv (made by an older sedal)")
        add_output_options(p)

    p = sub.add_parser("sources", help="source libraries: builtin, fetch, check")
    ssub = p.add_subparsers(dest="sources_cmd", required=True, metavar="SUBCOMMAND")
    q = ssub.add_parser("builtin", help="write a built-in (synthetic) library to a folder")
    q.add_argument("--out", type=Path, required=True, help="library folder to write")
    q.add_argument("--seed", type=int, default=0, help="synthesis seed")
    q.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="which built-in library")
    add_output_options(q)
    q = ssub.add_parser("fetch", help="download a published corpus into a library (its "
                                      "licence is shown first)")
    q.add_argument("name", choices=sorted(CORPORA), help="corpus")
    q.add_argument("--out", type=Path, required=True, help="library folder to add to")
    q.add_argument("--mirror", default=None, help="base URL serving the corpus files")
    q.add_argument("--lock", type=Path, default=None, help="checksum lock file")
    q.add_argument("--timeout", type=float, default=30.0, help="network time-out in s")
    add_output_options(q)
    q = ssub.add_parser("check", help="validate a library and print a table (exit 1 on "
                                      "problems)")
    q.add_argument("dir", type=Path, help="library folder")
    add_output_options(q)


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    """Build the spec: defaults, then ``--config``, then explicit flags."""
    spec = DatasetSpec.from_toml(args.config) if args.config else DatasetSpec()
    changes = {}
    for flag, field, _, _ in MAKE_FLAGS:
        v = getattr(args, flag[2:].replace("-", "_"))
        if v is not None:
            changes[field] = v
    if args.snr_range is not None:
        changes["snr_range"] = tuple(args.snr_range)
    return spec.replace(**changes) if changes else spec


#: ``sedgen verify`` lists missing files one by one up to this many, then summarises.
MAX_MISSING_LISTED = 20


def _print_info(info: dict) -> None:
    print(f"dataset {info['dataset_id']} (sources: {info['sources']})")
    if "manifest_sha256" in info:
        print(f"  manifest_sha256 {info['manifest_sha256']} (manifest format "
              f"{info.get('format_version')}): the id to cite")
    for split, s in info["splits"].items():
        per = ", ".join(f"{k} {v}" for k, v in s["events_per_class"].items()) or "none"
        print(f"  {split}: {s['files']} files, {s['files_with_events']} with events "
              f"(ratio {s['event_ratio']:.3f}), {s['events']} events ({per}), "
              f"active time {100 * s['active_fraction']:.2f}%")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code."""
    commands = {"make": _make, "grid": _grid, "info": _info, "verify": _verify,
                "regenerate": _regenerate, "cite": _cite, "license": _cite,
                "sources": _sources}
    return commands[args.cmd](args)


def _make(args) -> int:
    from . import dataset, outputs

    progress = not args.quiet
    spec = spec_from_args(args)
    out = args.out or Path("data") / spec.default_dirname()
    dataset.make_dataset(spec, out, sources=args.sources, jobs=args.jobs, force=args.force,
                         progress=progress, builtin=args.builtin)
    print(f"wrote {out}")
    _print_info(outputs.dataset_info(out))
    return 0


def _grid(args) -> int:
    from . import dataset

    progress = not args.quiet
    from .manifest import load_manifest, write_manifest

    root = args.out or (Path("data") if args.builtin == DEFAULT_BUILTIN
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
    return 0


def _info(args) -> int:
    from . import dataset, outputs

    info = outputs.dataset_info(args.dir)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        from sedal import __version__

        from .attribution import dataset_bibtex
        from .manifest import Manifest, load_manifest

        _print_info(info)
        path = args.dir / dataset.MANIFEST_NAME if args.dir.is_dir() else args.dir
        print("\ncite it as (the full bibliography, sources included: sedgen cite; "
              "CITATION.cff: sedgen cite --format cff):\n")
        print(dataset_bibtex(Manifest.from_dict(load_manifest(path)), __version__))
    return 0


def _verify(args) -> int:
    from . import dataset, regenerate

    problems = regenerate.verify_dataset(args.dir)
    if problems:
        missing = [p for p in problems if p.startswith("missing: ")]
        shown = problems if len(missing) <= MAX_MISSING_LISTED else \
            [p for p in problems if p not in set(missing)]
        for line in shown:
            print(line)
        if len(shown) < len(problems):
            print(f"missing: {len(missing)} files, e.g. {missing[0][len('missing: '):]} "
                  "(not listed one by one)")
        print(f"verify failed: {len(problems) - len(missing)} file(s) changed, "
              f"{len(missing)} missing", file=sys.stderr)
        if missing:
            mpath = args.dir / dataset.MANIFEST_NAME if args.dir.is_dir() else args.dir
            print(f"hint: a partial regenerate? fill in the rest with: sedgen regenerate "
                  f"{mpath} --out {mpath.parent}", file=sys.stderr)
        return 1
    print(f"{args.dir}: every file matches its manifest")
    return 0


def _regenerate(args) -> int:
    from . import regenerate

    progress = not args.quiet
    from .manifest import load_manifest

    if load_manifest(args.manifest)["format_version"] == 1:
        print("note: a format-1 manifest: its bytes reproduce only on a CPU of the kind "
              "that wrote it (format 2 is machine-independent)", file=sys.stderr)
    bad = regenerate.regenerate_dataset(args.manifest, args.out, sources=args.sources,
                                     jobs=args.jobs, ids=args.files, force=args.force,
                                     progress=progress)
    if bad:
        for rel in bad:
            print(f"differs: {rel}")
        print(f"regenerate: {len(bad)} file(s) differ from the manifest (different package "
              "versions? see the manifest's 'versions')", file=sys.stderr)
        return 1
    if args.files:
        print(f"regenerated {len(set(args.files))} file(s) into {args.out}; every file "
              "matches the manifest (the others are not written: sedgen verify lists them)")
    else:
        print(f"regenerated into {args.out}; every file matches the manifest")
    return 0


def _cite(args) -> int:
    from sedal import __version__

    from .attribution import bibtex, cff, dataset_sources, licence_text

    doc, rows = dataset_sources(args.dir, args.sources)
    if args.cmd == "license":
        text = licence_text(doc, rows)
    else:
        text = (cff if args.format == "cff" else bibtex)(doc, rows, __version__)
    print(text, end="")
    return 0


def _sources(args) -> int:
    if args.sources_cmd == "builtin":
        from .builtin import write_builtin

        write_builtin(args.out, args.seed, library=args.builtin, progress=not args.quiet)
        print(f"wrote the built-in (synthetic) source library '{args.builtin}' to {args.out}")
    elif args.sources_cmd == "fetch":
        from .corpora.fetch import fetch_corpus

        corpus = CORPORA.get(args.name)
        if corpus is not None:  # the licence comes before any byte is downloaded
            print(f"{corpus.title}\nlicence: {corpus.licence} (see {corpus.homepage})\n"
                  f"cite: {corpus.citation}", file=sys.stderr)
        counts = fetch_corpus(args.name, args.out, mirror=args.mirror, lock_path=args.lock,
                              timeout=args.timeout, progress=not args.quiet)
        for cls, n in counts.items():
            print(f"{cls}: {n} clips")
        print(f"library {args.out} updated (provenance in {args.out / 'provenance.csv'})")
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
    args = parse_args(build_parser(), argv)
    if isinstance(args, int):
        return args
    apply_verbosity(args)
    return run_main(lambda: run(args), (GeneratorError,), debug=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
