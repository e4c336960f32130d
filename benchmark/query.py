"""``sedbench query``: rank an unlabelled recording collection for annotation.

The loop a practitioner runs on their own recordings:

1. every recording is embedded once; embeddings are kept in an append-only store keyed
   by the sha256 of its bytes (:mod:`sedal.benchmark.embedding_store`: moving or renaming
   files keeps it valid, new files are appended);
2. the segment classifier is trained on the annotated recordings (a recording is
   annotated when it has a label file, even an empty one);
3. the others are ranked with an aggregation strategy (optionally diversified);
4. ``ranking.csv``, pre-filled Raven and Audacity files for the next batch and a
   short summary are written. The user corrects the batch files, moves them into
   the labels folder and runs the command again.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.core.errors import UnsafePathError
from sedal.core.fsutil import resolve_inside, write_bytes_atomic
from sedal.core.rng import derive_rng
from sedal.sed.annotations import recording_key
from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector, Event
from sedal.sed.events_io import UNREVIEWED, to_audacity, to_raven
from sedal.sed.grid import HOP_S, SEGMENT_S
from sedal.sed.labels import class_list, segment_labels
from sedal.sed.uncertainty import entropy_and_top

from . import aggregation, diversify
from .crossval import cross_validate, postprocess_sentence
from .embedding_store import DIM, EmbeddingStore
from .errors import BenchmarkError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3", ".au", ".w64")


@dataclass
class Recording:
    rel: str  # path below the audio root, posix
    key: str  # rel without its extension: what label files are matched against
    path: Path
    duration: float
    sha256: str = ""
    sr: int = 16000  # the file's sample rate, Hz


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
        if not p.resolve().is_relative_to(real_root):
            # a link to a file outside the folder: never listed, embedded or served
            skipped.append((rel, "a link that leads outside the audio folder"))
            continue
        try:
            info = sf.info(str(p))
            if info.frames == 0:
                raise ValueError("no samples")
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
    from sedal.core.progress import track

    from .file_hashes import FileHashes

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
                          files_per_block: int = 1024) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
        """Segment entropies (bits) and most probable classes of the recordings ``shas``
        under the fitted ``detector``, and their row offsets: read block by block, only the
        columns the classifier uses (memory: one block, not the collection)."""
        from concurrent.futures import ThreadPoolExecutor

        offsets = self.offsets(shas)
        H = np.empty(int(offsets[-1]), np.float32)
        top = np.empty(int(offsets[-1]), np.int16)
        # a plain detector's fitted model reads only its columns, straight from the stores
        clf = detector.classifier_
        direct = self.plain and getattr(clf, "lr_", None) is not None
        if direct:
            cols, w, bias = clf.linear_map()

        def work(i):
            block = shas[i:i + files_per_block]
            a, b = offsets[i], offsets[min(i + files_per_block, len(shas))]
            if direct:
                z = clf.logits(self.read(block, cols) @ w.T + bias)
            else:
                z = clf.decision_function(np.concatenate([self.load(s) for s in block]))
            H[a:b], top[a:b] = entropy_and_top(z)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(work, range(0, len(shas), files_per_block)))
        return H, top, offsets

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


@dataclass
class Annotations:
    """What the labels folder says: events per recording, and what was wrong with it."""

    events: dict[str, list[tuple[float, float, str]]]  # recording key -> events
    sources: dict[str, str]  # recording key -> label file (below the labels folder)
    warnings: list[str]
    problems: list[str]


def check_labels_folder(labels_root: str | os.PathLike) -> Path:
    """``labels_root`` as a Path if it is a folder; else a clear error."""
    labels_root = Path(labels_root)
    if not labels_root.is_dir():
        state = "is a file, not a folder" if labels_root.exists() else "does not exist"
        raise BenchmarkError(f"labels folder {labels_root} {state} (create it, even empty, to "
                             "start annotating)")
    return labels_root


def collect_annotations(labels_root: str | os.PathLike | None, recs: list[Recording], *,
                        label_column: str = "Annotation", classes: list[str] | None = None,
                        strict: bool = True, accept_predictions: bool = False) -> Annotations:
    """Read every label file below ``labels_root`` and match it to the recordings.

    A label file annotates the recording it is named after (``x.wav`` <- ``x.txt``,
    ``x.Table.1.selections.txt``, ``x.BirdNET.selection.table.txt``, ...; in the same
    sub-folder, or anywhere when the name is unique). A table whose rows name their
    recordings (Raven/BirdNET ``Begin File``/``Begin Path``, a DCASE or CSV ``filename``
    column) annotates every recording it names. Class names are merged case- and
    whitespace-insensitively (or mapped onto ``classes``), with a warning per merge.

    A table whose rows are all still marked as unreviewed model predictions (sedal's
    pre-filled batch tables, before anyone checked them) is refused unless
    ``accept_predictions``: training on the model's own output would teach it nothing.

    ``strict`` raises :class:`SedError` at the first problem (file and line); otherwise
    every problem is listed in :attr:`Annotations.problems`.
    """
    from sedal.sed.annotations import check_span, merge_classes, read_label_file

    ann = Annotations({}, {}, [], [])
    if labels_root is None:
        return ann
    labels_root = check_labels_folder(labels_root)

    def problem(msg: str) -> None:
        if strict:
            raise SedError(msg)
        ann.problems.append(msg)

    by_key = {r.key: r for r in recs}
    by_name: dict[str, list[Recording]] = {}
    by_file: dict[str, list[Recording]] = {}
    for r in recs:
        by_name.setdefault(r.key.rsplit("/", 1)[-1], []).append(r)
        by_file.setdefault(r.rel.rsplit("/", 1)[-1], []).append(r)
    raw: dict[str, list] = {}  # recording key -> [(row, path)]
    for p in sorted(labels_root.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in
                                  p.relative_to(labels_root).parts):
            continue  # hidden files and folders (the app's drafts and replaced files)
        try:  # a link that leads out of the labels folder is refused
            resolve_inside(labels_root, p.relative_to(labels_root).as_posix(),
                           what="label file", origin=f"labels folder {labels_root}")
        except UnsafePathError as exc:
            raise BenchmarkError(str(exc)) from None
        try:
            rows = read_label_file(p, label_column=label_column)
        except SedError as exc:
            problem(str(exc))
            continue
        if rows and not accept_predictions and not any(row.reviewed for row in rows):
            problem(f"{p}: every row is still an unreviewed prediction (Review column "
                    "'predicted, unreviewed'); correct the table and change or delete that "
                    "column, or pass --accept-predictions")
            continue
        key = recording_key(p, labels_root)
        own = by_key.get(key)
        if own is None:  # allow a flat labels folder when names are unique
            cands = by_name.get(key.rsplit("/", 1)[-1], [])
            own = cands[0] if len(cands) == 1 else None
        named = [row for row in rows if row.recording is not None]
        if own is None and (not rows or len(named) < len(rows)):
            problem(f"{p}: label file for a recording that does not exist ({key!r} is not in "
                    "the audio folder, and its rows do not name their recordings)")
            continue
        targets: dict[str, list] = {}
        if own is not None:
            targets[own.key] = []
        for row in rows:
            if row.recording is None:
                targets[own.key].append(row)
                continue
            cands = by_file.get(row.recording) or by_name.get(row.recording.rsplit(".", 1)[0])
            if not cands or len(cands) > 1:
                problem(f"{p}, line {row.line}: recording {row.recording!r} is "
                        + ("not in the audio folder" if not cands else
                           "ambiguous (several recordings have that name)"))
                continue
            targets.setdefault(cands[0].key, []).append(row)
        for rkey, rrows in targets.items():
            if rkey in ann.sources and ann.sources[rkey] != str(p):
                problem(f"{p}: a second label file for recording {by_key[rkey].rel} (also "
                        f"{ann.sources[rkey]})")
                continue
            ann.sources[rkey] = str(p)
            raw.setdefault(rkey, []).extend((row, p) for row in rrows)
    labels = [row.label for rows in raw.values() for row, _ in rows]
    mapping, ann.warnings = merge_classes(labels, classes)
    for rkey, rows in sorted(raw.items()):
        events = []
        for row, p in rows:
            try:
                check_span(row, p, by_key[rkey].duration)
            except SedError as exc:
                problem(str(exc))
                continue
            if row.label not in mapping:
                problem(f"{p}, line {row.line}: unknown class {row.label!r} (known: "
                        f"{', '.join(classes or [])})")
                continue
            events.append((row.onset, row.offset, mapping[row.label]))
        ann.events[rkey] = sorted(events)
    return ann


def load_annotations(labels_root: str | os.PathLike | None, recs: list[Recording], *,
                     label_column: str = "Annotation", classes: list[str] | None = None
                     ) -> dict[str, list[tuple[float, float, str]]]:
    """``{recording key: events}`` for every label file below ``labels_root`` (strict: the
    first problem raises :class:`SedError` naming the file and line); see
    :func:`collect_annotations`."""
    return collect_annotations(labels_root, recs, label_column=label_column,
                               classes=classes).events


#: Post-processing of the events sedal hands back for correction (query batch tables and
#: detect): same-class events less than one segment hop apart are merged, and events shorter
#: than two segments (0.12 s) are dropped; no confidence threshold.
POSTPROCESS = {"merge_gap": HOP_S, "min_duration": SEGMENT_S, "min_confidence": 0.0}


def detect_events(detector: Detector | None, X: np.ndarray, duration: float) -> list[Event]:
    """The events of one recording (embeddings ``X``) with their confidence, post-processed
    as ``detector`` says (:meth:`~sedal.sed.estimator.Detector.predict_events`) and clipped
    to ``duration`` seconds; none without a fitted detector."""
    if detector is None or getattr(detector, "classifier_", None) is None or len(X) == 0:
        return []
    return detector.predict_events(X, durations_s=[duration])[0]


def entropy_streamed(detector: Detector, X: np.ndarray, chunk: int = 1 << 18,
                     threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Segment entropies (bits) and most probable classes, without storing the
    probabilities of all segments: :func:`sedal.sed.uncertainty.entropy_and_top` of the
    logits (the fitted classifier's ``decision_function``, the scaler folded into the weights),
    in chunks on ``threads`` threads. ``top != 0`` flags the segments whose argmax is
    an event class.
    """
    from concurrent.futures import ThreadPoolExecutor

    clf = detector.classifier_
    H = np.empty(len(X), np.float32)
    top = np.empty(len(X), np.int16)

    def work(i):
        H[i:i + chunk], top[i:i + chunk] = entropy_and_top(
            clf.decision_function(X[i:i + chunk]))

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(work, range(0, len(X), chunk)))
    return H, top


