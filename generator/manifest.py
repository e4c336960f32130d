"""The dataset manifest: what a paper cites to pin a dataset down.

``manifest.json`` holds the spec, the versions of every package that shapes
the audio, the sha256 of every source clip and of every output file, and the
full plan of every soundscape (background, events, times, SNRs), so that a
dataset can be rebuilt from the manifest alone. A ``manifest_sha256`` over
the rest of the document except ``versions`` is the dataset's citable id and detects
edits (it is a checksum, not a signature).
"""

from __future__ import annotations

import gzip
import json
import math
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType

from sedal.core.fsutil import canonical_json, sha256_bytes, write_bytes_atomic

from .errors import GeneratorError
from .plan import EventPlan, FilePlan
from .spec import DatasetSpec

FORMAT = "sedal-dataset"
#: Version 2: soundscapes are mixed with machine-independent arithmetic and the JAMS'
#: audio-derived floats are rounded (:mod:`sedal.generator.scaper_compat`,
#: :data:`sedal.generator.render.AUDIO_DERIVED_DECIMALS`), so a manifest regenerates
#: bit-identically on any machine. Version 1 manifests are still read and regenerated with
#: the arithmetic they were made with (reproducible on the same kind of CPU only).
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
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


#: Fields outside the ``manifest_sha256`` of a format 2 manifest: the checksum itself, and
#: the versions of the tools that wrote it (informative: the same data written with another
#: scipy is the same dataset, and keeps its id).
UNHASHED_FIELDS = ("manifest_sha256", "versions")


def _body_hash(doc: dict) -> str:
    """The manifest's id: sha256 of its canonical JSON without :data:`UNHASHED_FIELDS`
    (format 1 manifests hashed ``versions`` too)."""
    skip = ("manifest_sha256",) if doc.get("format_version") == 1 else UNHASHED_FIELDS
    body = {k: v for k, v in doc.items() if k not in skip}
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
    if doc.get("format_version") not in READABLE_FORMAT_VERSIONS:
        raise GeneratorError(
            f"{path} has manifest format version {doc.get('format_version')!r}; "
            f"this sedal reads versions {', '.join(map(str, READABLE_FORMAT_VERSIONS))}"
        )
    if doc.get("manifest_sha256") != _body_hash(doc):
        raise GeneratorError(
            f"manifest {path} was modified after it was written (checksum mismatch)")
    validate_manifest(doc, path)
    return doc


# -- structure -----------------------------------------------------------------
# The checksum only detects accidental edits: anyone can recompute it. So a
# manifest is validated field by field before any of it is used, and every path
# in it is checked to be a plain relative path of the expected shape.
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _fail(path, where: str, msg: str):
    raise GeneratorError(f"manifest {path}: {where} {msg}")


def _get(d: dict, key: str, kind, path, where: str):
    if not isinstance(d, dict):
        _fail(path, where, "is not a table")
    if key not in d:
        _fail(path, where, f"has no {key!r}")
    v = d[key]
    if kind is float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            _fail(path, f"{where}.{key}", f"must be a finite number, got {v!r}")
    elif kind is int:
        if isinstance(v, bool) or not isinstance(v, int):
            _fail(path, f"{where}.{key}", f"must be an integer, got {v!r}")
    elif not isinstance(v, kind):
        _fail(path, f"{where}.{key}", f"must be a {getattr(kind, '__name__', kind)}, "
                                      f"got {type(v).__name__}")
    return v


def _clean_text(v: str, path, where: str) -> None:
    if not v or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v):
        _fail(path, where, f"{v!r} is empty or holds a control character")


def _clip_path(v: str, kind: str, path, where: str) -> None:
    parts = v.split("/")
    if (len(parts) != 3 or parts[0] != kind or any(p in ("", ".", "..") for p in parts)
            or "\\" in v):
        _fail(path, where, f"{v!r} is not a {kind}/<label>/<clip> path")
    _clean_text(v, path, where)


def _hex(v: object, path, where: str) -> None:
    if not isinstance(v, str) or not _HEX64.match(v):
        _fail(path, where, f"is not a sha256 hex digest: {v!r}")


