"""The per-dataset feature store: YAMNet segment embeddings of every file.

Layout (``<dataset>/features/yamnet-<mode>-<segment>-<hop>-<dtype>/``)::

    embeddings.bin   raw [n_segments_total, 1024] float32 or float16 (memmap)
    index.npz        offsets [n_files+1], file ids, splits, labels [n], times [n]
    progress.json    chunks already embedded (resume point)
    meta.json        key, params, classes, weights provenance, "complete"

The store is keyed by the dataset manifest's sha256, the feature params and the
weights' sha256; a store whose key differs is stale and is rebuilt. Files are
embedded in fixed chunks (independent of anything but the dataset), so an
interrupted build resumes at the first missing chunk and gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from generator.errors import GeneratorError
from generator.fsutil import canonical_json, sha256_bytes, write_json_atomic

from .errors import SedError
from .labels import classes_from_manifest, segment_labels

CHUNK_FILES = 32
DTYPES = ("float32", "float16")
STORE_VERSION = 1


@dataclass(frozen=True)
class FeatureParams:
    """Embedding parameters: segment / hop in seconds, mode, storage dtype."""

    segment: float = 0.12
    hop: float = 0.06
    mode: str = "patch"
    dtype: str = "float32"

    def name(self) -> str:
        return f"yamnet-{self.mode}-{self.segment:g}-{self.hop:g}-{self.dtype}"

    def validate(self) -> None:
        from .yamnet import MODES, YAMNet

        if self.mode not in MODES:
            raise SedError(f"unknown embedding mode {self.mode!r}; choose patch or context")
        if self.dtype not in DTYPES:
            raise SedError(f"unknown dtype {self.dtype!r}; choose float32 or float16")
        YAMNet.segment_frames(self.segment, self.hop)


@dataclass
class FeatureStore:
    """An opened, complete store."""

    path: Path
    meta: dict
    embeddings: np.ndarray  # memmap [n, 1024]
    offsets: np.ndarray  # [n_files + 1]
    file_ids: np.ndarray
    splits: np.ndarray
    labels: np.ndarray  # [n] int8
    times: np.ndarray  # [n] segment start, seconds

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    def file_rows(self, split: str) -> np.ndarray:
        """Indices of the files of ``split``."""
        return np.flatnonzero(self.splits == split)

    def rows(self, files: np.ndarray) -> np.ndarray:
        """Segment row indices of the given file indices (concatenated, in order)."""
        if len(files) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.offsets[f], self.offsets[f + 1]) for f in files])


def load_dataset_manifest(dataset: str | os.PathLike) -> tuple[dict, str]:
    """The dataset's manifest and its sha256; a clear error when there is none."""
    from generator.manifest import load_manifest

    mpath = Path(dataset) / "manifest.json"
    if not mpath.exists():
        raise SedError(f"{dataset} has no manifest.json (is it a sedgen dataset dir?)")
    try:
        doc = load_manifest(mpath)
    except GeneratorError as exc:
        raise SedError(str(exc)) from None
    return doc, doc["manifest_sha256"]


def store_key(manifest_sha: str, params: FeatureParams, weights_sha: str) -> str:
    return sha256_bytes(canonical_json({
        "manifest": manifest_sha, "params": params.__dict__, "weights": weights_sha,
        "version": STORE_VERSION}).encode())


def read_audio_16k(path: Path) -> np.ndarray:
    """Read a wav as mono float32 16 kHz; NaN/inf or unreadable audio is an error naming it."""
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise SedError(f"cannot read audio file {path}: {exc}") from None
    x = x.mean(axis=1)
    if not np.all(np.isfinite(x)):
        raise SedError(f"audio file {path} holds NaN or infinite samples")
    if sr != 16000:
        from .yamnet import YAMNet

        x = YAMNet.prepare_waveform(x, sr)
    return x


def open_store(path: str | os.PathLike) -> FeatureStore:
    """Open a complete store (no validation of its key; see :func:`ensure_store`)."""
    path = Path(path)
    meta = json.loads((path / "meta.json").read_text())
    if not meta.get("complete"):
        raise SedError(f"feature store {path} is incomplete; run sedbench embed again")
    idx = np.load(path / "index.npz", allow_pickle=False)
    emb = np.memmap(path / "embeddings.bin", dtype=meta["dtype"], mode="r",
                    shape=(int(meta["n_segments"]), 1024))
    return FeatureStore(path, meta, emb, idx["offsets"], idx["file_ids"], idx["splits"],
                        idx["labels"], idx["times"])


def find_store(dataset: str | os.PathLike, params: FeatureParams | None = None) -> Path:
    return Path(dataset) / "features" / (params or FeatureParams()).name()


