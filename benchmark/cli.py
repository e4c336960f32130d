"""``sedbench``: the thin command line over :mod:`sedal.sed` and :mod:`sedal.benchmark`.

Each command's parser and runner live together in :mod:`sedal.benchmark.commands`; this
module puts them in one parser (in the order of ``sedbench --help``) and dispatches.
"""

from __future__ import annotations

import argparse
import sys

from sedal.benchmark.commands import al, practice, studies
from sedal.benchmark.commands.common import class_list  # noqa: F401 - public, used by serve
from sedal.benchmark.errors import BenchmarkError
from sedal.core.cli import Parser, add_output_options, apply_verbosity, parse_args, run_main
from sedal.generator.errors import GeneratorError
from sedal.sed.errors import SedError

#: Every command: name -> (module holding add_NAME and run_NAME), in help order.
COMMANDS = {"embed": al, "supervised": al, "run": al, "query": practice, "detect": practice,
            "annotate": practice, "weights": practice, "license": practice,
            "labels": practice,
            "difficulty": studies, "detectors": studies, "compare": al, "report": al,
            "ceiling": al, "study": studies}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sedbench", description="YAMNet features, supervised SED and the active-learning "
                                     "benchmark.")
    add_output_options(parser, top=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        getattr(module, f"add_{name}")(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code."""
    return getattr(COMMANDS[args.cmd], f"run_{args.cmd}")(args)


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
