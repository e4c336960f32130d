"""What every sedal command line shares: turning user errors into one line and exit 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from .errors import SedalError


def run_main(run: Callable[[], int], errors: tuple[type[BaseException], ...] = (),
             debug: bool = False) -> int:
    """Call ``run`` and turn every user-facing failure into one line on stderr.

    Exit codes: 2 for :class:`~sedal.core.errors.SedalError` (every layer's errors) and
    any other ``errors``, OS errors (full disk, permissions...), ``ValueError``
    and ``MemoryError``; 130 on Ctrl-C (the work done so far is kept; rerunning
    resumes). ``debug`` (``--verbose``) or ``SEDAL_DEBUG=1`` gives the traceback instead.
    """
    debug = debug or os.environ.get("SEDAL_DEBUG") == "1"
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except (SedalError, *errors, OSError, ValueError, MemoryError) as exc:
        if debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2


def one_line(exc: BaseException) -> str:
    """A one-line message for ``exc`` (OS errors name their file; others their type when
    the message is empty)."""
    if isinstance(exc, MemoryError):
        return "not enough memory for this job (use fewer or shorter files)"
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


#: Exit codes of ``sedgen`` and ``sedbench`` (the README's table is generated from this).
EXIT_CODES = {
    0: "done",
    1: "a check found problems (verify, regenerate, sources check, labels check)",
    2: "bad input or usage: a one-line error, nothing half-written",
    130: "interrupted (Ctrl-C): the work done is kept; the same command resumes",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, except "nothing" (``None``/``False``)."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """The parser of both tools: one-line usage errors (``error: ...``, exit 2), defaults
    in the help, and ``-q/--quiet`` and ``-v/--verbose`` accepted before or after the
    subcommand. Options must be spelled out: a prefix (``--dataset`` for
    ``--dataset-seeds``) is an error, not a silent guess."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None):
    """``parser.parse_args(argv)``, or the exit code argparse chose (2 after a one-line
    usage error, 0 after ``--help``) so that ``main()`` returns it instead of exiting."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2


def add_output_options(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-q/--quiet`` (no progress bars; ``--no-progress`` is the same) and ``-v/--verbose``
    (TensorFlow's messages, and the traceback of an error). On the top-level parser they
    default to off; on subcommands they only set (so either place works)."""
    kw = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("-q", "--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="no progress bars", **kw)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show TensorFlow's messages and the traceback of an error", **kw)
    if top:
        from sedal import __version__

        p.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                       help="print the version and exit")


def apply_verbosity(args: argparse.Namespace) -> None:
    """Act on ``--verbose`` before TensorFlow is imported: its log level (its own
    ``TF_CPP_MIN_LOG_LEVEL``)."""
    if getattr(args, "verbose", False):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _subcommands(parser: argparse.ArgumentParser, prefix: str):
    """``(command line prefix, parser)`` of every leaf subcommand."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _subcommands(sub, f"{prefix} {name}")


def grammar_table(parsers: dict[str, argparse.ArgumentParser]) -> str:
    """The Markdown table of every subcommand of ``parsers`` (``{"sedgen": parser, ...}``):
    its positional arguments and its options (``-q``/``-v``/``-h``, which every command
    takes, left out). The README's grammar section is this text (a test checks)."""
    lines = ["| command | arguments | options |", "|---|---|---|"]
    for tool, parser in parsers.items():
        for cmd, p in _subcommands(parser, tool):
            pos = [a.metavar or a.dest.upper() for a in p._actions
                   if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
            pos = [f"[{x}]" if a.nargs == "?" else x for x, a in zip(pos, [
                a for a in p._actions if not a.option_strings
                and not isinstance(a, argparse._SubParsersAction)], strict=True)]
            opts = []
            for a in p._actions:
                long = [o for o in a.option_strings if o.startswith("--")]
                if not long or long[0] in ("--help", "--quiet", "--verbose"):
                    continue
                opts.append(f"`{long[0]}`" + ("*" if a.required else ""))
            lines.append(f"| `{cmd}` | {' '.join(f'`{x}`' for x in pos)} | {', '.join(opts)} |")
    return "\n".join(lines) + "\n"


def exit_code_table() -> str:
    """The Markdown table of :data:`EXIT_CODES`."""
    return "| exit code | meaning |\n|---|---|\n" + "".join(
        f"| {code} | {what} |\n" for code, what in EXIT_CODES.items())
