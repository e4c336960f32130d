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
import math
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.core.errors import SedalError
from sedal.core.fsutil import canonical_json, sha256_bytes
from sedal.generator.manifest import Manifest

from .errors import SedError
from .grid import HOP_S, SEGMENT_S

CHUNK_FILES = 32
EMBED_DIM = 1024
DTYPES = ("float32", "float16")
STORE_VERSION = 1


#: Embedding networks: YAMNet (the study's, the default) and BirdNET v2.4 (opt-in; its model
#: is CC BY-NC-SA 4.0, :mod:`sedal.sed.birdnet`).
BACKBONES = ("yamnet", "birdnet")


@dataclass(frozen=True)
class FeatureParams:
    """Embedding parameters: segment / hop in seconds, mode, storage dtype and backbone.

    For ``backbone="birdnet"`` the mode is ``w<seconds>``: the hop between BirdNET's 3-s
    window centres (e.g. ``w0.5``)."""

    segment: float = SEGMENT_S
    hop: float = HOP_S
    mode: str = "patch"
    dtype: str = "float32"
    backbone: str = "yamnet"

    def name(self) -> str:
        """``<backbone>-<mode>-<segment>-<hop>-<dtype>``, the store's folder name."""
        return f"{self.backbone}-{self.mode}-{self.segment:g}-{self.hop:g}-{self.dtype}"

    @classmethod
    def from_name(cls, name: str) -> FeatureParams:
        """Parse :meth:`name` back (validated)."""
        parts = str(name).split("-")
        try:
            if len(parts) != 5 or parts[0] not in BACKBONES:
                raise ValueError
            params = cls(segment=float(parts[2]), hop=float(parts[3]), mode=parts[1],
                         dtype=parts[4], backbone=parts[0])
        except ValueError:
            raise SedError(f"bad feature setting {name!r}; expected "
                           "<yamnet|birdnet>-<mode>-<segment>-<hop>-<dtype>") from None
        params.validate()
        return params

    @property
    def window_hop(self) -> float:
        """BirdNET's window hop in seconds (its mode ``w<seconds>``)."""
        try:
            return float(self.mode[1:]) if self.mode.startswith("w") else math.nan
        except ValueError:
            return math.nan

    def key_dict(self) -> dict:
        """What identifies the parameters in a store key (YAMNet's keys are those of the
        stores made before the backbone was a parameter)."""
        d = dict(self.__dict__)
        if self.backbone == "yamnet":
            d.pop("backbone")
        return d

    def validate(self) -> None:
        from .yamnet import MODES, YAMNet

        if self.backbone not in BACKBONES:
            raise SedError(f"unknown backbone {self.backbone!r}; choose yamnet or birdnet")
        if self.backbone == "birdnet":
            if not HOP_S <= self.window_hop <= 3.0 or self.mode != f"w{self.window_hop:g}":
                raise SedError(f"BirdNET mode must be w<window hop in s, {HOP_S:g}-3, as %g "
                               f"writes it>, got {self.mode!r}")
        elif self.mode not in MODES:
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
        from .rows import file_rows

        return file_rows(self.offsets, files)


def load_dataset_manifest(dataset: str | os.PathLike) -> tuple[Manifest, str]:
    """The dataset's manifest (typed) and its sha256; a clear error when there is none."""
    from sedal.generator.manifest import read_manifest

    mpath = Path(dataset) / "manifest.json"
    if not mpath.exists():
        raise SedError(f"{dataset} has no manifest.json (is it a sedgen dataset dir?)")
    try:
        doc = read_manifest(mpath)
    except SedalError as exc:
        raise SedError(str(exc)) from None
    return doc, doc.manifest_sha256


def store_key(manifest_sha: str, params: FeatureParams, weights_sha: str,
              engine: str = "tf") -> str:
    """Identity of a feature store: dataset, parameters, weights and the engine that ran the
    network (``tf-<version>`` stores keep their pre-engine keys)."""
    ident = {"manifest": manifest_sha, "params": params.key_dict(), "weights": weights_sha,
             "version": STORE_VERSION}
    if not engine.startswith("tf-") and engine != "tf":
        ident["engine"] = engine
    return sha256_bytes(canonical_json(ident).encode())


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


class CorruptStoreError(SedError):
    """A feature store whose files cannot be read or do not agree with each other."""


