"""Worker processes that die with the command that started them."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

_WATCHING = threading.Event()  # set once this process watches its parent


def die_with_parent(*, pdeathsig: bool = True, interval: float = 0.5) -> None:
    """Make this (worker) process exit as soon as its parent process is gone.

    Killing ``sedgen make --jobs N`` or ``sedbench run --jobs N`` must stop every
    writer at once, not let workers finish (and write) whatever they hold.

    Parameters
    ----------
    pdeathsig : bool
        On Linux, also ask the kernel for SIGKILL when the parent dies
        (``PR_SET_PDEATHSIG``). Only right when the parent's *thread* that started this
        process lives as long as the pool (true for ProcessPoolExecutor's ``submit``).
    interval : float
        Seconds between checks of the parent by the watchdog thread (any platform).
    """
    if _WATCHING.is_set():
        return
    _WATCHING.set()
    parent = os.getppid()
    if pdeathsig and sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if os.getppid() != parent:  # pragma: no cover - the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(interval)

    threading.Thread(target=watch, daemon=True, name="sedal-parent-watch").start()
