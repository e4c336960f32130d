"""Building, describing, verifying and regenerating dataset dirs.

A dataset dir holds::

    audio/<split>/<id>.wav           16-bit PCM mono soundscapes
    annotations/<split>/<id>.jams    Scaper's JAMS (library-relative paths)
    metadata/<split>.tsv             DCASE: filename, onset, offset, event_label
    manifest.json                    see sedal.generator.manifest
    .sedgen/state.json               in-progress marker (removed when done)
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from sedal.core.errors import SedalError
from sedal.core.fsutil import (
    canonical_json,
    check_component,
    resolve_inside,
    sha256_bytes,
    sha256_file,
    write_json_atomic,
)
from sedal.core.procutil import die_with_parent

from .attribution import SOURCES_CSV, read_provenance, sources_csv, sources_rows
from .builtin import BUILTINS, DEFAULT_BUILTIN, builtin_library, builtin_name, check_builtin
from .errors import GeneratorError
from .library import (
    PREPARE_VERSION,
    PreparedLibrary,
    hash_library,
    prepare_library,
    scan_library,
    split_groups,
)
from .manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    load_manifest,
    package_versions,
    read_manifest,
    write_manifest,
)
from .plan import SPLITS, FilePlan, plan_dataset
from .spec import DatasetSpec

STATE = Path(".sedgen") / "state.json"
OWNED = ("audio", "annotations", "metadata", MANIFEST_NAME, SOURCES_CSV, ".sedgen")


@dataclass(frozen=True)
class Sources:
    """A resolved source library and how to describe it in a manifest."""

    prepared: PreparedLibrary
    meta: dict
    provenance: dict | None = None  # the library's provenance.csv rows, by clip path


def resolve_sources(sources: str | os.PathLike | None, sr: int, *, builtin_seed: int = 0,
                    builtin: str = DEFAULT_BUILTIN, progress: bool = False) -> Sources:
    """Scan, hash and prepare a library (``None`` means the built-in one named ``builtin``)."""
    if sources is None:
        root = builtin_library(builtin_seed, library=builtin, progress=progress)
        meta = {"kind": "builtin", "name": builtin_name(builtin_seed, builtin),
                "builtin_version": BUILTINS[builtin]["version"], "builtin_seed": builtin_seed}
        if builtin != "clean":  # the clean library's manifests predate this key
            meta["builtin_library"] = builtin
    else:
        root = Path(sources)
        meta = {"kind": "folder", "name": root.resolve().name}
    lib = scan_library(root)
    hashes = hash_library(lib)
    prepared = prepare_library(lib, sr, hashes=hashes)
    meta.update({"library_sha256": prepared.library_sha256, "prepare_version": PREPARE_VERSION,
                 "clips": hashes})
    return Sources(prepared, meta, read_provenance(root))


def dataset_key(spec: DatasetSpec, sources_meta: dict,
                format_version: int = FORMAT_VERSION) -> str:
    """Identity of a dataset: hash of its spec, its source library and its format."""
    return sha256_bytes(canonical_json(
        {"spec": spec.to_dict(), "library": sources_meta["library_sha256"],
         "format_version": format_version}).encode())


def audio_rel(plan: FilePlan) -> str:
    """``audio/<split>/<id>.wav`` (split and id checked to be plain names)."""
    return f"audio/{_safe(plan.split)}/{_safe(plan.id)}.wav"


def jams_rel(plan: FilePlan) -> str:
    """``annotations/<split>/<id>.jams`` (split and id checked to be plain names)."""
    return f"annotations/{_safe(plan.split)}/{_safe(plan.id)}.jams"


def _safe(name: str) -> str:
    return check_component(name, what="file id or split")


def _write_plan_outputs(out: str, plan: FilePlan, wav: bytes, jam: bytes) -> dict:
    """Write one soundscape below ``out`` (confined) and return its journal record."""
    from .render import write_outputs

    write_outputs(wav, jam, resolve_inside(out, audio_rel(plan)),
                  resolve_inside(out, jams_rel(plan)))
    return {"id": plan.id, "audio_sha256": sha256_bytes(wav), "jams_sha256": sha256_bytes(jam)}


# -- workers -----------------------------------------------------------------
def _render_batch(batch: list[dict], spec_d: dict, fg: str, bg: str, out: str,
                  fmt: int = FORMAT_VERSION) -> list[dict]:
    """Render and write a batch of plans (runs in a worker process)."""
    from .render import ensure_bed, jams_bytes, pcm16_wav_bytes, render_plan

    spec = DatasetSpec.from_dict(spec_d)
    done = []
    for d in batch:
        plan = FilePlan.from_dict(d)
        ensure_bed(plan, bg, spec.sr)
        audio, jam = render_plan(plan, spec, fg, bg, exact=fmt >= 2)
        done.append(_write_plan_outputs(out, plan, pcm16_wav_bytes(audio, spec.sr),
                                        jams_bytes(jam, fg, bg, round_floats=fmt >= 2)))
    return done


def _rerender_batch(items: list[tuple[dict, str | None]], spec_d: dict, fg: str, bg: str,
                    out: str, fmt: int = FORMAT_VERSION) -> list[dict]:
    """Re-render from JAMS files where given, else from the plan (worker)."""
    from .render import (
        check_jams_sources,
        ensure_bed,
        jams_bytes,
        pcm16_wav_bytes,
        render_plan,
        rerender_jams,
    )

    spec = DatasetSpec.from_dict(spec_d)
    done = []
    for d, jams_path in items:
        plan = FilePlan.from_dict(d)
        ensure_bed(plan, bg, spec.sr)
        if jams_path is not None:
            check_jams_sources(jams_path, plan)
            audio, _ = rerender_jams(jams_path, fg, bg, exact=fmt >= 2)
            jam = Path(jams_path).read_bytes()
        else:
            audio, jam_obj = render_plan(plan, spec, fg, bg, exact=fmt >= 2)
            jam = jams_bytes(jam_obj, fg, bg, round_floats=fmt >= 2)
        done.append(_write_plan_outputs(out, plan, pcm16_wav_bytes(audio, spec.sr), jam))
    return done


def _run_batches(fn, items: list, args: tuple, jobs: int, progress: bool, desc: str,
                 on_done=None) -> None:
    """Run ``fn(batch, *args)`` over batches of ``items``, in ``jobs`` processes.

    ``on_done(records)`` is called in this process with each finished batch's records.
    """
    from sedal.core.progress import progress_bar

    if not items:
        return
    on_done = on_done or (lambda records: None)
    bar = progress_bar(len(items), desc=desc, unit="file", enabled=progress)
    try:
        if jobs <= 1:
            step = 8
            for i in range(0, len(items), step):
                records = fn(items[i:i + step], *args)
                on_done(records)
                bar.update(len(records))
            return
        size = max(1, min(32, len(items) // (jobs * 4) or 1))
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                 initializer=die_with_parent) as pool:
            futures = [pool.submit(fn, b, *args) for b in batches]
            try:
                for fut in as_completed(futures):
                    records = fut.result()
                    on_done(records)
                    bar.update(len(records))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        bar.close()


class _Journal:
    """``.sedgen/rendered.jsonl``: one line per file whose bytes this build wrote, with their
    sha256 (the only record a resumed build trusts). A torn last line is ignored."""

    def __init__(self, out: Path):
        self.path = out / ".sedgen" / "rendered.jsonl"

    def read(self) -> dict[str, dict]:
        import json

        out: dict[str, dict] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                out[str(rec["id"])] = {"audio_sha256": str(rec["audio_sha256"]),
                                       "jams_sha256": str(rec["jams_sha256"])}
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def append(self, records: list[dict]) -> None:
        import json

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _verified(out: Path, plans: list[FilePlan], trusted: dict[str, dict]) -> dict[str, dict]:
    """The plans whose wav and JAMS on disk still have the bytes recorded in ``trusted``."""
    ok = {}
    for p in plans:
        rec = trusted.get(p.id)
        if rec is None:
            continue
        wav, jam = out / audio_rel(p), out / jams_rel(p)
        if (wav.is_file() and jam.is_file() and sha256_file(jam) == rec["jams_sha256"]
                and sha256_file(wav) == rec["audio_sha256"]):
            ok[p.id] = rec
    return ok


# -- tables & manifest -------------------------------------------------------
def dcase_table(plans: list[FilePlan]) -> str:
    """DCASE tsv text: header, then one ``filename onset offset event_label`` row per event.

    Onsets and offsets in seconds (6 decimals), rows in file then time order.
    Files without events have no row (the manifest lists every file).
    """
    rows = ["filename\tonset\toffset\tevent_label"]
    for p in plans:
        for e in sorted(p.events, key=lambda e: e.event_time):
            rows.append(f"{p.id}.wav\t{e.event_time:.6f}\t{e.event_time + e.event_duration:.6f}"
                        f"\t{e.label}")
    return "\n".join(rows) + "\n"


def _write_tables(out: Path, plans: list[FilePlan], sources: str | None = None
                  ) -> dict[str, str]:
    """Write the DCASE tables (and ``SOURCES.csv`` when its text is given); their sha256."""
    from sedal.core.fsutil import write_bytes_atomic

    hashes = {}
    for split in SPLITS:
        rel = f"metadata/{split}.tsv"
        data = dcase_table([p for p in plans if p.split == split]).encode()
        write_bytes_atomic(out / rel, data)
        hashes[rel] = sha256_bytes(data)
    if sources is not None:
        write_bytes_atomic(out / SOURCES_CSV, sources.encode())
        hashes[SOURCES_CSV] = sha256_bytes(sources.encode())
    return hashes


def _sources_text(plans: list[FilePlan], src: Sources) -> str:
    """``SOURCES.csv`` of a dataset: every source clip used, with its provenance."""
    return sources_csv(sources_rows(plans, src.provenance,
                                    builtin=src.meta["kind"] == "builtin"))


def build_manifest(spec: DatasetSpec, sources_meta: dict, plans: list[FilePlan],
                   hashes: dict[str, dict], tables: dict[str, str],
                   groups: dict | None = None) -> dict:
    """Assemble the manifest document from the verified output hashes of every plan.

    ``groups`` (from :func:`sedal.generator.library.split_groups`) records which recordings each
    split holds, for classes whose clips were cut from shared recordings.
    """
    files = []
    for p in plans:
        d = p.to_dict()
        d["audio"] = audio_rel(p)
        d["audio_sha256"] = hashes[p.id]["audio_sha256"]
        d["jams"] = jams_rel(p)
        d["jams_sha256"] = hashes[p.id]["jams_sha256"]
        files.append(d)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dataset_id": dataset_key(spec, sources_meta)[:16],
        "spec": spec.to_dict(),
        "sources": sources_meta,
        "versions": package_versions(),
        "files": files,
        "tables": tables,
    } | ({"split_groups": groups} if groups else {})


# -- output dir guard --------------------------------------------------------
def _existing_key(out: Path) -> str | None:
    """The dataset key of what ``out`` holds: None (nothing), a key, "foreign" or
    "unreadable"."""
    import json

    if (out / MANIFEST_NAME).exists():
        try:
            doc = load_manifest(out / MANIFEST_NAME)
            return dataset_key(DatasetSpec.from_dict(doc["spec"]), doc["sources"],
                               doc["format_version"])
        except SedalError:
            return "unreadable"
    if (out / STATE).exists():
        try:
            key = json.loads((out / STATE).read_text())["key"]
            return key if isinstance(key, str) else "unreadable"
        except (OSError, ValueError, KeyError, TypeError):
            return "unreadable"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return "foreign"
    return None


def _prepare_out(out: Path, key: str, force: bool) -> None:
    """Refuse to overwrite a different dataset (unless ``force``); mark as in progress."""
    existing = _existing_key(out)
    if existing is not None and existing != key:
        if not force:
            what = ("files that are not a sedgen dataset" if existing == "foreign"
                    else "a different dataset")
            raise GeneratorError(f"output dir {out} holds {what}; use --force to replace it "
                                 "(or choose another output dir)")
        if not out.is_dir():
            raise GeneratorError(f"output path {out} is a file, not a folder")
        for name in OWNED:
            p = out / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / STATE, {"key": key})


def make_dataset(spec: DatasetSpec, out: str | os.PathLike, *, sources=None, jobs: int = 1,
                 force: bool = False, progress: bool = False, builtin_seed: int = 0,
                 builtin: str = DEFAULT_BUILTIN) -> dict:
    """Build a dataset dir (resumable; outputs identical for any ``jobs``).

    Parameters
    ----------
    spec : DatasetSpec
    out : path
        Dataset dir. Rerunning on a partial dir renders only missing files.
    sources : path or None
        Source library in Scaper's layout; ``None`` for the built-in one.
    builtin : {'field', 'clean'}
        Which built-in library, when ``sources`` is None.
    jobs : int
        Worker processes.
    force : bool
        Replace a dir that holds a different dataset.
    progress : bool
        Show progress bars.

    Returns
    -------
    Manifest
        The dataset's manifest, typed.
    """
    from sedal.core.fsutil import exclusive_lock

    # two processes writing one dataset dir at once wait for each other (the second then
    # finds the first one's files and reuses them)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(Path(out)):
        return _make_dataset_locked(spec, out, sources=sources, jobs=jobs, force=force,
                                    progress=progress, builtin_seed=builtin_seed,
                                    builtin=builtin)


def _make_dataset_locked(spec: DatasetSpec, out: str | os.PathLike, *, sources=None,
                         jobs: int = 1, force: bool = False, progress: bool = False,
                         builtin_seed: int = 0, builtin: str = DEFAULT_BUILTIN) -> dict:
    """:func:`make_dataset` under the output dir's lock."""
    if jobs < 1:
        raise GeneratorError(f"--jobs must be >= 1, got {jobs}")
    out = Path(out)
    src = resolve_sources(sources, spec.sr, builtin_seed=builtin_seed,
                          builtin=check_builtin(builtin), progress=progress)
    plans = plan_dataset(spec, src.prepared)
    key = dataset_key(spec, src.meta)
    check_renderable(src.prepared, spec)
    _prepare_out(out, key, force)
    # Resume: trust only files whose bytes match a record this build made (the finished
    # manifest, then the journal of files rendered since); re-render everything else.
    journal = _Journal(out)
    trusted: dict[str, dict] = {}
    if (out / MANIFEST_NAME).exists():
        trusted = {f["id"]: {"audio_sha256": f["audio_sha256"], "jams_sha256": f["jams_sha256"]}
                   for f in load_manifest(out / MANIFEST_NAME)["files"]}
    trusted.update(journal.read())
    hashes = _verified(out, plans, trusted)
    todo = [p.to_dict() for p in plans if p.id not in hashes]

    def record(records: list[dict]) -> None:
        journal.append(records)
        hashes.update({r["id"]: r for r in records})

    _run_batches(_render_batch, todo,
                 (spec.to_dict(), src.prepared.fg_path(), src.prepared.bg_path(), str(out)),
                 jobs, progress, "rendering", on_done=record)
    check_unique(plans, hashes)
    tables = _write_tables(out, plans, _sources_text(plans, src))
    doc = build_manifest(spec, src.meta, plans, hashes, tables,
                         split_groups(src.prepared, spec.source_test_fraction, spec.seed))
    write_manifest(out / MANIFEST_NAME, doc)
    shutil.rmtree(out / ".sedgen", ignore_errors=True)
    return read_manifest(out / MANIFEST_NAME)


def check_unique(plans: list[FilePlan], hashes: dict[str, dict]) -> None:
    """Refuse a dataset in which two soundscapes have identical audio."""
    seen: dict[str, str] = {}
    for p in plans:
        h = hashes[p.id]["audio_sha256"]
        if h in seen:
            raise GeneratorError(
                f"soundscapes {seen[h]} and {p.id} are identical; the background pool is too "
                "small for this many files (add background recordings)")
        seen[h] = p.id


def check_renderable(prepared: PreparedLibrary, spec: DatasetSpec) -> None:
    """Refuse clips that cannot give a meaningful soundscape: digitally silent ones, and
    foreground clips shorter than Scaper's fade-in plus fade-out.

    Raises
    ------
    GeneratorError
        Naming the first such clip.
    """
    from .library import MIN_CLIP_SECONDS, SILENT_PEAK

    min_len = max(MIN_CLIP_SECONDS, 2 * spec.fade)
    for c in sorted(prepared.clips.values(), key=lambda c: c.relpath):
        if c.peak < SILENT_PEAK:
            raise GeneratorError(f"source clip {c.relpath} is digitally silent (peak "
                                 f"{c.peak:.1e}); remove it from the library")
        if c.kind == "foreground" and c.duration < min_len:
            raise GeneratorError(f"source clip {c.relpath} lasts {c.duration * 1000:.1f} ms, "
                                 f"shorter than the {min_len * 1000:.0f} ms an event needs "
                                 "(fades); remove it from the library")



# -- info / verify / regenerate ---------------------------------------------
def dataset_info(path: str | os.PathLike) -> dict:
    """Summary of a dataset dir (or manifest): files, events per class, ratios."""
    path = Path(path)
    doc = load_manifest(path / MANIFEST_NAME if path.is_dir() else path)
    spec = DatasetSpec.from_dict(doc["spec"])
    out = {"dataset_id": doc["dataset_id"], "manifest_sha256": doc["manifest_sha256"],
           "format_version": doc["format_version"], "sources": doc["sources"]["name"],
           "splits": {}}
    for split in SPLITS:
        files = [f for f in doc["files"] if f["split"] == split]
        events = [e for f in files for e in f["events"]]
        active = sum(e["event_duration"] for e in events)
        out["splits"][split] = {
            "files": len(files),
            "files_with_events": sum(1 for f in files if f["events"]),
            "event_ratio": (sum(1 for f in files if f["events"]) / len(files)) if files else 0.0,
            "events": len(events),
            "events_per_class": dict(sorted(Counter(e["label"] for e in events).items())),
            "active_fraction": active / (len(files) * spec.duration) if files else 0.0,
        }
    return out


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
