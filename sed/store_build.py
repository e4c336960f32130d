"""Building a feature store: the index of a dataset's segments, then its YAMNet embeddings
chunk by chunk into a preallocated file, resumable after a crash or a full disk."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.core.fsutil import atomic_path, resolve_inside, sha256_bytes, write_json_atomic
from sedal.core.progress import progress_bar
from sedal.generator.manifest import Manifest

from .errors import SedError
from .features import (
    CHUNK_FILES,
    EMBED_DIM,
    STORE_VERSION,
    FeatureParams,
    FeatureStore,
    open_store,
    read_audio_16k,
)
from .labels import class_list, segment_labels


def build_store(dataset: Path, doc: Manifest, msha: str, params: FeatureParams, model,
                key: str, path: Path, progress: bool) -> FeatureStore:
    """Build (or resume) the store ``path`` of a dataset: the index, then the embeddings
    chunk by chunk (each chunk's sha256 recorded, so a resumed build keeps only chunks whose
    bytes still match), then ``meta.json`` marked complete."""
    files = doc.files
    classes = class_list(doc.classes)
    offsets, labels, times = _index_arrays(dataset, files, classes, params)
    total = int(offsets[-1])
    path.mkdir(parents=True, exist_ok=True)
    meta_p = path / "meta.json"
    base_meta = {
        "key": key, "version": STORE_VERSION, "manifest_sha256": msha,
        "dataset_id": doc.dataset_id, "params": params.__dict__, "classes": classes,
        "dtype": params.dtype, "n_segments": total, "n_files": len(files),
        "weights": model.provenance, "chunk_files": CHUNK_FILES,
        "engine": getattr(model, "engine_id", "tf"),
    }
    if not meta_p.exists():
        write_json_atomic(meta_p, {**base_meta, "complete": False})
    ids = np.array([f.id for f in files])
    splits = np.array([f.split for f in files])
    with atomic_path(path / "index.npz") as tmp:  # cheap and derived: always rewritten
        with open(tmp, "wb") as fh:
            np.savez(fh, offsets=offsets, file_ids=ids, splits=splits, labels=labels,
                     times=times)
    _embed_chunks(dataset, files, params, model, offsets, path, progress)
    write_json_atomic(meta_p, {**base_meta, "complete": True})
    prog_p = path / "progress.json"
    if prog_p.exists():
        prog_p.unlink()
    return open_store(path)


def _index_arrays(dataset: Path, files, classes: list[str], params: FeatureParams
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row offsets of the files, segment labels and segment start times (s)."""
    from .yamnet import YAMNet

    n_samples = []
    for f in files:
        p = resolve_inside(dataset, f.audio)
        try:
            info = sf.info(str(p))
        except Exception as exc:
            raise SedError(f"cannot read audio file {p}: {exc}") from None
        n_samples.append(int(round(info.frames * 16000 / info.samplerate)))
    counts = np.array([YAMNet.n_segments(n, params.segment, params.hop) for n in n_samples])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    labels = np.concatenate([
        segment_labels([(e.event_time, e.event_time + e.event_duration, e.label)
                        for e in f.events], int(c), classes, params.segment, params.hop)
        for f, c in zip(files, counts)]) if int(offsets[-1]) else np.zeros(0, np.int8)
    times = np.concatenate([np.arange(c) * params.hop for c in counts]).astype(np.float32)
    return offsets, labels, times