def scores_from_entropy(strategy: str, H: np.ndarray, is_event: np.ndarray,
                        offsets: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """File scores of an aggregation strategy from precomputed segment entropies."""
    if strategy == "random":
        return aggregation.random(len(offsets) - 1, rng)
    if strategy == "top_k":
        return aggregation.top_k(H, offsets, k)
    if strategy == "mean_event":
        return aggregation.mean_event(H, offsets, is_event)
    fn = {"mean": aggregation.mean, "median": aggregation.median, "max": aggregation.maximum}
    return fn[strategy](H, offsets)


def run_query(audio: str | os.PathLike, labels: str | os.PathLike | None,
              out: str | os.PathLike, *, threads: int = 2, **kwargs) -> dict:
    """Run one round of the annotation loop (see the module docstring).

    Predictions run under a budget of ``threads`` BLAS/OpenMP threads (threadpoolctl) and the
    entropy pass uses as many Python threads; classifier fits always use one BLAS thread
    (:meth:`sedal.sed.estimator.Detector.fit`), so the model does not depend on ``threads``.
    Other keyword arguments: ``strategy``, ``k``, ``batch``, ``diversify_method``,
    ``factor``, ``label_column``, ``classes``, ``seed``, ``model``, ``yamnet``,
    ``cache_root``, ``scheduler``, ``accept_predictions``, ``progress`` and ``detector``
    (a :class:`sedal.sed.detector.DetectorSpec`; default the ``field`` preset).

    Returns
    -------
    dict
        A summary: counts, how the ranking was made, skipped files, CV IoU.
    """
    from threadpoolctl import threadpool_limits

    threads = max(1, int(threads))
    with threadpool_limits(limits=threads):
        return _run_query(audio, labels, out, threads=threads, **kwargs)


def _run_query(audio: str | os.PathLike, labels: str | os.PathLike | None,
              out: str | os.PathLike, *, strategy: str = "top_k", k: int = 10, batch: int = 20,
              diversify_method: str = "none", factor: int = 3, label_column: str = "Annotation",
              classes: list[str] | None = None, seed: int = 0, model=None, yamnet=None,
              cache_root: Path | None = None, scheduler: str | None = None,
              accept_predictions: bool = False, threads: int = 2,
              progress: bool = False, detector=None) -> dict:
    """Run one round of the annotation loop (see :func:`run_query`).

    Returns
    -------
    dict
        A summary: counts, how the ranking was made, skipped files, CV IoU.
    """
    from .loop import check_strategy

    check_strategy(strategy, k, diversify_method)
    if batch < 1:
        raise BenchmarkError(f"--batch must be >= 1, got {batch}")
    recs, skipped = scan_audio(audio)
    if not recs:
        raise BenchmarkError(f"no readable recording in {audio}")
    ann = collect_annotations(labels, recs, label_column=label_column, classes=classes,
                              accept_predictions=accept_predictions)
    annotations = ann.events
    if model is None:
        from sedal.sed.yamnet import load_yamnet

        model = load_yamnet(yamnet)
    if detector is None:
        from sedal.sed.detector import PRESETS

        detector = PRESETS["field"]
    cache = CollectionFeatures(recs, detector, model, cache_root=cache_root, progress=progress,
                               scheduler=scheduler, skipped=skipped, yamnet=yamnet)
    recs = cache.recs
    seen = sorted({lab for evs in annotations.values() for _, _, lab in evs})
    cls = class_list(classes if classes is not None else seen)
    det = Detector.from_spec(detector, classes=cls)
    annotated = [r for r in recs if r.key in annotations]
    # identical recordings (same bytes) are ranked once: the first copy by path stands for
    # all; content that is annotated in any copy is not ranked at all
    labelled_content = {r.sha256 for r in annotated}
    pool, duplicates, first_copy = [], [], {}
    for r in sorted((r for r in recs if r.key not in annotations), key=lambda r: r.rel):
        if r.sha256 in labelled_content or r.sha256 in first_copy:
            duplicates.append((r.rel, first_copy.get(r.sha256) or next(
                a.rel for a in annotated if a.sha256 == r.sha256)))
            continue
        first_copy[r.sha256] = r.rel
        pool.append(r)
    rng = derive_rng(seed, "query")
    emb_a = [cache.load(r.sha256) for r in annotated]
    lab_a = [segment_labels(annotations[r.key], len(e), cls, SEGMENT_S, HOP_S)
             for r, e in zip(annotated, emb_a)]
    # the pool is never held as a whole: entropies and means are computed block by block
    # from the embedding store, reading only the columns needed
    sha_p = [r.sha256 for r in pool]
    off_p = cache.offsets(sha_p)
    present = sorted({int(c) for lab in lab_a for c in np.unique(lab)})

    means: list[np.ndarray] = []  # read once, if novelty or diversification needs them

    def file_means():
        """Mean features of the pool's and the annotated recordings, on the columns that
        are non-zero in any of them (the others add nothing to distances)."""
        if not means:
            shas = sha_p + [r.sha256 for r in annotated]
            m = cache.file_means(shas, cache.used_columns(shas))
            means.extend([m[:len(pool)], m[len(pool):]])
        return means[0], means[1]

    if not annotated:
        how = f"no recording is annotated yet: ranked at random (seed {seed})"
        scores = rng.random(len(pool))
        order = aggregation.rank(scores, rng)
        H = np.zeros(int(off_p[-1]), np.float32)
    elif len(present) < 2:
        how = (f"only one class ({cls[present[0]]}) is annotated so far, so the classifier's "
               "entropy is zero everywhere: ranked by novelty (distance of each recording's "
               "mean embedding to the nearest annotated one), most novel first")
        means_p, means_a = file_means()
        scores = np.sqrt(diversify._min_sq_dist(means_p, means_a))
        order = aggregation.rank(scores, rng)
        det.fit(np.concatenate(emb_a), np.concatenate(lab_a))
        H = np.zeros(int(off_p[-1]), np.float32)
    else:
        det.fit(np.concatenate(emb_a), np.concatenate(lab_a))
        H, top, _ = cache.segment_entropies(det, sha_p, threads=threads)
        scores = scores_from_entropy(strategy, H, top != 0, off_p, k, rng)
        order = aggregation.rank(scores, rng)
        how = f"ranked by {strategy}" + (f" (K={k})" if strategy == "top_k" else "") + \
            " of segment entropies"
    if diversify_method != "none" and len(pool):
        means_p, labelled_means = file_means()
        allf = np.concatenate([means_p, labelled_means])
        first = (diversify.farthest(order[:factor * batch], allf,
                                    np.arange(len(pool), len(allf)), batch)
                 if diversify_method == "farthest"
                 else diversify.random_selection(order[:factor * batch], batch, rng))
        order = np.concatenate([first, [i for i in order if i not in set(first.tolist())]])
        how += f", diversified by {diversify_method} among the top {factor} x batch"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    h = H
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "file", "score", "duration_s", "uncertain_segments_s"])
    for rank, i in enumerate(order, start=1):
        a, b = off_p[i], off_p[i + 1]
        top = np.argsort(-h[a:b], kind="stable")[:k]
        spans = ";".join(f"{t * HOP_S:.2f}-{t * HOP_S + SEGMENT_S:.2f}" for t in sorted(top))
        w.writerow([rank, pool[i].rel, f"{scores[i]:.6f}", f"{pool[i].duration:.3f}", spans])
    write_bytes_atomic(out / "ranking.csv", buf.getvalue().encode())
    cv = cross_validate(emb_a, lab_a, cls, [annotations[r.key] for r in annotated],
                        random_state=seed, detector=det) if annotated else None
    post = cv.postprocess if cv is not None and cv.postprocess is not None else POSTPROCESS
    det.with_postprocess(post)
    batch_files = []
    for i in order[:batch]:
        a, b = off_p[i], off_p[i + 1]
        events = detect_events(det, cache.load(pool[i].sha256), pool[i].duration)
        key = pool[i].key
        write_bytes_atomic(out / "batch" / "raven" / f"{key}.Table.1.selections.txt",
                           to_raven(events, label_column=label_column,
                                    high_hz=min(8000.0, pool[i].sr / 2),
                                    review=UNREVIEWED).encode())
        write_bytes_atomic(out / "batch" / "audacity" / f"{key}.txt", to_audacity(events).encode())
        batch_files.append(pool[i].rel)
    counts: dict[str, dict] = {}
    for evs in annotations.values():
        for onset, offset, lab in evs:
            c = counts.setdefault(lab, {"events": 0, "seconds": 0.0})
            c["events"] += 1
            c["seconds"] += offset - onset
    summary = {"warnings": ann.warnings, "duplicates": duplicates,
               "recordings": len(recs), "annotated": len(annotated), "ranked": len(pool),
               "classes": cls, "class_counts": counts, "how": how, "batch": batch_files,
               "skipped": skipped, "cv_total_iou": cv.total_iou if cv else None,
               "postprocess": post, "postprocess_chosen_by_cv": post is not POSTPROCESS,
               "cv_event_f1": cv.event_f1 if cv else None,
               "cv_event_f1_raw": cv.event_f1_raw if cv else None}
    lines = ["# sedbench query summary", "",
             f"- recordings: {len(recs)} readable, {len(annotated)} annotated, "
             f"{len(pool)} ranked", f"- {how}",
             "- annotated so far: " + (", ".join(
                 f"{lab} {c['events']} events / {c['seconds']:.1f} s"
                 for lab, c in sorted(counts.items())) or "no events (background only)"),
             "- cross-validated total IoU over the annotated files: "
             + (f"{cv.total_iou:.3f}" if cv is not None and cv.total_iou is not None
                else "n/a (needs 4 annotated files and 2 classes)"),
             "- " + postprocess_sentence(post, cv),
             f"- next batch: {len(batch_files)} recordings with pre-filled Raven tables in "
             f"batch/raven/ and Audacity labels in batch/audacity/"]
    if duplicates:
        lines.append(f"- {len(duplicates)} recording(s) have the same content as another and "
                     "were not ranked again:")
        lines += [f"  - {rel} = {same}" for rel, same in duplicates]
    if skipped:
        lines.append(f"- skipped {len(skipped)} unreadable file(s):")
        lines += [f"  - {rel}: {why}" for rel, why in skipped]
    text = "\n".join(lines) + "\n"
    write_bytes_atomic(out / "summary.md", text.encode())
    summary["text"] = text
    return summary
