"""The annotation app's background refit: one worker thread that refits and re-ranks after
saves, coalescing saves that arrive while it works."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sedal.benchmark.practice.annotate import AnnotationSession


class RefitWorker:
    """A background thread that refits the session whenever labels were saved since the
    last fit (saves during a fit are picked up by the next one)."""

    def __init__(self, session: AnnotationSession, poll: float = 0.1):
        self.session = session
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.busy = False
        self.error: str | None = None
        self.thread = threading.Thread(target=self._loop, name="sedal-refit", daemon=True)
        self.thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set() or not self.session.stale():
                continue
            self.busy = True
            try:
                self.session.refit()
                self.error = None
            except Exception as exc:  # shown on the page; the next save retries
                self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            finally:
                self.busy = False
