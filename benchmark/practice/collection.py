"""A collection of recordings: finding them (``scan_audio``), embedding them once into the
content-addressed embedding store, and reading a detector's features back block by block."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.embedding_store import DIM, EmbeddingStore
from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector
from sedal.sed.grid import HOP_S, SEGMENT_S
from sedal.sed.uncertainty import entropy_top_probability

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3", ".au", ".w64")


@dataclass
class Recording:
    rel: str  # path below the audio root, posix
    key: str  # rel without its extension: what label files are matched against
    path: Path
    duration: float
    sha256: str = ""
    sr: int = 16000  # the file's sample rate, Hz


def printable_name(name: str) -> str:
    """``name`` with non-printable characters escaped (``\\n``, ``\\x00``...), for messages."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in name)


def scan_audio(root: str | os.PathLike) -> tuple[list[Recording], list[tuple[str, str]]]:
    """Every readable recording below ``root`` (nested); unreadable ones are listed."""
    root = Path(root)
    if not root.is_dir():
        raise BenchmarkError(f"audio folder {root} does not exist")
    recs, skipped = [], []
    real_root = root.resolve()
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in AUDIO_EXTENSIONS:
            continue
        rel = p.relative_to(root).as_posix()
        if not rel.isprintable():
            # names go into tables, summaries and the app: a newline would forge a row
            skipped.append((printable_name(rel), "a control character in its name; rename it"))
            continue
        if not p.resolve().is_relative_to(real_root):
            # a link to a file outside the folder: never listed, embedded or served
            skipped.append((rel, "a link that leads outside the audio folder"))
            continue
        try:
            info = sf.info(str(p))
            if info.frames == 0:
                raise ValueError("no samples")
            if info.frames < SEGMENT_S * info.samplerate:
                raise ValueError(f"shorter than one {SEGMENT_S:g} s segment "
                                 f"({info.frames} samples)")
        except Exception as exc:
            skipped.append((rel, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        recs.append(Recording(rel, rel.rsplit(".", 1)[0], p, info.frames / info.samplerate,
                              sr=int(info.samplerate)))
    by_key: dict[str, list[str]] = {}
    for r in recs:
        by_key.setdefault(r.key, []).append(r.rel)
    clash = next((rels for rels in by_key.values() if len(rels) > 1), None)
    if clash is not None:  # label files and outputs are named after the name without suffix
        raise BenchmarkError(f"recordings {' and '.join(clash)} differ only in their "
                             "extension; label files and outputs are named after "
                             f"{clash[0].rsplit('.', 1)[0]!r}, so rename one of them")
    return recs, skipped


def _embed_one(path: str, yamnet_path=None, mode: str = "patch") -> np.ndarray:
    """Embed one recording (used locally and on Dask workers)."""
    from sedal.sed.yamnet import load_yamnet

    global _MODEL
    try:
        model = _MODEL
    except NameError:
        model = _MODEL = load_yamnet(yamnet_path)
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return model.embed(x.mean(axis=1), sr, SEGMENT_S, HOP_S, mode)


def embed_collection(recs: list[Recording], cache: EmbeddingStore, model, *,
                     progress: bool = False, scheduler: str | None = None,
                     skipped: list | None = None) -> list[Recording]:
    """Hash every recording and embed those not stored yet (resumable: written in shards
    as it goes, see :class:`EmbeddingStore`). Returns the recordings that have an
    embedding; unreadable ones are appended to ``skipped``."""
    from sedal.benchmark.practice.file_hashes import FileHashes
    from sedal.core.progress import track

    if any(not r.sha256 for r in recs):  # another mode's call may have hashed them
        hashes = FileHashes(cache.root.parent / "file-hashes.json")
        for r in recs:
            if not r.sha256:
                r.sha256 = hashes.sha256(r.path)
        hashes.save()
    todo, seen = [], set()
    for r in recs:  # each content once
        if r.sha256 not in cache and r.sha256 not in seen:
            seen.add(r.sha256)
            todo.append(r)
    with cache.writer() as writer:
        if scheduler and todo:
            from distributed import Client, as_completed

            with Client(scheduler, timeout="20s") as client:
                futs = {client.submit(_embed_one, str(r.path), None, cache.mode,
                                      pure=False): r for r in todo}
                for fut in track(as_completed(futs), total=len(futs), desc="embedding",
                                 unit="file", enabled=progress):
                    writer.add(futs[fut].sha256, fut.result())
            todo = []
        for r in track(todo, desc="embedding", unit="file", enabled=progress):
            try:
                x, sr = sf.read(str(r.path), dtype="float32", always_2d=True)
                emb = model.embed(x.mean(axis=1), sr, SEGMENT_S, HOP_S, cache.mode)
            except SedError as exc:
                if skipped is not None:
                    skipped.append((r.rel, str(exc)))
                continue
            except Exception as exc:
                if skipped is not None:
                    skipped.append((r.rel, str(exc).splitlines()[0]))
                continue
            writer.add(r.sha256, emb)
    return [r for r in recs if r.sha256 in cache]  # each shard written refreshed the store


class CollectionFeatures:
    """A detector's features of every recording of a collection.

    The embeddings of every mode the detector reads are computed once per recording content
    (sha256) and cached (:class:`EmbeddingCache`); the detector's features (temporal context,
    YAMNet scores) are built from them per recording, on demand.
    """

    def __init__(self, recs: list[Recording], detector, model, *, cache_root: Path | None,
                 progress: bool = False, scheduler: str | None = None,
                 skipped: list | None = None, yamnet=None):
        from sedal.sed.detector import yamnet_head

        sha = model.provenance["weights_sha256"]
        self.detector = detector
        self.caches = [EmbeddingStore(cache_root, sha, m, SEGMENT_S, HOP_S) for m in detector.modes]
        for cache in self.caches:
            recs = embed_collection(recs, cache, model, progress=progress,
                                    scheduler=scheduler, skipped=skipped)
        self.recs = recs
        self.head = yamnet_head(yamnet, sha) if detector.scores else None

    @classmethod
    def from_stores(cls, stores: list[EmbeddingStore], detector, head=None
                    ) -> CollectionFeatures:
        """Features over stores already filled (one per detector mode), nothing embedded."""
        self = cls.__new__(cls)
        self.detector, self.caches, self.recs, self.head = detector, list(stores), [], head
        return self

    def load(self, sha: str) -> np.ndarray:
        """The detector's features [n_segments, D] of one recording (float32)."""
        from sedal.sed.detector import build_features

        embs = [c.load(sha) for c in self.caches]
        return build_features(embs, np.array([0, len(embs[0])]), self.detector, self.head)

    @property
    def plain(self) -> bool:
        """Whether the features are the modes' embeddings side by side, nothing derived
        (then any of their columns can be read straight from the stores)."""
        d = self.detector
        return not (d.stack or d.pool or d.scores)

    def offsets(self, shas: list[str]) -> np.ndarray:
        """Row offsets of these recordings' segments, stacked in order."""
        n = [self.caches[0].n_rows(s) for s in shas]
        return np.concatenate([[0], np.cumsum(n)]).astype(np.int64)

    def read(self, shas: list[str], cols: np.ndarray) -> np.ndarray:
        """Feature columns ``cols`` of the recordings ``shas``, stacked in order.

        For a plain detector the columns are gathered from the stores (column ``j`` is
        column ``j % 1024`` of mode ``j // 1024``); otherwise the features are built per
        recording and the columns taken from them."""
        cols = np.asarray(cols, dtype=np.int64)
        if not self.plain:
            X = np.concatenate([self.load(s) for s in shas]) if shas else \
                np.zeros((0, 0), np.float32)
            return X[:, cols] if len(X) else np.zeros((0, len(cols)), np.float32)
        parts = []
        for m, cache in enumerate(self.caches):
            mine = cols[(cols >= m * DIM) & (cols < (m + 1) * DIM)] - m * DIM
            if len(mine):
                parts.append(cache.read(shas, mine)[0])
        if not parts:  # no column asked for
            return np.zeros((int(self.offsets(shas)[-1]), 0), np.float32)
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    def used_columns(self, shas: list[str]) -> np.ndarray:
        """Feature columns that are non-zero somewhere in these recordings (a plain
        detector's; every column for the others)."""
        if not self.plain:
            return np.arange(len(self.load(shas[0])[0])) if shas else np.zeros(0, np.int64)
        return np.concatenate([c.columns(shas) + m * DIM for m, c in enumerate(self.caches)])

    def segment_entropies(self, detector: Detector, shas: list[str], *, threads: int = 2,
                          files_per_block: int = 1024, confidence: bool = False) -> tuple:
        """Segment entropies (bits) and most probable classes of the recordings ``shas``
        under the fitted ``detector``, and their row offsets: read block by block, only the
        columns the classifier uses (memory: one block, not the collection). With
        ``confidence``, also the most probable class's probability per segment (last)."""
        from concurrent.futures import ThreadPoolExecutor

        offsets = self.offsets(shas)
        H = np.empty(int(offsets[-1]), np.float32)
        top = np.empty(int(offsets[-1]), np.int16)
        ptop = np.empty(int(offsets[-1]), np.float32)
        # a plain detector's fitted model reads only its columns, straight from the stores
        direct = self.plain and detector.sees_classes
        if direct:
            cols, w, bias = detector.linear_map()

        def work(i):
            block = shas[i:i + files_per_block]
            a, b = offsets[i], offsets[min(i + files_per_block, len(shas))]
            if direct:
                z = detector.logits(self.read(block, cols) @ w.T + bias)
            else:
                z = detector.class_logits(np.concatenate([self.load(s) for s in block]))
            H[a:b], top[a:b], ptop[a:b] = entropy_top_probability(z)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(work, range(0, len(shas), files_per_block)))
        return (H, top, offsets, ptop) if confidence else (H, top, offsets)

    def file_means(self, shas: list[str], cols: np.ndarray,
                   files_per_block: int = 1024) -> np.ndarray:
        """Mean of each recording's feature columns ``cols`` [len(shas), len(cols)]."""
        out = np.zeros((len(shas), len(cols)), np.float64)
        for i in range(0, len(shas), files_per_block):
            block = shas[i:i + files_per_block]
            X = self.read(block, cols)
            off = self.offsets(block)
            n = np.diff(off)
            sums = np.add.reduceat(X, off[:-1][n > 0], axis=0, dtype=np.float64) \
                if len(X) else np.zeros((0, len(cols)))
            out[i + np.flatnonzero(n > 0)] = sums / n[n > 0, None]
        return out
