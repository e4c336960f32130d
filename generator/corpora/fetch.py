"""Turning published corpora into a Scaper source library (``sedgen sources fetch``).

Each fetcher downloads its corpus (resumable, verified), extracts only what it needs
(safely), cuts the events or selects the recordings, and writes mono 16-bit PCM clips
at the original sample rate into ``<dest>/foreground/<label>/`` or
``<dest>/background/<label>/``. Several fetchers can fill one library. A class folder
is replaced atomically, and ``provenance.csv`` lists every clip: corpus, origin file,
licence, citation and the time span it was cut from.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.core.fsutil import cache_dir, write_bytes_atomic

from ..errors import GeneratorError
from .archive import MAX_BYTES, extract
from .download import Lock, download
from .registry import CORPORA, Corpus

PROVENANCE = "provenance.csv"
PROV_FIELDS = ("path", "kind", "label", "corpus", "origin", "start_s", "end_s", "licence",
               "citation")


@dataclass
class Clip:
    kind: str
    label: str
    name: str
    audio: np.ndarray
    sr: int
    origin: str
    start_s: float
    end_s: float


def trim_silence(x: np.ndarray, sr: int, threshold_db: float = -40.0,
                 pad: float = 0.05) -> tuple[int, int]:
    """(start, end) samples of ``x`` without leading/trailing parts below ``threshold_db``
    re the peak, keeping ``pad`` seconds on each side; the whole clip if it is silent."""
    mono = np.abs(x if x.ndim == 1 else x.mean(axis=1))
    peak = mono.max() if len(mono) else 0.0
    if peak <= 0:
        return 0, len(mono)
    loud = np.flatnonzero(mono >= peak * 10 ** (threshold_db / 20))
    p = int(pad * sr)
    return max(0, int(loud[0]) - p), min(len(mono), int(loud[-1]) + 1 + p)


def _read(path: Path) -> tuple[np.ndarray, int]:
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise GeneratorError(f"cannot read audio {path.name}: {exc}") from None
    return x.mean(axis=1), int(sr)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


class LibraryWriter:
    """Stages clips and commits them class by class into ``dest``."""

    def __init__(self, dest: Path, corpus: Corpus):
        self.dest = Path(dest)
        self.corpus = corpus
        self.dest.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=self.dest))
        self.rows: list[dict] = []
        self.classes: set[tuple[str, str]] = set()

    def add(self, clip: Clip) -> None:
        rel = f"{clip.kind}/{clip.label}/{_slug(clip.name)}.wav"
        target = self.stage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, np.clip(clip.audio, -1, 1), clip.sr, subtype="PCM_16")
        self.classes.add((clip.kind, clip.label))
        self.rows.append({"path": rel, "kind": clip.kind, "label": clip.label,
                          "corpus": self.corpus.name, "origin": clip.origin,
                          "start_s": f"{clip.start_s:.6f}", "end_s": f"{clip.end_s:.6f}",
                          "licence": self.corpus.licence, "citation": self.corpus.citation})

    def commit(self) -> dict[str, int]:
        """Move every staged class into place (replacing it) and rewrite the provenance."""
        if not self.rows:
            self.abort()
            raise GeneratorError(f"{self.corpus.name}: no clip was extracted")
        counts = {}
        for kind, label in sorted(self.classes):
            new = self.stage / kind / label
            final = self.dest / kind / label
            final.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if final.exists():
                old = final.with_name(f".old-{label}")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(final, old)
            os.replace(new, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            counts[f"{kind}/{label}"] = len(list(final.glob("*.wav")))
        prov = self.dest / PROVENANCE
        keep = []
        if prov.exists():
            with open(prov, newline="") as fh:
                replaced = {f"{k}/{lab}/" for k, lab in self.classes}
                keep = [r for r in csv.DictReader(fh)
                        if not any(r["path"].startswith(p) for p in replaced)]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=PROV_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in sorted(keep + self.rows, key=lambda r: r["path"]):
            w.writerow(r)
        write_bytes_atomic(prov, buf.getvalue().encode())
        shutil.rmtree(self.stage, ignore_errors=True)
        return counts

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


# -- corpus-specific readers -------------------------------------------------------
def _esc50(files: list[Path], writer: LibraryWriter, work: Path) -> None:
    archive = files[0]
    meta_dir = extract(archive, work, lambda n: n.endswith("meta/esc50.csv"))
    metas = list(meta_dir.rglob("esc50.csv"))
    if not metas:
        raise GeneratorError(f"{archive.name} has no meta/esc50.csv")
    wanted = {}
    with open(metas[0], newline="") as fh:
        for row in csv.DictReader(fh):
            if row["category"] in ("dog", "crying_baby"):
                wanted[row["filename"]] = "dog" if row["category"] == "dog" else "baby"
    audio_dir = extract(archive, work, lambda n: n.rsplit("/", 1)[-1] in wanted
                        and "/audio/" in f"/{n}")
    for path in sorted(audio_dir.rglob("*.wav")):
        x, sr = _read(path)
        a, b = trim_silence(x, sr)
        writer.add(Clip("foreground", wanted[path.name], path.stem, x[a:b], sr,
                        f"audio/{path.name}", a / sr, b / sr))


def _events_from_lines(text: str) -> list[tuple[float, float]]:
    out = []
    for line in text.splitlines():
        nums = re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", line)
        if len(nums) >= 2:
            a, b = float(nums[0]), float(nums[1])
            if b > a >= 0:
                out.append((a, b))
    return out


def _cut(writer, kind, label, path: Path, events, origin: str, min_len: float = 0.05):
    x, sr = _read(path)
    n = 0
    for i, (a, b) in enumerate(events):
        s, e = int(round(a * sr)), min(len(x), int(round(b * sr)))
        if e - s < int(min_len * sr):
            continue
        writer.add(Clip(kind, label, f"{path.stem}_ev{i:03d}", x[s:e], sr, origin, s / sr, e / sr))
        n += 1
    return n


def _nigens(files: list[Path], writer: LibraryWriter, work: Path) -> None:
    classes = {"dog": "dog", "baby": "baby"}
    folder = extract(files[0], work, lambda n: any(f"/{c}/" in f"/{n}" for c in classes))
    for wav in sorted(folder.rglob("*.wav")):
        label = classes.get(wav.parent.name)
        if label is None:
            continue
        ann = wav.with_name(wav.name + ".txt")
        if ann.exists():
            events = _events_from_lines(ann.read_text(errors="replace"))
        else:
            x, sr = _read(wav)
            a, b = trim_silence(x, sr)
            events = [(a / sr, b / sr)]
        _cut(writer, "foreground", label, wav, events, f"{wav.parent.name}/{wav.name}")


def _dcase_fewshot(files: list[Path], writer: LibraryWriter, work: Path) -> None:
    folder = extract(files[0], work, lambda n: "/MT/" in f"/{n}" or "/ME/" in f"/{n}")
    for table in sorted(folder.rglob("*.csv")):
        wav = table.with_suffix(".wav")
        if not wav.exists():
            continue
        events = []
        with open(table, newline="") as fh:
            reader = csv.DictReader(fh)
            cols = [c for c in (reader.fieldnames or [])
                    if c not in ("Audiofilename", "Starttime", "Endtime")]
            for i, row in enumerate(reader, start=2):
                try:
                    a, b = float(row["Starttime"]), float(row["Endtime"])
                except (KeyError, TypeError, ValueError):
                    raise GeneratorError(f"{table.name}, line {i}: bad Starttime/Endtime") \
                        from None
                if any((row.get(c) or "").strip() == "POS" for c in cols):
                    events.append((a, b))
        _cut(writer, "foreground", "meerkat", wav, events,
             f"{table.parent.name}/{wav.name}", min_len=0.02)


def _tut_park(files: list[Path], writer: LibraryWriter, work: Path) -> None:
    meta_dir = extract(files[0], work, lambda n: n.endswith("meta.txt"))
    metas = list(meta_dir.rglob("meta.txt"))
    if not metas:
        raise GeneratorError(f"{files[0].name} has no meta.txt")
    park: dict[str, list[str]] = defaultdict(list)  # recording id -> audio names
    for line in metas[0].read_text().splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2 and parts[1].strip() == "park":
            rec = parts[2].strip() if len(parts) > 2 else Path(parts[0]).stem
            park[rec].append(Path(parts[0]).name)
    names = {n for v in park.values() for n in v}
    found: dict[str, Path] = {}
    for archive in files[1:]:
        folder = extract(archive, work, lambda n: n.rsplit("/", 1)[-1] in names)
        for p in folder.rglob("*.wav"):
            found[p.name] = p

    def start(name: str) -> float:
        m = re.search(r"_(\d+)_(\d+)\.wav$", name)
        return float(m.group(1)) if m else 0.0

    for rec, segs in sorted(park.items()):
        segs = sorted((s for s in segs if s in found), key=start)
        if not segs:
            continue
        parts = [_read(found[s]) for s in segs]
        sr = parts[0][1]
        audio = np.concatenate([x for x, r in parts if r == sr])
        writer.add(Clip("background", "park", f"tut_{rec}", audio, sr,
                        "+".join(f"audio/{s}" for s in segs), start(segs[0]),
                        start(segs[0]) + len(audio) / sr))


READERS = {"esc50": _esc50, "nigens": _nigens, "dcase-fewshot": _dcase_fewshot,
           "tut-park": _tut_park}


def fetch_corpus(name: str, dest: str | os.PathLike, *, mirror: str | None = None,
                 lock_path: str | os.PathLike | None = None, timeout: float = 30.0,
                 progress: bool = False, max_bytes: int = MAX_BYTES) -> dict[str, int]:
    """Download corpus ``name`` and add its classes to the library at ``dest``.

    Parameters
    ----------
    name : str
        One of ``esc50``, ``nigens``, ``dcase-fewshot``, ``tut-park``.
    dest : path
        Library folder (created; other classes in it are kept).
    mirror : str, optional
        Base URL serving the corpus files under their file names (instead of the
        publisher's URLs), e.g. a local mirror.
    lock_path : path, optional
        JSON file pinning the sha256 of files without a published checksum
        (default ``$SEDAL_CACHE/downloads/corpora.lock.json``).

    Returns
    -------
    dict
        Clips per class folder written.
    """
    if name not in CORPORA:
        raise GeneratorError(f"unknown corpus {name!r}; choose from {', '.join(CORPORA)}")
    corpus = CORPORA[name]
    downloads = cache_dir() / "downloads" / name
    lock = Lock(Path(lock_path) if lock_path else cache_dir() / "downloads" /
                "corpora.lock.json")
    files = []
    for remote in corpus.remotes:
        url = None if mirror is None else mirror.rstrip("/") + "/" + remote.filename
        files.append(download(remote, downloads, lock, url=url, timeout=timeout,
                              progress=progress))
    dest = Path(dest)
    writer = LibraryWriter(dest, corpus)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=dest))
    try:
        READERS[name](files, writer, work)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
