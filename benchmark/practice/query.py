"""``sedbench query``: rank an unlabelled recording collection for annotation.

The loop a practitioner runs on their own recordings:

1. every recording is embedded once; embeddings are kept in an append-only store keyed
   by the sha256 of its bytes (:mod:`sedal.benchmark.practice.embedding_store`: moving or renaming
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
from pathlib import Path

import numpy as np

from sedal.benchmark.al import aggregation, diversify
from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.collection import (
    CollectionFeatures,
    Recording,
    scan_audio,
)
from sedal.benchmark.practice.crossval import cross_validate, postprocess_sentence
from sedal.benchmark.practice.labelled import (
    collect_annotations,
    training_labels,
)
from sedal.core.fsutil import write_bytes_atomic
from sedal.core.rng import derive_rng
from sedal.sed.classmap import class_names, read_class_map
from sedal.sed.detections import Event
from sedal.sed.estimator import Detector
from sedal.sed.events_io import UNREVIEWED, to_audacity, to_birdnet_raven
from sedal.sed.grid import HOP_S, SEGMENT_S
from sedal.sed.labels import class_list
from sedal.sed.uncertainty import entropy_and_top

#: Post-processing of the events sedal hands back for correction (query batch tables and
#: detect): same-class events less than one segment hop apart are merged, and events shorter
#: than two segments (0.12 s) are dropped; no confidence threshold.
POSTPROCESS = {"merge_gap": HOP_S, "min_duration": SEGMENT_S, "min_confidence": 0.0}


def detect_events(detector: Detector | None, X: np.ndarray, duration: float) -> list[Event]:
    """The events of one recording (embeddings ``X``) with their confidence, post-processed
    as ``detector`` says (:meth:`~sedal.sed.estimator.Detector.predict_events`) and clipped
    to ``duration`` seconds; none without a fitted detector."""
    if detector is None or not detector.is_fitted or len(X) == 0:
        return []
    return detector.predict_events(X, durations_s=[duration])[0]


def entropy_streamed(detector: Detector, X: np.ndarray, chunk: int = 1 << 18,
                     threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Segment entropies (bits) and most probable classes, without storing the
    probabilities of all segments: :func:`sedal.sed.uncertainty.entropy_and_top` of the
    logits (the detector's ``class_logits``, the scaler folded into the weights),
    in chunks on ``threads`` threads. ``top != 0`` flags the segments whose argmax is
    an event class.
    """
    from concurrent.futures import ThreadPoolExecutor

    H = np.empty(len(X), np.float32)
    top = np.empty(len(X), np.int16)

    def work(i):
        H[i:i + chunk], top[i:i + chunk] = entropy_and_top(
            detector.class_logits(X[i:i + chunk]))

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
    ``cache_root``, ``scheduler``, ``accept_predictions``, ``progress``, ``detector``
    (a :class:`sedal.sed.detector.DetectorSpec`; default the ``field`` preset) and
    ``class_map`` (a path: the names of the batch's BirdNET-style tables,
    :mod:`sedal.sed.classmap`).

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
              progress: bool = False, detector=None, class_map=None) -> dict:
    """Run one round of the annotation loop (see :func:`run_query`).

    Returns
    -------
    dict
        A summary: counts, how the ranking was made, skipped files, CV IoU.
    """
    from sedal.benchmark.al.loop import check_strategy

    check_strategy(strategy, k, diversify_method)
    if batch < 1:
        raise BenchmarkError(f"--batch must be >= 1, got {batch}")
    mapping = read_class_map(class_map) if class_map is not None else None
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
    annotated, pool, duplicates = split_pool(recs, annotations)
    rng = derive_rng(seed, "query")
    emb_a = [cache.load(r.sha256) for r in annotated]
    lab_a = training_labels(emb_a, [annotations[r.key] for r in annotated], cls)
    ranking = _Ranking(cache, pool, annotated)
    how, scores, order, H = ranking.rank(det, emb_a, lab_a, cls, strategy, k, seed, rng,
                                         threads)
    if diversify_method != "none" and len(pool):
        order = ranking.diversify(order, diversify_method, factor, batch, rng)
        how += f", diversified by {diversify_method} among the top {factor} x batch"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "ranking.csv", ranking_csv(order, ranking.offsets, H, scores, pool,
                                                        k).encode())
    cv = cross_validate(emb_a, lab_a, cls, [annotations[r.key] for r in annotated],
                        random_state=seed, detector=det) if annotated else None
    post = cv.postprocess if cv is not None and cv.postprocess is not None else POSTPROCESS
    det.with_postprocess(post)
    batch_files = _write_batch(out, det, cache, [pool[i] for i in order[:batch]], label_column,
                               class_names(cls[1:], mapping))
    summary = {"warnings": ann.warnings, "duplicates": duplicates,
               "recordings": len(recs), "annotated": len(annotated), "ranked": len(pool),
               "classes": cls, "class_counts": class_counts(annotations), "how": how,
               "batch": batch_files, "skipped": skipped,
               "cv_total_iou": cv.total_iou if cv else None,
               "postprocess": post, "postprocess_chosen_by_cv": post is not POSTPROCESS,
               "cv_event_f1": cv.event_f1 if cv else None,
               "cv_event_f1_raw": cv.event_f1_raw if cv else None}
    text = summary_text(summary, cv)
    write_bytes_atomic(out / "summary.md", text.encode())
    summary["text"] = text
    return summary


