"""Small file-system helpers: hashing, atomic writes, safe path resolution."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from .errors import UnsafePathError

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


#: Test-only fault injection (``tests/test_fault_injection.py``): with
#: ``SEDAL_FAULT_AT=N:COUNTER`` every atomic rename adds one to the count in the file
#: ``COUNTER``, and the N-th ends the process at once (``os._exit(86)``: no clean-up, as a
#: kill -9 or a power cut would), after its temporary file is written and before the rename.
FAULT_ENV = "SEDAL_FAULT_AT"
FAULT_EXIT = 86


def _fault_point() -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    n, _, counter = spec.partition(":")
    p = Path(counter)
    k = (int(p.read_text() or 0) if p.exists() else 0) + 1
    p.write_text(str(k))
    if k == int(n):
        os._exit(FAULT_EXIT)


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
        _fault_point()
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not exc.filename and exc.errno is not None:
            # e.g. a full disk: the error of write() names no file; name the one being written
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
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


def resolve_inside(root: str | os.PathLike, relpath: object, *, what: str = "path",
                   origin: str | os.PathLike | None = None) -> Path:
    """Resolve ``relpath`` below ``root``; refuse anything that escapes it.

    This is sedal's one confinement check: every path read from a file
    (manifest, JAMS, label table, config, wheel or archive member) goes through
    it before anything is opened for reading or writing. Symbolic links are
    followed, so a link inside ``root`` that points outside is refused too.

    Parameters
    ----------
    root : path
        The folder the path must stay in.
    relpath : str
        The untrusted path, relative to ``root`` (``/`` separated).
    what : str
        What the path is, for the message (e.g. ``"audio path"``).
    origin : path, optional
        The file the path was read from, for the message.

    Raises
    ------
    UnsafePathError
        If ``relpath`` is not a non-empty string, is absolute, holds a NUL,
        backslash or control character, or resolves outside ``root``.
    """
    where = f"{origin}: " if origin is not None else ""
    if not isinstance(relpath, str) or not relpath:
        raise UnsafePathError(f"{where}{what} {relpath!r} is not a path; refusing it")
    if any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in relpath):
        raise UnsafePathError(f"{where}{what} {relpath!r} holds a control character or a "
                              "backslash; refusing it")
    if os.path.isabs(relpath) or relpath.startswith("/"):
        raise UnsafePathError(f"{where}{what} {relpath!r} is absolute; refusing it")
    root = Path(root).resolve()
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise UnsafePathError(f"{where}{what} {relpath!r} escapes {root}; refusing it")
    return target


_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def check_component(name: object, *, what: str = "name",
                    origin: str | os.PathLike | None = None) -> str:
    """Return ``name`` if it is safe as one path component, else raise.

    Safe: 1-200 characters of ``A-Z a-z 0-9 . _ -``, not starting with ``.``,
    ``_`` or ``-`` (so never ``..`` or a hidden name).

    Raises
    ------
    UnsafePathError
    """
    if not isinstance(name, str) or not _COMPONENT.match(name):
        where = f"{origin}: " if origin is not None else ""
        raise UnsafePathError(f"{where}{what} {name!r} is not a plain file name "
                              "(letters, digits, '.', '_', '-'); refusing it")
    return name


def cache_dir() -> Path:
    """sedal's cache root: ``$SEDAL_CACHE`` or ``~/.cache/sedal``."""
    env = os.environ.get("SEDAL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sedal"


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file that guards ``path``: ``<cache>/locks/<sha256 of its real path>.lock``.

    Locks live in sedal's cache, never beside the guarded path, so taking one writes nothing
    into a user's folders (a dataset's parent, a results dir). The real path resolves
    symlinks, so two spellings of one folder share one lock.
    """
    real = os.path.realpath(os.path.abspath(os.fspath(path)))
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "locks" / f"{digest}.lock"


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike):
    """Hold the inter-process lock of ``path`` (see :func:`lock_path`).

    Every process that fills or replaces ``path`` takes this lock first, so two first uses
    of a cache entry, or two writers of one dataset folder, cannot interleave; readers of a
    completed entry need not.
    """
    from filelock import FileLock

    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        yield


def build_dir_once(final: str | os.PathLike, build, is_complete) -> Path:
    """Make the folder ``final`` exactly once, whatever the number of concurrent callers.

    Under :func:`exclusive_lock`, if ``is_complete(final)`` the folder is used as it is (the
    winner's result); else ``build(tmp)`` fills a private temporary folder next to it, which
    then replaces any stale, incomplete ``final`` in one rename. A failed build leaves
    nothing behind.

    Parameters
    ----------
    final : path
        The cache folder.
    build : callable(Path) -> None
        Writes the folder's contents into the temporary folder it is given.
    is_complete : callable(Path) -> bool
        Whether a folder holds a finished build (e.g. its last-written marker exists).
    """
    import shutil

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(final):
        if is_complete(final):
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            build(tmp)
            if not is_complete(tmp):
                raise RuntimeError(f"building {final} did not complete it")
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            elif final.exists() or final.is_symlink():
                final.unlink()
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final