def validate_manifest(doc: dict, path: str | Path = "manifest") -> None:
    """Check every field a reader uses: types, finite numbers, safe ids and paths.

    Raises
    ------
    GeneratorError
        One line naming the manifest and the first bad field.
    """
    from .plan import SPLITS
    from .spec import DatasetSpec

    _get(doc, "dataset_id", str, path, "manifest")
    DatasetSpec.from_dict(_get(doc, "spec", dict, path, "manifest"))
    _validate_sources(_get(doc, "sources", dict, path, "manifest"), path)
    for k, v in _get(doc, "versions", dict, path, "manifest").items():
        if not isinstance(v, str):
            _fail(path, f"versions.{k}", "must be a string")
    tables = _get(doc, "tables", dict, path, "manifest")
    for rel, digest in tables.items():
        if rel not in {f"metadata/{s}.tsv" for s in SPLITS} | {"SOURCES.csv"}:
            _fail(path, "tables", f"names an unexpected file {rel!r}")
        _hex(digest, path, f"tables[{rel!r}]")
    if "split_groups" in doc:
        for cls, splits in _get(doc, "split_groups", dict, path, "manifest").items():
            if not isinstance(splits, dict) or not all(
                    k in SPLITS and isinstance(v, list) and all(isinstance(x, str) for x in v)
                    for k, v in splits.items()):
                _fail(path, f"split_groups[{cls!r}]", "must map splits to lists of names")
    seen: set[str] = set()
    for i, f in enumerate(_get(doc, "files", list, path, "manifest")):
        _validate_file(f, f"files[{i}]", path, seen)


def _validate_sources(src: dict, path) -> None:
    """The ``sources`` block: kind, name, library hash, built-in fields, clip hashes."""
    kind = _get(src, "kind", str, path, "sources")
    kind = _get(src, "kind", str, path, "sources")
    if kind not in ("builtin", "folder"):
        _fail(path, "sources.kind", f"must be 'builtin' or 'folder', got {kind!r}")
    _get(src, "name", str, path, "sources")
    _hex(_get(src, "library_sha256", str, path, "sources"), path, "sources.library_sha256")
    if kind == "builtin":
        _get(src, "builtin_version", int, path, "sources")
        if _get(src, "builtin_seed", int, path, "sources") < 0:
            _fail(path, "sources.builtin_seed", "must be >= 0")
        if "builtin_library" in src:
            _get(src, "builtin_library", str, path, "sources")
    for rel, digest in _get(src, "clips", dict, path, "sources").items():
        if rel.split("/", 1)[0] not in ("foreground", "background"):
            _fail(path, "sources.clips", f"{rel!r} is not a foreground/ or background/ path")
        _clean_text(rel, path, "sources.clips")
        _hex(digest, path, f"sources.clips[{rel!r}]")


def _validate_file(f: dict, where: str, path, seen: set[str]) -> None:
    """One entry of ``files``: id (unique, safe), split, paths, hashes, background, events."""
    from sedal.core.fsutil import check_component

    from .plan import SPLITS

    fid = check_component(_get(f, "id", str, path, where), what=f"{where}.id",
                          origin=f"manifest {path}")
    if fid in seen:
        _fail(path, where, f"repeats the id {fid!r}")
    seen.add(fid)
    split = _get(f, "split", str, path, where)
    if split not in SPLITS:
        _fail(path, f"{where}.split", f"must be one of {', '.join(SPLITS)}, got {split!r}")
    for key, want in (("audio", f"audio/{split}/{fid}.wav"),
                      ("jams", f"annotations/{split}/{fid}.jams")):
        if _get(f, key, str, path, where) != want:
            _fail(path, f"{where}.{key}", f"must be {want!r}, got {f[key]!r}")
        _hex(f.get(key + "_sha256"), path, f"{where}.{key}_sha256")
    _clean_text(_get(f, "bg_label", str, path, where), path, f"{where}.bg_label")
    _clip_path(_get(f, "bg_source", str, path, where), "background", path,
               f"{where}.bg_source")
    _get(f, "bg_source_time", float, path, where)
    if "bg_bed" in f:
        for j, b in enumerate(_get(f, "bg_bed", list, path, where)):
            bw = f"{where}.bg_bed[{j}]"
            _clip_path(_get(b, "source", str, path, bw), "background", path, f"{bw}.source")
            for key in ("source_time", "duration", "gain_db"):
                _get(b, key, float, path, bw)
            if set(b) != {"source", "source_time", "duration", "gain_db"}:
                _fail(path, bw, f"has unexpected keys {sorted(set(b))}")
    for j, e in enumerate(_get(f, "events", list, path, where)):
        ew = f"{where}.events[{j}]"
        _clean_text(_get(e, "label", str, path, ew), path, f"{ew}.label")
        _clip_path(_get(e, "source", str, path, ew), "foreground", path, f"{ew}.source")
        for key in ("source_time", "event_time", "event_duration", "snr"):
            _get(e, key, float, path, ew)
        extra = set(e) - {"label", "source", "source_time", "event_time", "event_duration",
                          "snr"}
        if extra:
            _fail(path, ew, f"has unknown keys {sorted(extra)}")


