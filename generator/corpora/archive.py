"""Safe extraction of zip and tar archives.

Every member is checked before anything is written: no absolute path, no ``..``
component, no symbolic or hard link, no device or FIFO; the total uncompressed size
and the number of members are capped (archive bombs). Members are extracted into a
temporary folder that is removed on any error, so a corrupt or truncated archive
leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sedal.core.errors import SedalError

from ..errors import GeneratorError

MAX_BYTES = 16 * 1024**3  # 16 GiB uncompressed
MAX_MEMBERS = 200_000
MAX_RATIO = 200  # uncompressed / compressed, per zip member


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    n = name.replace("\\", "/")
    p = PurePosixPath(n)
    if n.startswith("/") or (len(n) > 1 and n[1] == ":") or p.is_absolute():
        raise GeneratorError(f"{archive.name}: member {name!r} has an absolute path; refusing it")
    if ".." in p.parts:
        raise GeneratorError(f"{archive.name}: member {name!r} escapes the target folder "
                             "(path traversal); refusing it")
    return p


def _members_zip(zf: zipfile.ZipFile, archive: Path, keep, max_bytes):
    out, total = [], 0
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise GeneratorError(f"{archive.name}: too many members ({len(infos)})")
    for info in infos:
        p = _safe_name(info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise GeneratorError(f"{archive.name}: member {info.filename!r} is a symbolic link; "
                                 "refusing it")
        if info.is_dir() or not keep(str(p)):
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                      zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise GeneratorError(f"{archive.name}: member {info.filename!r} uses compression "
                                 f"method {info.compress_type}, which Python cannot read "
                                 "(Deflate64?); unpack it with a tool that can and pass the "
                                 "folder instead")
        total += info.file_size
        if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_RATIO \
                and info.file_size > 10 * 1024**2:
            raise GeneratorError(f"{archive.name}: member {info.filename!r} expands "
                                 f"{info.file_size // max(info.compress_size, 1)}x; refusing a "
                                 "likely archive bomb")
        out.append((info, p))
    if total > max_bytes:
        raise GeneratorError(f"{archive.name}: would unpack to {total} bytes, over the limit of "
                             f"{max_bytes}; refusing it")
    return out


def _members_tar(tf: tarfile.TarFile, archive: Path, keep, max_bytes):
    out, total = [], 0
    for i, m in enumerate(tf):
        if i >= MAX_MEMBERS:
            raise GeneratorError(f"{archive.name}: too many members")
        p = _safe_name(m.name, archive)
        if m.issym() or m.islnk():
            raise GeneratorError(f"{archive.name}: member {m.name!r} is a "
                                 f"{'symbolic' if m.issym() else 'hard'} link; refusing it")
        if m.isdev() or m.isfifo():
            raise GeneratorError(f"{archive.name}: member {m.name!r} is a device or FIFO")
        if m.isdir() or not m.isfile() or not keep(str(p)):
            continue
        total += m.size
        if total > max_bytes:
            raise GeneratorError(f"{archive.name}: would unpack to more than {max_bytes} bytes; "
                                 "refusing it")
        out.append((m, p))
    return out


def extract(archive: str | Path, dest_parent: str | Path,
            keep: Callable[[str], bool] = lambda name: True, *,
            max_bytes: int = MAX_BYTES) -> Path:
    """Safely extract the members of ``archive`` that ``keep`` accepts.

    Returns a new temporary folder (inside ``dest_parent``) holding them; the caller
    moves what it needs and removes the folder.

    Raises
    ------
    GeneratorError
        Unsafe member, archive bomb, or a corrupt/truncated archive (named).
    """
    archive = Path(archive)
    dest_parent = Path(dest_parent)
    dest_parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info, p in _members_zip(zf, archive, keep, max_bytes):
                    target = tmp.joinpath(*p.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        elif archive.name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")) \
                or tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = _members_tar(tf, archive, keep, max_bytes)
                for m, p in members:
                    target = tmp.joinpath(*p.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(m)
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        else:
            raise GeneratorError(f"{archive.name} is not a zip or tar archive (corrupt or "
                                 "truncated?)")
    except SedalError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError,
            ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GeneratorError(f"{archive.name} is corrupt or truncated ({exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp
