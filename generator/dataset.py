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
from pathlib import Path

from sedal.core.errors import SedalError
from sedal.core.fsutil import (
    sha256_file,
    write_json_atomic,
)
from sedal.generator.layout import audio_rel, dataset_key, jams_rel, resolve_sources
from sedal.generator.outputs import (
    _sources_text,
    _write_tables,
    build_manifest,
)
from sedal.generator.workers import (
    _render_batch,
    _run_batches,
)

from .attribution import SOURCES_CSV
from .builtin import DEFAULT_BUILTIN, check_builtin
from .errors import GeneratorError
from .library import (
    PreparedLibrary,
    split_groups,
)
from .manifest import (
    MANIFEST_NAME,
    load_manifest,
    read_manifest,
    write_manifest,
)
from .plan import FilePlan, plan_dataset
from .spec import DatasetSpec

STATE = Path(".sedgen") / "state.json"
OWNED = ("audio", "annotations", "metadata", MANIFEST_NAME, SOURCES_CSV, ".sedgen")


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
    if out.exists() and (not out.is_dir() or any(not _leftover(p) for p in out.iterdir())):
        return "foreign"
    return None


def _leftover(p: Path) -> bool:
    """What a make killed before its first file landed leaves: a temporary file, or a
    ``.sedgen`` folder without a state (holding at most temporary files)."""
    if p.name.endswith(".tmp") and p.is_file():
        return True
    return p.name == STATE.parent.name and p.is_dir() and all(
        q.name.endswith(".tmp") and q.is_file() for q in p.iterdir())


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
    for name in OWNED:  # temporary files of a make that was killed (we hold the dir's lock)
        if (out / name).is_dir() and not (out / name).is_symlink():
            for tmp in (out / name).rglob(".*.tmp"):
                if tmp.is_file() and not tmp.is_symlink():
                    tmp.unlink()
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