def _embed_chunks(dataset: Path, files, params: FeatureParams, model, offsets: np.ndarray,
                  path: Path, progress: bool) -> None:
    """Embed every chunk of :data:`CHUNK_FILES` files not done yet into ``embeddings.bin``
    (one producer thread prepares the next chunk while the network embeds this one)."""
    total = int(offsets[-1])
    emb_p = path / "embeddings.bin"
    row_bytes = EMBED_DIM * np.dtype(params.dtype).itemsize
    prog_p = path / "progress.json"
    n_chunks = (len(files) + CHUNK_FILES - 1) // CHUNK_FILES
    fd = os.open(emb_p, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _allocate(fd, emb_p, total * row_bytes)
        # Resume: a chunk counts as done only if its bytes still hash to what was recorded.
        done = {c: h for c, h in _read_progress(prog_p).items()
                if 0 <= c < n_chunks and _chunk_sha(fd, offsets, c, row_bytes) == h}
        bar = progress_bar(len(files), desc="embedding", unit="file", enabled=progress)
        bar.update(sum(min(CHUNK_FILES, len(files) - c * CHUNK_FILES) for c in done))

        def prepare(c: int):
            """Decode, log-mel and cut chunk ``c`` into network inputs."""
            lo, hi = c * CHUNK_FILES, min(len(files), (c + 1) * CHUNK_FILES)
            waves = [read_audio_16k(resolve_inside(dataset, files[i].audio))
                     for i in range(lo, hi)]
            if hasattr(model, "prepare_chunk"):  # BirdNET: windows and a row per segment
                return model.prepare_chunk(waves, list(np.diff(offsets[lo:hi + 1])),
                                           params.segment, params.hop)
            mels = model.log_mel_many(waves) if params.mode == "patch" else [None] * len(waves)
            return np.concatenate([
                model.segment_patches(w, params.segment, params.hop, params.mode, mel=m)
                for w, m in zip(waves, mels)])

        # One producer thread prepares the next chunk while the network embeds this one.
        todo = [c for c in range(n_chunks) if c not in done]
        producer = ThreadPoolExecutor(max_workers=1)
        try:
            ahead = producer.submit(prepare, todo[0]) if todo else None
            for j, c in enumerate(todo):
                patches = ahead.result()
                ahead = producer.submit(prepare, todo[j + 1]) if j + 1 < len(todo) else None
                lo, hi = c * CHUNK_FILES, min(len(files), (c + 1) * CHUNK_FILES)
                data = _embed_bytes(model, patches, params.dtype)
                _pwrite_all(fd, data, int(offsets[lo]) * row_bytes, emb_p)
                os.fsync(fd)
                done[c] = sha256_bytes(data)
                write_json_atomic(prog_p, {"done": sorted(done), "sha256": {
                    str(k): v for k, v in sorted(done.items())}})
                bar.update(hi - lo)
        finally:
            producer.shutdown(wait=True, cancel_futures=True)
        bar.close()
    finally:
        os.close(fd)


def _embed_bytes(model, patches, dtype: str) -> bytes:
    """The stored bytes of the embeddings of ``patches`` (rows in order, ``dtype``)."""
    emb = model.embed_chunk(patches) if hasattr(model, "embed_chunk") \
        else model.embed_patches(patches)
    return np.ascontiguousarray(emb.astype(dtype)).tobytes()


def _allocate(fd: int, path: Path, nbytes: int) -> None:
    """Give ``path`` its full size on disk now (not a sparse file), so that a full disk is
    an ordinary error here instead of a SIGBUS in the middle of a memory-mapped write."""
    if os.fstat(fd).st_size > nbytes:
        os.ftruncate(fd, nbytes)
    if nbytes == 0:
        return
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, nbytes)
        elif os.fstat(fd).st_size < nbytes:  # pragma: no cover - non-POSIX systems
            os.ftruncate(fd, nbytes)
    except OSError as exc:
        raise SedError(f"cannot allocate {nbytes / 1e9:.2f} GB for the feature store {path}: "
                       f"{exc.strerror or exc}; free some space and run the command again "
                       "(finished chunks are kept)") from None


def _pwrite_all(fd: int, data: bytes, offset: int, path: Path) -> None:
    """Write all of ``data`` at ``offset`` with ordinary I/O (errors are OSError, not SIGBUS)."""
    view = memoryview(data)
    try:
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
    except OSError as exc:
        raise SedError(f"cannot write the feature store {path}: {exc.strerror or exc}; "
                       "free some space and run the command again (finished chunks are "
                       "kept)") from None


def _read_progress(path: Path) -> dict[int, str]:
    """``{chunk: sha256}`` recorded by an interrupted build (empty when absent or unreadable)."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))["sha256"]
        return {int(k): str(v) for k, v in rec.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _chunk_sha(fd: int, offsets: np.ndarray, c: int, row_bytes: int) -> str:
    lo = int(offsets[c * CHUNK_FILES])
    hi = int(offsets[min(len(offsets) - 1, (c + 1) * CHUNK_FILES)])
    return sha256_bytes(os.pread(fd, (hi - lo) * row_bytes, lo * row_bytes))
