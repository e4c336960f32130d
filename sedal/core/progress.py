"""Progress for long work: a tqdm bar on a terminal, one stage line per stage elsewhere.

A bar redrawn with carriage returns is unreadable in a log file or CI output, so when
stderr is not a terminal each stage prints one line when it starts and one when it ends
(with the count and the elapsed time), and nothing in between.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class StageLines:
    """The non-terminal stand-in for a tqdm bar: ``update``/``close`` like tqdm's."""

    def __init__(self, total: int | None, desc: str, unit: str, stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = 0
        self.stream = stream if stream is not None else sys.stderr
        self._t0 = time.monotonic()
        self._closed = False
        of = f" ({total} {unit}{'s' if total != 1 else ''})" if total is not None else ""
        print(f"{desc}: started{of}", file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:  # tqdm's API
        pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        secs = time.monotonic() - self._t0
        print(f"{self.desc}: done, {self.n} {self.unit}{'s' if self.n != 1 else ''} in "
              f"{secs:.1f} s", file=self.stream, flush=True)

    def __enter__(self) -> StageLines:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Silent(StageLines):
    def __init__(self, total=None, desc="", unit="it"):
        self.n, self._closed = 0, True

    def close(self) -> None:
        pass


def progress_bar(total: int | None = None, *, desc: str, unit: str = "it",
                 enabled: bool = True, stream=None, **tqdm_kw):
    """A progress object with ``update(n)`` and ``close()`` (and a context manager).

    Parameters
    ----------
    total : int, optional
        Number of units of work.
    desc : str
        The stage's name.
    unit : str
        What one unit is (``file``, ``run``...).
    enabled : bool
        False: nothing is printed (``-q``).
    stream : file, optional
        Where to write (default stderr). A terminal gets a tqdm bar with ETA, anything
        else one line at the start and one at the end of the stage.
    """
    if not enabled:
        return _Silent()
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream, **tqdm_kw)
    return StageLines(total, desc, unit, stream)


def track(items: Iterable, *, desc: str, unit: str = "it", enabled: bool = True,
          total: int | None = None) -> Iterator:
    """Iterate over ``items`` with a :func:`progress_bar` (``len(items)`` as the total)."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    bar = progress_bar(total, desc=desc, unit=unit, enabled=enabled)
    try:
        for x in items:
            yield x
            bar.update(1)
    finally:
        bar.close()


class stage:  # noqa: N801 - used as a context manager, like contextlib's
    """One step of unknown length: a line when it starts and one when it ends (with the
    elapsed time), on a terminal or not; nothing when ``enabled`` is False.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> with stage("training", stream=buf):
    ...     pass
    >>> buf.getvalue().splitlines()[0]
    'training: started'
    """

    def __init__(self, desc: str, *, enabled: bool = True, stream=None):
        self.desc, self.enabled = desc, enabled
        self.stream = stream

    def __enter__(self) -> stage:
        self._t0 = time.monotonic()
        if self.enabled:
            print(f"{self.desc}: started", file=self.stream or sys.stderr, flush=True)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self.enabled and exc_type is None:
            print(f"{self.desc}: done in {time.monotonic() - self._t0:.1f} s",
                  file=self.stream or sys.stderr, flush=True)