def ensure_store(dataset: str | os.PathLike, params: FeatureParams | None = None, *,
                 model=None, yamnet_path=None, progress: bool = False,
                 rebuild: str = "auto") -> FeatureStore:
    """Build (or resume, or reuse) the feature store of a dataset dir.

    Parameters
    ----------
    dataset : path
        A sedgen dataset dir.
    params : FeatureParams
    model : sed.yamnet.YAMNet, optional
        A loaded model (else weights are resolved, ``yamnet_path`` first).
    rebuild : {'auto', 'never'}
        What to do with a stale store: rebuild it, or refuse with a message.

    Returns
    -------
    FeatureStore
    """
    params = params or FeatureParams()
    params.validate()
    doc, msha = load_dataset_manifest(dataset)
    dataset = Path(dataset)
    path = find_store(dataset, params)
    if model is None and (path / "meta.json").exists():
        # A complete, matching store needs no model: check against the cached weights' sha.
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("complete") and meta.get("manifest_sha256") == msha and (
                yamnet_path is None and os.environ.get("SEDAL_YAMNET") is None):
            return open_store(path)
    if model is None:
        from .yamnet import load_yamnet

        model = load_yamnet(yamnet_path)
    key = store_key(msha, params, model.provenance["weights_sha256"])
    meta_p = path / "meta.json"
    if meta_p.exists():
        meta = json.loads(meta_p.read_text())
        if meta.get("key") == key and meta.get("complete"):
            return open_store(path)
        if meta.get("key") != key:
            if rebuild == "never":
                raise SedError(f"feature store {path} was built for other params or data; "
                               "run sedbench embed to rebuild it")
            shutil.rmtree(path)
    return _build(dataset, doc, msha, params, model, key, path, progress)


def _build(dataset: Path, doc: dict, msha: str, params: FeatureParams, model, key: str,
           path: Path, progress: bool) -> FeatureStore:
    from tqdm import tqdm

    from generator.fsutil import resolve_inside

    from .yamnet import YAMNet

    files = doc["files"]
    classes = classes_from_manifest(doc)
    n_samples = []
    for f in files:
        p = resolve_inside(dataset, f["audio"])
        try:
            info = sf.info(str(p))
        except Exception as exc:
            raise SedError(f"cannot read audio file {p}: {exc}") from None
        n_samples.append(int(round(info.frames * 16000 / info.samplerate)))
    counts = np.array([YAMNet.n_segments(n, params.segment, params.hop) for n in n_samples])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])
    labels = np.concatenate([
        segment_labels([(e["event_time"], e["event_time"] + e["event_duration"], e["label"])
                        for e in f["events"]], int(c), classes, params.segment, params.hop)
        for f, c in zip(files, counts)]) if total else np.zeros(0, np.int8)
    times = np.concatenate([np.arange(c) * params.hop for c in counts]).astype(np.float32)
    path.mkdir(parents=True, exist_ok=True)
    meta_p = path / "meta.json"
    base_meta = {
        "key": key, "version": STORE_VERSION, "manifest_sha256": msha,
        "dataset_id": doc["dataset_id"], "params": params.__dict__, "classes": classes,
        "dtype": params.dtype, "n_segments": total, "n_files": len(files),
        "weights": model.provenance, "chunk_files": CHUNK_FILES,
    }
    if not meta_p.exists():
        write_json_atomic(meta_p, {**base_meta, "complete": False})
    ids = np.array([f["id"] for f in files])
    splits = np.array([f["split"] for f in files])
    if not (path / "index.npz").exists():
        from generator.fsutil import atomic_path

        with atomic_path(path / "index.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, offsets=offsets, file_ids=ids, splits=splits, labels=labels,
                         times=times)
    emb_p = path / "embeddings.bin"
    itemsize = np.dtype(params.dtype).itemsize
    if not emb_p.exists() or emb_p.stat().st_size != total * 1024 * itemsize:
        with open(emb_p, "wb") as fh:
            fh.truncate(total * 1024 * itemsize)
    prog_p = path / "progress.json"
    done = set(json.loads(prog_p.read_text())["done"]) if prog_p.exists() else set()
    n_chunks = (len(files) + CHUNK_FILES - 1) // CHUNK_FILES
    if total:
        emb = np.memmap(emb_p, dtype=params.dtype, mode="r+", shape=(total, 1024))
        bar = tqdm(total=len(files), desc="embedding", unit="file", disable=not progress)
        bar.update(sum(min(CHUNK_FILES, len(files) - c * CHUNK_FILES) for c in done))
        for c in range(n_chunks):
            if c in done:
                continue
            lo, hi = c * CHUNK_FILES, min(len(files), (c + 1) * CHUNK_FILES)
            waves = [read_audio_16k(resolve_inside(dataset, files[i]["audio"]))
                     for i in range(lo, hi)]
            mels = model.log_mel_many(waves) if params.mode == "patch" else [None] * len(waves)
            patches = [model.segment_patches(w, params.segment, params.hop, params.mode, mel=m)
                       for w, m in zip(waves, mels)]
            out = model.embed_patches(np.concatenate(patches))
            emb[offsets[lo]:offsets[hi]] = out.astype(params.dtype)
            emb.flush()
            done.add(c)
            write_json_atomic(prog_p, {"done": sorted(done)})
            bar.update(hi - lo)
        bar.close()
        del emb
    write_json_atomic(meta_p, {**base_meta, "complete": True})
    if prog_p.exists():
        prog_p.unlink()
    return open_store(path)
