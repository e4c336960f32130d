"""Rebuilding and checking datasets from their manifests: ``sedgen regenerate`` (any subset
of files, on any machine, bit-identical) and ``sedgen verify``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sedal.core.fsutil import (
    resolve_inside,
    sha256_file,
)

from .attribution import SOURCES_CSV
from .builtin import BUILTINS, DEFAULT_BUILTIN
from .dataset import _prepare_out
from .errors import GeneratorError
from .layout import Sources, dataset_key, resolve_sources
from .manifest import (
    MANIFEST_NAME,
    load_manifest,
    write_manifest,
)
from .outputs import _sources_text, _write_tables
from .plan import FilePlan
from .spec import DatasetSpec
from .workers import _rerender_batch, _run_batches


def verify_dataset(path: str | os.PathLike) -> list[str]:
    """Check a dataset dir against its manifest.

    Returns
    -------
    list of str
        One line per problem (``missing: <path>`` or ``changed: <path>``);
        empty when everything matches.

    Raises
    ------
    GeneratorError
        No manifest, a modified manifest, or a path that escapes the dir.
    """
    root = Path(path)
    mpath = root / MANIFEST_NAME if root.is_dir() else root
    if not mpath.exists():
        raise GeneratorError(f"{root} has no {MANIFEST_NAME}")
    doc = load_manifest(mpath)
    root = mpath.parent
    expected = dict(doc["tables"])
    for f in doc["files"]:
        expected[f["audio"]] = f["audio_sha256"]
        expected[f["jams"]] = f["jams_sha256"]
    problems = []
    for rel, digest in sorted(expected.items()):
        p = resolve_inside(root, rel)
        if not p.is_file():
            problems.append(f"missing: {rel}")
        elif sha256_file(p) != digest:
            problems.append(f"changed: {rel}")
    return problems


def check_sources(doc: dict, src: Sources) -> None:
    """Raise if the library differs from the one the manifest was made with."""
    want, have = doc["sources"]["clips"], src.meta["clips"]
    for rel in sorted(want):
        if rel not in have:
            raise GeneratorError(f"source clip {rel} named in the manifest is not in the library")
        if have[rel] != want[rel]:
            raise GeneratorError(
                f"source clip {rel} differs from the manifest (sha256 {have[rel][:12]}... "
                f"instead of {want[rel][:12]}...); versions at build: "
                + ", ".join(f"{k} {v}" for k, v in sorted(doc['versions'].items())))
    extra = sorted(set(have) - set(want))
    if extra:
        raise GeneratorError(f"source library holds clips not in the manifest, e.g. {extra[0]}")


def regenerate_dataset(manifest: str | os.PathLike, out: str | os.PathLike, *, sources=None,
                       jobs: int = 1, ids: list[str] | None = None, force: bool = False,
                       progress: bool = False) -> list[str]:
    """Re-render a dataset from its manifest (and its JAMS files where present).

    Parameters
    ----------
    manifest : path
        ``manifest.json`` (or a ``.json.gz`` from ``data_manifests/``).
    out : path
        Destination dataset dir (may be the manifest's own dir). A dir that holds
        another dataset or other files is refused unless ``force``.
    sources : path or None
        The library the dataset was made from; ``None`` for a built-in one.
    ids : list of str, optional
        Only these file ids (the manifest is then not copied).
    force : bool
        Replace what ``out`` holds.

    Returns
    -------
    list of str
        Output files whose sha256 differs from the manifest (empty on success).
    """
    from sedal.core.fsutil import exclusive_lock

    # two processes writing one dataset dir at once wait for each other (the second then
    # finds the first one's files and reuses them)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(Path(out)):
        return _regenerate_dataset_locked(manifest, out, sources=sources, jobs=jobs, ids=ids,
                                          force=force, progress=progress)


def _regenerate_dataset_locked(manifest: str | os.PathLike, out: str | os.PathLike, *,
                               sources=None, jobs: int = 1, ids: list[str] | None = None,
                               force: bool = False, progress: bool = False) -> list[str]:
    """:func:`regenerate_dataset` under the output dir's lock."""
    mpath = Path(manifest)
    doc = load_manifest(mpath)
    spec = DatasetSpec.from_dict(doc["spec"])
    smeta = doc["sources"]
    if sources is None and smeta["kind"] != "builtin":
        raise GeneratorError(
            f"this dataset was made from the folder library {smeta['name']!r}; pass --sources DIR")
    library = smeta.get("builtin_library", "clean")
    if sources is None and library not in BUILTINS:
        raise GeneratorError(f"manifest needs the built-in library {library!r}, which this "
                             "sedal does not have")
    if sources is None and smeta.get("builtin_version") != BUILTINS[library]["version"]:
        raise GeneratorError(
            f"manifest needs built-in library {library} version "
            f"{smeta.get('builtin_version')}, this sedal has version "
            f"{BUILTINS[library]['version']}")
    files = doc["files"]
    if ids is not None:
        unknown = sorted(set(ids) - {f["id"] for f in files})
        if unknown:
            raise GeneratorError(f"no file {unknown[0]!r} in the manifest")
        files = [f for f in files if f["id"] in set(ids)]
    src = resolve_sources(sources, spec.sr, builtin_seed=smeta.get("builtin_seed", 0),
                          builtin=library if sources is None else DEFAULT_BUILTIN,
                          progress=progress)
    check_sources(doc, src)
    out = Path(out)
    fmt = doc["format_version"]
    _prepare_out(out, dataset_key(spec, smeta, fmt), force)
    src_dir = mpath.parent
    items = []
    for f in files:
        jp = resolve_inside(src_dir, f["jams"], what="JAMS path", origin=mpath)
        use_jams = jp.is_file() and sha256_file(jp) == f["jams_sha256"]
        plan = {k: f[k] for k in ("id", "split", "bg_label", "bg_source", "bg_source_time",
                                  "events", "bg_bed") if k in f}
        items.append((plan, str(jp) if use_jams else None))
    hashes: dict[str, dict] = {}
    _run_batches(_rerender_batch, items,
                 (spec.to_dict(), src.prepared.fg_path(), src.prepared.bg_path(), str(out),
                  fmt),
                 jobs, progress, "regenerating",
                 on_done=lambda records: hashes.update({r["id"]: r for r in records}))
    bad = [f[key] for f in files for key in ("audio", "jams")
           if hashes[f["id"]][key + "_sha256"] != f[key + "_sha256"]]
    # the tables and the manifest are written after a partial regenerate too, so that
    # `sedgen verify` on the dir says which files are still missing
    plans = [FilePlan.from_dict(f) for f in doc["files"]]
    _write_tables(out, plans, _sources_text(plans, src) if SOURCES_CSV in doc["tables"]
                  else None)
    if mpath.resolve() != (out / MANIFEST_NAME).resolve():
        write_manifest(out / MANIFEST_NAME, {k: v for k, v in doc.items()
                                             if k != "manifest_sha256"})
    shutil.rmtree(out / ".sedgen", ignore_errors=True)
    return bad
