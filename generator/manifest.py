"""The dataset manifest: what a paper cites to pin a dataset down.

``manifest.json`` holds the spec, the versions of every package that shapes
the audio, the sha256 of every source clip and of every output file, and the
full plan of every soundscape (background, events, times, SNRs), so that a
dataset can be rebuilt from the manifest alone. A ``manifest_sha256`` over
the rest of the document detects edits (it is a checksum, not a signature).
"""

from __future__ import annotations

import gzip
import json
import platform
from importlib import metadata
from pathlib import Path

from .errors import GeneratorError
from .fsutil import canonical_json, sha256_bytes, write_bytes_atomic

FORMAT = "sedal-dataset"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


def package_versions() -> dict[str, str]:
    """Versions of the packages (and libsndfile) that shape rendered audio."""
    out = {"python": platform.python_version()}
    for pkg in ("sedal", "scaper", "jams", "numpy", "scipy", "soundfile", "soxbindings",
                "pyloudnorm"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        import soundfile

        out["libsndfile"] = soundfile.__libsndfile_version__
    except Exception:  # pragma: no cover - depends on the build
        out["libsndfile"] = "unknown"
    return out


def _body_hash(doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k != "manifest_sha256"}
    return sha256_bytes(canonical_json(body).encode("utf-8"))


def seal(doc: dict) -> dict:
    """Return ``doc`` with its ``manifest_sha256`` set."""
    doc = dict(doc)
    doc["manifest_sha256"] = _body_hash(doc)
    return doc


def manifest_bytes(doc: dict, *, compress: bool = False) -> bytes:
    """Canonical bytes of a sealed manifest (gzip with mtime 0 if ``compress``)."""
    raw = canonical_json(seal(doc)).encode("utf-8")
    if compress:
        return gzip.compress(raw, compresslevel=9, mtime=0)
    return raw


def write_manifest(path: str | Path, doc: dict, *, compress: bool = False) -> None:
    """Seal ``doc`` and write it atomically to ``path``."""
    write_bytes_atomic(path, manifest_bytes(doc, compress=compress))


def load_manifest(path: str | Path) -> dict:
    """Read, parse and check a manifest (``.json`` or ``.json.gz``).

    Raises
    ------
    GeneratorError
        Unreadable, not a sedal manifest, or modified after it was written.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise GeneratorError(f"no manifest at {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise GeneratorError(f"cannot read manifest {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GeneratorError(f"{path} is not a sedal dataset manifest")
    if doc.get("format_version") != FORMAT_VERSION:
        raise GeneratorError(
            f"{path} has manifest format version {doc.get('format_version')!r}; "
            f"this sedal reads version {FORMAT_VERSION}"
        )
    if doc.get("manifest_sha256") != _body_hash(doc):
        raise GeneratorError(
            f"manifest {path} was modified after it was written (checksum mismatch)")
    return doc
