"""Resumable, verified downloads over HTTP(S).

A file is fetched into ``<name>.part`` (continued with an HTTP Range request when a
previous attempt was cut), its checksum is verified, and only then is it renamed
to its final name. Network errors and time-outs become :class:`GeneratorError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from sedal.core.fsutil import write_json_atomic

from ..errors import GeneratorError
from .registry import Remote

CHUNK = 1 << 16


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Lock:
    """sha256 pins of downloads whose checksum was not known in advance (a JSON file)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.pins = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, url: str) -> str | None:
        return self.pins.get(url)

    def pin(self, url: str, sha256: str) -> None:
        self.pins[url] = sha256
        write_json_atomic(self.path, self.pins)


def verify(path: Path, remote: Remote, lock: Lock) -> None:
    """Check ``path`` against the registry checksum, or the lock file's pin (pinning if new)."""
    if remote.checksum:
        algo, want = remote.checksum.split(":", 1)
        got = file_digest(path, algo)
        if got != want:
            raise GeneratorError(f"{remote.filename}: {algo} checksum mismatch (expected {want}, "
                                 f"got {got}); the download is corrupt or the publisher changed "
                                 "the file")
        return
    got = file_digest(path, "sha256")
    pinned = lock.get(remote.url)
    if pinned is None:
        lock.pin(remote.url, got)
    elif pinned != got:
        raise GeneratorError(f"{remote.filename}: sha256 {got} differs from the one pinned in "
                             f"{lock.path} ({pinned})")


def download(remote: Remote, folder: Path, lock: Lock, *, url: str | None = None,
             timeout: float = 30.0, progress: bool = False) -> Path:
    """Download (or resume) ``remote`` into ``folder``; returns the verified file's path."""
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / remote.filename
    if final.exists():
        verify(final, remote, lock)
        return final
    part = folder / (remote.filename + ".part")
    url = url or remote.url
    have = part.stat().st_size if part.exists() else 0
    total = None
    req = urllib.request.Request(url, headers={"User-Agent": "sedal"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if have and resp.status != 206:  # server ignored the range: start over
                have = 0
            total = resp.headers.get("Content-Length")
            total = int(total) + have if total is not None else None
            mode = "ab" if have else "wb"
            with open(part, mode) as fh, tqdm(total=total, initial=have, unit="B",
                                               unit_scale=True, desc=remote.filename,
                                               disable=not progress) as bar:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # already complete
            pass
        else:
            raise GeneratorError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") \
                from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GeneratorError(f"download of {url} failed ({reason}); run the command again to "
                             "resume") from None
    if total is not None and part.stat().st_size < total:
        raise GeneratorError(f"download of {url} was cut short; run the command again to resume")
    try:
        verify(part, remote, lock)
    except GeneratorError:
        part.unlink()
        raise
    os.replace(part, final)
    return final