def split_pool(recs: list[Recording], annotations: dict
               ) -> tuple[list[Recording], list[Recording], list[tuple[str, str]]]:
    """(annotated recordings, the pool to rank, duplicates as (rel, same as rel)).

    Identical recordings (same bytes) are ranked once: the first copy by path stands for
    all; content that is annotated in any copy is not ranked at all.
    """
    annotated = [r for r in recs if r.key in annotations]
    labelled_content = {r.sha256 for r in annotated}
    pool, duplicates, first_copy = [], [], {}
    for r in sorted((r for r in recs if r.key not in annotations), key=lambda r: r.rel):
        if r.sha256 in labelled_content or r.sha256 in first_copy:
            duplicates.append((r.rel, first_copy.get(r.sha256) or next(
                a.rel for a in annotated if a.sha256 == r.sha256)))
            continue
        first_copy[r.sha256] = r.rel
        pool.append(r)
    return annotated, pool, duplicates


class _Ranking:
    """The pool's ranking. The pool is never held as a whole: entropies and means are
    computed block by block from the embedding store, reading only the columns needed."""

    def __init__(self, cache: CollectionFeatures, pool: list[Recording],
                 annotated: list[Recording]):
        self.cache, self.pool, self.annotated = cache, pool, annotated
        self.shas = [r.sha256 for r in pool]
        self.offsets = cache.offsets(self.shas)
        self._means: list[np.ndarray] = []  # read once, if novelty or diversification need them

    def file_means(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean features of the pool's and the annotated recordings, on the columns that
        are non-zero in any of them (the others add nothing to distances)."""
        if not self._means:
            shas = self.shas + [r.sha256 for r in self.annotated]
            m = self.cache.file_means(shas, self.cache.used_columns(shas))
            self._means.extend([m[:len(self.pool)], m[len(self.pool):]])
        return self._means[0], self._means[1]

    def rank(self, det: Detector, emb_a, lab_a, cls, strategy, k, seed, rng, threads):
        """(how, scores, order, segment entropies); fits ``det`` when anything is labelled."""
        present = sorted({int(c) for lab in lab_a for c in np.unique(lab)})
        n_rows = int(self.offsets[-1])
        if not self.annotated:
            how = f"no recording is annotated yet: ranked at random (seed {seed})"
            scores = rng.random(len(self.pool))
            return how, scores, aggregation.rank(scores, rng), np.zeros(n_rows, np.float32)
        if len(present) < 2:
            how = (f"only one class ({cls[present[0]]}) is annotated so far, so the "
                   "classifier's entropy is zero everywhere: ranked by novelty (distance of "
                   "each recording's mean embedding to the nearest annotated one), most novel "
                   "first")
            means_p, means_a = self.file_means()
            scores = np.sqrt(diversify._min_sq_dist(means_p, means_a))
            order = aggregation.rank(scores, rng)
            det.fit(np.concatenate(emb_a), np.concatenate(lab_a))
            return how, scores, order, np.zeros(n_rows, np.float32)
        det.fit(np.concatenate(emb_a), np.concatenate(lab_a))
        H, top, _ = self.cache.segment_entropies(det, self.shas, threads=threads)
        scores = scores_from_entropy(strategy, H, top != 0, self.offsets, k, rng)
        how = f"ranked by {strategy}" + (f" (K={k})" if strategy == "top_k" else "") + \
            " of segment entropies"
        return how, scores, aggregation.rank(scores, rng), H

    def diversify(self, order, method: str, factor: int, batch: int, rng) -> np.ndarray:
        """``order`` with its first ``batch`` chosen by ``method`` among the top
        ``factor * batch``."""
        means_p, labelled_means = self.file_means()
        allf = np.concatenate([means_p, labelled_means])
        first = (diversify.farthest(order[:factor * batch], allf,
                                    np.arange(len(self.pool), len(allf)), batch)
                 if method == "farthest"
                 else diversify.random_selection(order[:factor * batch], batch, rng))
        return np.concatenate([first, [i for i in order if i not in set(first.tolist())]])


def ranking_csv(order, offsets, H, scores, pool: list[Recording], k: int) -> str:
    """``ranking.csv``: rank, file, score, duration and the ``k`` most uncertain segments."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "file", "score", "duration_s", "uncertain_segments_s"])
    for rank, i in enumerate(order, start=1):
        a, b = offsets[i], offsets[i + 1]
        top = np.argsort(-H[a:b], kind="stable")[:k]
        spans = ";".join(f"{t * HOP_S:.2f}-{t * HOP_S + SEGMENT_S:.2f}" for t in sorted(top))
        w.writerow([rank, pool[i].rel, f"{scores[i]:.6f}", f"{pool[i].duration:.3f}", spans])
    return buf.getvalue()


def _write_batch(out: Path, det: Detector, cache: CollectionFeatures,
                 batch: list[Recording], label_column: str, names: dict) -> list[str]:
    """Pre-filled Raven (BirdNET-Analyzer's columns, :func:`to_birdnet_raven`) and Audacity
    tables of the next batch; their paths (rel)."""
    for rec in batch:
        events = detect_events(det, cache.load(rec.sha256), rec.duration)
        write_bytes_atomic(out / "batch" / "raven" / f"{rec.key}.Table.1.selections.txt",
                           to_birdnet_raven([(os.path.abspath(rec.path), 0.0, events,
                                              min(8000.0, rec.sr / 2))], names,
                                            label_column=label_column,
                                            review=UNREVIEWED).encode())
        write_bytes_atomic(out / "batch" / "audacity" / f"{rec.key}.txt",
                           to_audacity(events).encode())
    return [rec.rel for rec in batch]


def class_counts(annotations: dict) -> dict[str, dict]:
    """Labelled events and seconds per class."""
    counts: dict[str, dict] = {}
    for evs in annotations.values():
        for onset, offset, lab in evs:
            c = counts.setdefault(lab, {"events": 0, "seconds": 0.0})
            c["events"] += 1
            c["seconds"] += offset - onset
    return counts


def summary_text(summary: dict, cv) -> str:
    """``summary.md`` of a query round."""
    counts, duplicates, skipped = summary["class_counts"], summary["duplicates"], \
        summary["skipped"]
    lines = ["# sedbench query summary", "",
             f"- recordings: {summary['recordings']} readable, {summary['annotated']} "
             f"annotated, {summary['ranked']} ranked", f"- {summary['how']}",
             "- annotated so far: " + (", ".join(
                 f"{lab} {c['events']} events / {c['seconds']:.1f} s"
                 for lab, c in sorted(counts.items())) or "no events (background only)"),
             "- cross-validated total IoU over the annotated files: "
             + (f"{cv.total_iou:.3f}" if cv is not None and cv.total_iou is not None
                else "n/a (needs 4 annotated files and 2 classes)"),
             "- " + postprocess_sentence(summary["postprocess"], cv),
             f"- next batch: {len(summary['batch'])} recordings with pre-filled Raven tables "
             f"in batch/raven/ and Audacity labels in batch/audacity/"]
    if duplicates:
        lines.append(f"- {len(duplicates)} recording(s) have the same content as another and "
                     "were not ranked again:")
        lines += [f"  - {rel} = {same}" for rel, same in duplicates]
    if skipped:
        lines.append(f"- skipped {len(skipped)} unreadable file(s):")
        lines += [f"  - {rel}: {why}" for rel, why in skipped]
    return "\n".join(lines) + "\n"
