"""The embeddings of a recording collection: one append-only store keyed by content hash.

``sedbench query``, ``detect`` and ``annotate`` embed every recording once per content
(sha256 of the file) and keep the result here, so that a second round, another command or
a renamed copy of a file reuses it. One store holds one kind of embedding (YAMNet weights,
mode, segment and hop); its folder is::

    shards/<name>.npy    float32 [rows, n_cols]: the rows of the shard's recordings, one
                         after another, only the columns that are non-zero in one of them
                         (YAMNet's ReLU leaves ~80 % of the patch columns 0 everywhere)
    shards/<name>.json   the shard's index: its columns and (sha256, first row, rows) of
                         every recording in it

A shard is written once (data, then its index, each to a temporary name and renamed), so
an interrupted writer leaves either a whole shard or nothing: the index is what makes a
shard exist. Appending never rewrites older shards. A shard whose data do not match its
index (truncated, overwritten) is deleted when the store is opened, and its recordings are
embedded again by the caller. ``<sha[:2]>/<sha>.npy`` files of the former one-file-per-
recording cache are moved into a shard when the store is opened.

Reading for ranking (:meth:`EmbeddingStore.read`) gathers only the columns a classifier
uses, shard by shard, from memory-mapped files: 100 000 recordings are read without ever
holding their full 1024-wide matrix.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sedal.core.fsutil import write_bytes_atomic
from sedal.sed.grid import HOP_S, SEGMENT_S

#: Width of a YAMNet embedding.
DIM = 1024
#: Version of the shard format.
FORMAT = 1


@dataclass(frozen=True)
class _Shard:
    name: str
    cols: np.ndarray  # which of the DIM columns the data hold, increasing
    data: np.ndarray  # memmap [rows, len(cols)] float32


class EmbeddingStore:
    """Per-recording embeddings [n_segments, 1024] of one kind, keyed by content sha256.

    Parameters
    ----------
    root : path or None
        Cache folder; the store is a sub-folder named for the kind of embedding.
        Default: sedal's cache dir, ``embeddings/``.
    weights_sha : str
        sha256 of the YAMNet weights that make the embeddings.
    mode : {'patch', 'context'}
    segment, hop : float
        Segment length and hop, seconds.
    """

    def __init__(self, root: Path | None, weights_sha: str, mode: str = "patch",
                 segment: float = SEGMENT_S, hop: float = HOP_S):
        if root is None:
            from sedal.core.fsutil import cache_dir

            root = cache_dir() / "embeddings"
        self.root = Path(root) / f"yamnet-{mode}-{segment:g}-{hop:g}-{weights_sha[:12]}"
        self.mode = mode
        self._shards: list[_Shard] = []
        self._index: dict[str, tuple[int, int, int]] = {}  # sha -> (shard, first row, rows)
        self._known: set[str] = set()
        self._import_legacy()
        self.refresh()

    # -- reading ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Pick up shards written since the store was opened (by this or another process);
        delete shards whose data do not match their index."""
        folder = self.root / "shards"
        if not folder.is_dir():
            return
        for idx_path in sorted(folder.glob("*.json")):
            name = idx_path.stem
            if name in self._known:
                continue
            self._known.add(name)
            shard = _open_shard(idx_path)
            if shard is None:
                idx_path.unlink(missing_ok=True)
                (folder / f"{name}.npy").unlink(missing_ok=True)
                continue
            shard, entries = shard
            number = len(self._shards)
            self._shards.append(shard)
            for sha, start, n in entries:
                self._index.setdefault(sha, (number, start, n))  # the first copy wins

    def __contains__(self, sha: str) -> bool:
        return sha in self._index

    def has(self, sha: str) -> bool:
        """Whether the embedding of content ``sha`` is stored."""
        return sha in self._index

    def __len__(self) -> int:
        return len(self._index)

    def n_rows(self, sha: str) -> int:
        """Segments of a stored recording."""
        return self._index[sha][2]

    def load(self, sha: str) -> np.ndarray:
        """The embedding of one recording, [n_segments, 1024] float32."""
        number, start, n = self._index[sha]
        shard = self._shards[number]
        out = np.zeros((n, DIM), np.float32)
        out[:, shard.cols] = shard.data[start:start + n]
        return out

    def columns(self, shas) -> np.ndarray:
        """The columns that are non-zero somewhere in these recordings' shards (every other
        column is 0 in all of their rows)."""
        used = sorted({self._index[s][0] for s in shas})
        if not used:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate([self._shards[i].cols for i in used]))

    def read(self, shas: list[str], cols: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                               np.ndarray]:
        """Columns ``cols`` (default all 1024) of the recordings ``shas``, stacked in that
        order.

        Returns
        -------
        X : ndarray [sum of rows, len(cols)] float32
        offsets : ndarray [len(shas) + 1] int64
            Row offsets of the recordings in ``X``.
        """
        cols = np.arange(DIM) if cols is None else np.asarray(cols, dtype=np.int64)
        loc = np.array([self._index[s] for s in shas], dtype=np.int64).reshape(-1, 3)
        offsets = np.concatenate([[0], np.cumsum(loc[:, 2])]).astype(np.int64)
        X = np.zeros((int(offsets[-1]), len(cols)), np.float32)
        for number in np.unique(loc[:, 0]):
            shard = self._shards[number]
            # columns wanted that this shard holds: positions in cols and in the shard's data
            _, in_cols, in_shard = np.intersect1d(cols, shard.cols, assume_unique=True,
                                                  return_indices=True)
            if not len(in_cols):
                continue
            complete = len(in_cols) == len(cols)
            same = complete and len(cols) == len(shard.cols)  # exactly the shard's columns
            which = np.flatnonzero(loc[:, 0] == number)
            # runs of recordings stored one after another are read as one slice of the map
            for a, b, d in _runs(loc[which, 1], loc[which, 2], offsets[which]):
                if same:
                    X[d:d + b - a] = shard.data[a:b]
                elif complete:
                    np.take(shard.data[a:b], in_shard, axis=1, out=X[d:d + b - a])
                else:
                    X[d:d + b - a, in_cols] = shard.data[a:b][:, in_shard]
        return X, offsets

    # -- writing ---------------------------------------------------------------------
    def writer(self, max_rows: int = 1 << 17) -> ShardWriter:
        """A writer that appends recordings in shards of at most ``max_rows`` rows (use as a
        context manager: what was added is written when it closes)."""
        return ShardWriter(self, max_rows)

    def save(self, sha: str, emb: np.ndarray) -> None:
        """Append one recording (one shard: prefer :meth:`writer` for many)."""
        with self.writer() as w:
            w.add(sha, emb)

    def _write_shard(self, items: list[tuple[str, np.ndarray]]) -> None:
        embs = [np.asarray(e, dtype=np.float32) for _, e in items]
        for e in embs:
            if e.ndim != 2 or e.shape[1] != DIM:
                raise ValueError(f"an embedding must be [n, {DIM}], got {e.shape}")
        data = np.concatenate(embs) if embs else np.zeros((0, DIM), np.float32)
        cols = np.flatnonzero(np.any(data != 0, axis=0))
        entries, start = [], 0
        for (sha, _), e in zip(items, embs):
            entries.append([sha, start, len(e)])
            start += len(e)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        folder = self.root / "shards"
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(data[:, cols]))
        write_bytes_atomic(folder / f"{name}.npy", buf.getvalue())
        write_bytes_atomic(folder / f"{name}.json", json.dumps(
            {"format": FORMAT, "dim": DIM, "cols": cols.tolist(), "rows": int(len(data)),
             "entries": entries}).encode())
        self.refresh()

    def _import_legacy(self) -> None:
        """Move ``<sha[:2]>/<sha>.npy`` files (the former per-recording cache) into a shard."""
        if not self.root.is_dir():
            return
        files = sorted(p for p in self.root.glob("??/*.npy") if len(p.stem) == 64)
        if not files:
            return
        items = []
        for p in files:
            try:
                emb = np.load(p, allow_pickle=False)
                if emb.ndim == 2 and emb.shape[1] == DIM and np.all(np.isfinite(emb)):
                    items.append((p.stem, emb))
            except (OSError, ValueError, EOFError):
                pass
        if items:
            self._write_shard(items)
        for p in files:
            p.unlink(missing_ok=True)
            try:
                p.parent.rmdir()
            except OSError:
                pass


