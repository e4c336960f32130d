"""What every sedal command line shares: turning user errors into one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def run_main(run: Callable[[], int], errors: tuple[type[BaseException], ...]) -> int:
    """Call ``run``; print ``error: <message>`` and return 2 for ``errors`` and OS errors,
    130 on Ctrl-C (the work done so far is kept; rerunning resumes)."""
    try:
        return run()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``error: ...``) and exit 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")
