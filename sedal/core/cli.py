"""What every sedal command line shares: turning user errors into one line and exit 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from .errors import SedalError


def run_main(run: Callable[[], int], errors: tuple[type[BaseException], ...] = ()) -> int:
    """Call ``run`` and turn every user-facing failure into one line on stderr.

    Exit codes: 2 for :class:`~sedal.core.errors.SedalError` (every layer's errors) and
    any other ``errors``, OS errors (full disk, permissions...), ``ValueError``
    and ``MemoryError``; 130 on Ctrl-C (the work done so far is kept; rerunning
    resumes). Set ``SEDAL_DEBUG=1`` to get the traceback instead.
    """
    debug = os.environ.get("SEDAL_DEBUG") == "1"
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


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``error: ...``) and exit 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")
