"""Content hashes of recordings, remembered between runs.

``sedbench query``, ``detect`` and ``annotate`` key embeddings by the sha256 of each file's
bytes. Hashing a large collection every round costs more than ranking it (100 000 ten-second
files are 32 GB), so each file's hash is remembered with the file's size, modification time
(ns) and inode, and read again only when one of them changed — the test ``git`` and
``rsync`` use. A file rewritten in place with the same size and a forged modification time
keeps its old hash; delete ``file-hashes.json`` in the cache folder to hash everything again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sedal.core.fsutil import sha256_file, write_bytes_atomic

#: Version of the file's layout.
FORMAT = 1


class FileHashes:
    """sha256 of files by path, recomputed only for files whose size, mtime or inode changed.

    Parameters
    ----------
    path : path or None
        The JSON file that remembers them (``None``: nothing is remembered).
    """

    def __init__(self, path: Path | None):
        self.path = None if path is None else Path(path)
        self._known: dict[str, list] = {}
        self._changed = False
        if self.path is not None and self.path.is_file():
            try:
                doc = json.loads(self.path.read_text())
                if doc.get("format") == FORMAT and isinstance(doc.get("files"), dict):
                    self._known = doc["files"]
            except (OSError, ValueError):
                self._known = {}  # a damaged file only costs hashing again

    def sha256(self, file: str | os.PathLike) -> str:
        """The sha256 of ``file``'s bytes (from memory when the file did not change)."""
        p = Path(file).resolve()
        st = p.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        key = str(p)
        hit = self._known.get(key)
        if isinstance(hit, list) and len(hit) == 4 and hit[:3] == stamp:
            return hit[3]
        sha = sha256_file(p)
        self._known[key] = [*stamp, sha]
        self._changed = True
        return sha

    def save(self) -> None:
        """Write what was learnt (atomically; entries of files that no longer exist are
        dropped)."""
        if self.path is None or not self._changed:
            return
        files = {k: v for k, v in self._known.items() if os.path.exists(k)}
        write_bytes_atomic(self.path, json.dumps({"format": FORMAT, "files": files}).encode())
        self._changed = False