def _read_meta(path: Path) -> dict | None:
    """``meta.json`` of a store (None when absent); corrupt content raises
    :class:`CorruptStoreError`."""
    meta_p = path / "meta.json"
    if not meta_p.exists():
        return None
    try:
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptStoreError(f"feature store {path}: unreadable meta.json ({exc})") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("key"), str)
            and isinstance(meta.get("complete"), bool) and meta.get("dtype") in DTYPES
            and isinstance(meta.get("n_segments"), int) and meta["n_segments"] >= 0
            and isinstance(meta.get("classes"), list)):
        raise CorruptStoreError(f"feature store {path}: meta.json lacks or mistypes its fields")
    return meta


def open_store(path: str | os.PathLike) -> FeatureStore:
    """Open a complete store (no validation of its key; see :func:`ensure_store`).

    Raises
    ------
    CorruptStoreError
        Unreadable or inconsistent ``meta.json``, ``index.npz`` or ``embeddings.bin``.
    """
    path = Path(path)
    meta = _read_meta(path)
    if meta is None or not meta["complete"]:
        raise SedError(f"feature store {path} is incomplete; run sedbench embed again")
    n = meta["n_segments"]
    try:
        with np.load(path / "index.npz", allow_pickle=False) as z:
            idx = {k: z[k] for k in ("offsets", "file_ids", "splits", "labels", "times")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptStoreError(f"feature store {path}: unreadable index.npz ({exc})") from None
    offsets = idx["offsets"]
    n_files = len(idx["file_ids"])
    if (offsets.ndim != 1 or len(offsets) != n_files + 1 or len(idx["splits"]) != n_files
            or (n_files and (offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0)))
            or len(idx["labels"]) != n or len(idx["times"]) != n):
        raise CorruptStoreError(f"feature store {path}: index.npz does not match meta.json")
    emb_p = path / "embeddings.bin"
    want = n * EMBED_DIM * np.dtype(meta["dtype"]).itemsize
    have = emb_p.stat().st_size if emb_p.exists() else -1
    if have != want:
        raise CorruptStoreError(f"feature store {path}: embeddings.bin has {max(have, 0)} bytes, "
                                f"{want} expected (truncated?)")
    emb = (np.memmap(emb_p, dtype=meta["dtype"], mode="r", shape=(n, EMBED_DIM)) if n
           else np.zeros((0, EMBED_DIM), dtype=meta["dtype"]))
    return FeatureStore(path, meta, emb, offsets, idx["file_ids"], idx["splits"],
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
    model : sedal.sed.yamnet.YAMNet, optional
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
    from sedal.core.fsutil import exclusive_lock

    # one process at a time checks, deletes or builds a store: a second first use waits and
    # then opens the first one's complete store
    with exclusive_lock(path):
        return _ensure_locked(dataset, doc, msha, params, path, model, yamnet_path, rebuild,
                              progress)


def _ensure_locked(dataset: Path, doc, msha: str, params: FeatureParams, path: Path, model,
                   yamnet_path, rebuild: str, progress: bool) -> FeatureStore:
    def key_of_model() -> str:
        nonlocal model
        if model is None:
            model = load_backbone(params, yamnet_path)
        return store_key(msha, params, model.provenance["weights_sha256"],
                         getattr(model, "engine_id", "tf"))

    try:
        meta = _read_meta(path)
        if model is None and meta is not None:
            # A complete, matching store needs no model: check against the manifest only.
            if meta["complete"] and meta.get("manifest_sha256") == msha and (
                    yamnet_path is None and os.environ.get("SEDAL_YAMNET") is None):
                return open_store(path)
        key = key_of_model()
        if meta is not None:
            if meta["key"] == key and meta["complete"]:
                return open_store(path)
            if meta["key"] != key:
                if rebuild == "never":
                    raise SedError(f"feature store {path} was built for other params or data; "
                                   "run sedbench embed to rebuild it")
                shutil.rmtree(path)
    except CorruptStoreError as exc:
        if rebuild == "never":
            raise SedError(f"{exc}; run sedbench embed to rebuild it") from None
        shutil.rmtree(path)
        key = key_of_model()
    from .store_build import build_store

    return build_store(dataset, doc, msha, params, model, key, path, progress)


def load_backbone(params: FeatureParams, yamnet_path=None):
    """The embedding network of ``params``: YAMNet (weights resolved, ``yamnet_path``
    first) or BirdNET (fetched once; :mod:`sedal.sed.birdnet`)."""
    if params.backbone == "birdnet":
        from .birdnet import BirdNET

        return BirdNET(window_hop=params.window_hop)
    from .yamnet import load_yamnet

    return load_yamnet(yamnet_path)
