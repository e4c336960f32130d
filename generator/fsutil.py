"""Small file-system helpers: hashing, atomic writes, safe path resolution."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import GeneratorError

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    ``suffix`` defaults to ``path``'s own suffix (some writers infer the
    format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=(path.suffix if suffix is None else suffix) + ".tmp",
        dir=path.parent,
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def canonical_json(obj) -> str:
    """JSON text with sorted keys and fixed separators (stable for hashing)."""
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as canonical JSON, atomically."""
    write_bytes_atomic(path, canonical_json(obj).encode("utf-8"))


def resolve_inside(root: str | os.PathLike, relpath: str) -> Path:
    """Resolve ``relpath`` below ``root``; refuse anything that escapes it.

    Raises
    ------
    GeneratorError
        If ``relpath`` is absolute or resolves outside ``root``.
    """
    root = Path(root).resolve()
    if os.path.isabs(relpath) or relpath.startswith(("/", "\\")):
        raise GeneratorError(f"path {relpath!r} in manifest is absolute; refusing it")
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise GeneratorError(f"path {relpath!r} in manifest escapes the dataset dir; refusing it")
    return target


def cache_dir() -> Path:
    """sedal's cache root: ``$SEDAL_CACHE`` or ``~/.cache/sedal``."""
    env = os.environ.get("SEDAL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sedal"