# -- the typed view every reader uses ------------------------------------------------
@dataclass(frozen=True)
class ManifestFile:
    """One soundscape of a manifest: its plan and its output files (paths relative to the
    dataset dir) with their sha256."""

    plan: FilePlan
    audio: str
    audio_sha256: str
    jams: str
    jams_sha256: str

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def split(self) -> str:
        return self.plan.split

    @property
    def events(self) -> tuple[EventPlan, ...]:
        """The file's events (times in seconds), in plan order."""
        return self.plan.events


@dataclass(frozen=True)
class SourceInfo:
    """The source library a dataset was made from."""

    kind: str  # "builtin" or "folder"
    name: str
    library_sha256: str
    clips: Mapping[str, str]  # library-relative clip path -> sha256 of the original file
    builtin_library: str | None = None  # "clean" for manifests that predate the key
    builtin_version: int | None = None
    builtin_seed: int | None = None


@dataclass(frozen=True)
class Manifest:
    """A validated dataset manifest (see :func:`load_manifest`), typed.

    ``document`` is the sealed JSON document itself (for writers and for hashing).
    """

    dataset_id: str
    manifest_sha256: str
    spec: DatasetSpec
    sources: SourceInfo
    files: tuple[ManifestFile, ...]
    tables: Mapping[str, str]
    versions: Mapping[str, str]
    split_groups: Mapping[str, Mapping[str, list[str]]] | None
    document: dict = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: dict) -> Manifest:
        """The typed view of a document :func:`load_manifest` has validated."""
        s = doc["sources"]
        sources = SourceInfo(
            kind=s["kind"], name=s["name"], library_sha256=s["library_sha256"],
            clips=MappingProxyType(dict(s["clips"])),
            builtin_library=s.get("builtin_library", "clean" if s["kind"] == "builtin" else None),
            builtin_version=s.get("builtin_version"), builtin_seed=s.get("builtin_seed"))
        files = tuple(ManifestFile(FilePlan.from_dict(f), f["audio"], f["audio_sha256"],
                                   f["jams"], f["jams_sha256"]) for f in doc["files"])
        return cls(doc["dataset_id"], doc["manifest_sha256"],
                   DatasetSpec.from_dict(doc["spec"]), sources, files,
                   MappingProxyType(dict(doc["tables"])), MappingProxyType(dict(doc["versions"])),
                   doc.get("split_groups"), doc)

    @property
    def classes(self) -> list[str]:
        """The event classes of the source library (its ``foreground/<label>/`` folders),
        sorted; background is not among them."""
        return sorted({p.split("/")[1] for p in self.sources.clips if p.startswith("foreground/")})

    def split(self, name: str) -> tuple[ManifestFile, ...]:
        """The files of split ``name`` ("train" or "test"), in manifest order."""
        return tuple(f for f in self.files if f.split == name)


def read_manifest(path: str | Path) -> Manifest:
    """:func:`load_manifest`, typed."""
    return Manifest.from_dict(load_manifest(path))