class ShardWriter:
    """Buffers recordings and writes them as shards (see :meth:`EmbeddingStore.writer`)."""

    def __init__(self, store: EmbeddingStore, max_rows: int):
        self.store = store
        self.max_rows = max_rows
        self.items: list[tuple[str, np.ndarray]] = []
        self.rows = 0
        # the first shards are small, so that an interrupted first run keeps most of its
        # work; later ones grow to max_rows
        self.limit_files = 16

    def add(self, sha: str, emb: np.ndarray) -> None:
        self.items.append((sha, emb))
        self.rows += len(emb)
        if self.rows >= self.max_rows or len(self.items) >= self.limit_files:
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.store._write_shard(self.items)
            self.items, self.rows = [], 0
            self.limit_files *= 2

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


def _runs(starts: np.ndarray, lengths: np.ndarray, dst: np.ndarray):
    """Merge recordings that follow one another both in a shard (rows ``starts``) and in
    the output (rows ``dst``) into runs ``(first, end, dst first)``."""
    if not len(starts):
        return []
    ends = starts + lengths
    joined = (starts[1:] == ends[:-1]) & (dst[1:] == dst[:-1] + lengths[:-1])
    heads = np.concatenate([[0], np.flatnonzero(~joined) + 1])
    tails = np.concatenate([heads[1:], [len(starts)]]) - 1
    return [(int(starts[h]), int(ends[t]), int(dst[h])) for h, t in zip(heads, tails)]


def _open_shard(idx_path: Path) -> tuple[_Shard, list] | None:
    """A shard and its entries, or None when its index or data are damaged."""
    try:
        meta = json.loads(idx_path.read_text())
        cols = np.asarray(meta["cols"], dtype=np.int64)
        data = np.load(idx_path.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
        entries = [(str(s), int(a), int(n)) for s, a, n in meta["entries"]]
        ok = (meta.get("format") == FORMAT and meta.get("dim") == DIM
              and data.dtype == np.float32 and data.shape == (meta["rows"], len(cols))
              and all(0 <= a and a + n <= data.shape[0] for _, a, n in entries))
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None
    if not ok:
        return None
    return _Shard(idx_path.stem, cols, data), entries
