"""``sedbench annotate``: the labelling session behind the web app (no web code here).

An :class:`AnnotationSession` holds a collection of recordings (``audio``), the label files
read from and written to ``labels`` (the same files ``query`` and ``detect`` read), the
detector's features of every recording (embedded once, cached by content hash), the
current model and the queue: unlabelled recordings ranked by the chosen strategy with the
same code as ``sedbench query``.

Saving a recording's events writes its Raven selection table atomically (every row marked
reviewed) and marks the model stale; :meth:`AnnotationSession.refit` (run by a background
worker in the app) refits on every reviewed recording, re-ranks the queue and adds a point
to the cross-validated learning curve. Nothing else below ``audio`` or ``labels`` is ever
read or written, and nothing outside them.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from pathlib import Path

import numpy as np

from sedal.benchmark.al import aggregation
from sedal.benchmark.al.loop import check_strategy
from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.clip_state import (
    ClipStateMixin,
    bands_from_table,
    box_json,
    read_decisions,
    read_statuses,
    validate_boxes,
)
from sedal.benchmark.practice.collection import CollectionFeatures, scan_audio
from sedal.benchmark.practice.crossval import cross_validate
from sedal.benchmark.practice.labelled import (
    check_labels_folder,
    collect_annotations,
    training_labels,
)
from sedal.benchmark.practice.query import POSTPROCESS, detect_events, scores_from_entropy
from sedal.core.errors import UnsafePathError
from sedal.core.fsutil import resolve_inside, write_bytes_atomic
from sedal.core.rng import derive_rng
from sedal.sed.estimator import Detector
from sedal.sed.events_io import to_dcase, to_raven
from sedal.sed.labels import class_list

#: The Review value of rows a person saved in the app.
REVIEWED = "reviewed"
#: Where a label file in another format is moved when the app replaces it (below
#: ``labels``): nothing a person wrote is deleted.
REPLACED_DIR = ".sedal-replaced"
#: Where unsaved edits are kept (below ``labels``) until the recording is saved.
DRAFTS_DIR = ".sedal-drafts"

class AnnotationSession(ClipStateMixin):
    """The state of one labelling session (thread-safe).

    Parameters
    ----------
    audio : path
        Folder of recordings (nested).
    labels : path
        Folder of label files, read at start and written on every save (created if need be).
    classes : list of str, optional
        The event classes offered; default: those of the existing labels.
    detector : sedal.sed.detector.DetectorSpec, optional
        Default: the ``field`` preset.
    strategy, k : str, int
        How the queue is ranked (as ``sedbench query``).
    label_column : str
        Raven column of the class names.
    model : sedal.sed.yamnet.YAMNet, optional
        A loaded YAMNet (else the weights are resolved, ``yamnet`` first).
    cache_root : path, optional
        Embedding cache.
    random_state : int
        Seed of ties, random ranks and the cross-validation folds.
    annotator : str, optional
        Whose labels these are (shown in the page; ``labels`` is then that person's folder).
    """

    def __init__(self, audio, labels, *, classes: list[str] | None = None, detector=None,
                 strategy: str = "top_k", k: int = 10, label_column: str = "Annotation",
                 model=None, yamnet=None, cache_root: Path | None = None,
                 random_state: int = 0, progress: bool = False, annotator: str | None = None):
        from sedal.sed.detector import PRESETS

        check_strategy(strategy, k, "none")
        self.annotator = annotator
        self.audio = Path(audio).resolve()
        self.labels = Path(labels).resolve()
        if self.labels.exists():
            check_labels_folder(self.labels)
        recs, self.skipped = scan_audio(self.audio)
        if not recs:
            raise BenchmarkError(f"no readable recording in {audio}")
        self.detector = detector or PRESETS["field"]
        self.strategy, self.k, self.label_column = strategy, k, label_column
        self.random_state = random_state
        ann = collect_annotations(self.labels if self.labels.exists() else None, recs,
                                  label_column=label_column, classes=classes)
        seen = sorted({lab for evs in ann.events.values() for _, _, lab in evs})
        if classes is None and not seen:
            raise BenchmarkError("no labels yet: pass --classes (e.g. --classes dog,baby)")
        if not self.labels.exists():  # created only once the input is known to be good
            try:
                self.labels.mkdir(parents=True)
            except OSError as exc:
                raise BenchmarkError(f"cannot create the labels folder {labels} ({exc})") \
                    from None
        self.classes = class_list(classes if classes is not None else seen)
        self.warnings = list(ann.warnings)
        if model is None:
            from sedal.sed.yamnet import load_yamnet

            model = load_yamnet(yamnet)
        self.weights_sha256 = model.provenance["weights_sha256"]
        feats = CollectionFeatures(recs, self.detector, model, cache_root=cache_root,
                                   progress=progress, skipped=self.skipped, yamnet=yamnet)
        self.recordings = {r.rel: r for r in feats.recs}
        # features are read from the embedding store when needed, never all held in memory
        self._feats = feats
        self._sha = {r.rel: r.sha256 for r in feats.recs}
        self.events: dict[str, list[tuple[float, float, str]]] = {
            r.rel: list(ann.events[r.key]) for r in feats.recs if r.key in ann.events}
        self.sources = {r.rel: ann.sources[r.key] for r in feats.recs if r.key in ann.sources}
        # the boxes (onset, offset, label, low_hz, high_hz) saved in this session, per recording
        self.boxes: dict[str, list[tuple[float, float, str, float, float]]] = {}
        self.statuses = read_statuses(self.labels, self.recordings)
        self.decisions = read_decisions(self.labels)
        self._review: tuple[int, list] | None = None  # (model version, detections)
        self._lock = threading.RLock()
        self.version = 0  # labels saved so far in this session (+1 per save)
        self.model_version = -1  # the labels version the current model was fitted on
        self.det = None  # the fitted Detector (replaced, never changed, by each refit)
        self.post = dict(POSTPROCESS)
        self.order: list[str] = []
        self.scores: dict[str, float] = {}
        self.predicted: dict[str, list[tuple[str, float]]] = {}
        self.curve: list[dict] = []
        self.refit()

    # -- reading -----------------------------------------------------------------------
    def recording(self, rel: str):
        """The recording ``rel`` (exactly as scanned); anything else is refused."""
        rec = self.recordings.get(rel) if isinstance(rel, str) else None
        if rec is None:
            raise UnsafePathError(f"{rel!r} is not a recording of this session")
        return rec

    def queue(self) -> dict:
        """Ranked unlabelled recordings, labelled ones after them, and the progress."""
        with self._lock:
            labelled = sorted(self.events)
            hours = sum(self.recordings[r].duration for r in labelled) / 3600.0
            # the ranking may predate the newest saves (it is replaced when the refit ends):
            # a recording saved since is labelled, never offered again as unlabelled
            unlabelled = [rel for rel in self.order if rel not in self.events]
            rows = [{"rel": rel, "rank": i + 1, "score": self.scores.get(rel),
                     "predicted": [c for c, _ in self.predicted.get(rel, [])],
                     "confidence": [p for _, p in self.predicted.get(rel, [])],
                     "labelled": False, "status": self.statuses.get(rel),
                     "duration": self.recordings[rel].duration}
                    for i, rel in enumerate(unlabelled)]
            rows += [{"rel": rel, "rank": None, "score": None,
                      "predicted": sorted({e[2] for e in self.events[rel]}), "confidence": None,
                      "labelled": True, "status": self.statuses.get(rel, "labelled"),
                      "duration": self.recordings[rel].duration} for rel in labelled]
            counts: dict[str, int] = {c: 0 for c in self.classes[1:]}
            for rel in labelled:
                for e in self.events[rel]:
                    counts[e[2]] = counts.get(e[2], 0) + 1
            return {"rows": rows, "labelled": len(labelled), "total": len(self.recordings),
                    "labelled_hours": hours,
                    "total_hours": sum(r.duration for r in self.recordings.values()) / 3600,
                    "classes": self.classes[1:], "version": self.version,
                    "class_counts": counts, "ranked_by_model": self.det is not None,
                    "model_version": self.model_version, "curve": list(self.curve),
                    "strategy": self.strategy, "detector": self.detector.name,
                    "annotator": self.annotator}

    def view(self, rel: str) -> dict:
        """What the recording view shows: duration, the model's events (with confidence)
        and the saved labels."""
        rec = self.recording(rel)
        with self._lock:
            det, post = self.det, dict(self.post)
        predicted = detect_events(copy.copy(det).with_postprocess(post), self.features(rel),
                                  rec.duration) if det is not None else []
        saved = self.saved_boxes(rel)
        draft = self.read_draft(rel)
        return {"rel": rel, "duration": rec.duration, "sr": rec.sr,
                "predicted": [{"onset": a, "offset": b, "label": c, "confidence": p}
                              for a, b, c, p in predicted],
                "labels": None if saved is None else [box_json(bx) for bx in saved],
                "draft": draft}

    def full_band(self, rel: str) -> tuple[float, float]:
        """The band (Hz) of a box drawn without one: 0 to the lower of 8000 Hz and Nyquist."""
        return 0.0, min(8000.0, self.recording(rel).sr / 2)

    def saved_boxes(self, rel: str) -> list[tuple[float, float, str, float, float]] | None:
        """The labelled boxes of ``rel`` with their frequency bands (``None``: unlabelled):
        as saved in this session, else the bands of its label file
        (:func:`~sedal.benchmark.practice.clip_state.bands_from_table`)."""
        with self._lock:
            saved, boxes, src = self.events.get(rel), self.boxes.get(rel), self.sources.get(rel)
        if saved is None or boxes is not None:
            return boxes
        return bands_from_table(src, Path(rel).name, saved, self.full_band(rel),
                                self.recording(rel).sr / 2)

    # -- drafts: unsaved edits survive a closed tab or a crash ---------------------------
    def draft_path(self, rel: str) -> Path:
        rec = self.recording(rel)
        return resolve_inside(self.labels / DRAFTS_DIR, f"{rec.key}.json", what="draft path")

    def read_draft(self, rel: str) -> list[dict] | None:
        """The unsaved boxes of ``rel`` (``None`` when there are none or they are unreadable)."""
        import json

        path = self.draft_path(rel)
        try:
            boxes = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            return [box_json(bx) for bx in self.check_boxes(rel, boxes)]
        except BenchmarkError:
            return None

    def save_draft(self, rel: str, events: object) -> dict:
        """Keep the page's current boxes of ``rel`` (validated; atomic) until it is saved."""
        import json

        boxes = self.check_boxes(rel, events)
        write_bytes_atomic(self.draft_path(rel), json.dumps(
            [box_json(bx) for bx in boxes]).encode())
        return {"draft": len(boxes)}

    # -- writing -----------------------------------------------------------------------
    def check_events(self, rel: str, events: object) -> list[tuple[float, float, str]]:
        """Validate events sent by the page: a list of ``{onset, offset, label}`` (and,
        optionally, ``low_hz`` and ``high_hz``) inside the recording, with known classes;
        their time extents ``(onset_s, offset_s, label)``, sorted."""
        return sorted(bx[:3] for bx in self.check_boxes(rel, events))

    def check_boxes(self, rel: str, events: object
                    ) -> list[tuple[float, float, str, float, float]]:
        """As :meth:`check_events`, with each box's band ``(..., low_hz, high_hz)`` in Hz: both
        or neither given (then :meth:`full_band`), JSON numbers, ``0 <= low < high`` up to the
        Nyquist frequency, rounded to 0.1 Hz (as the tables write them)."""
        rec = self.recording(rel)
        return validate_boxes(events, self.classes[1:], rec.duration, rec.sr,
                              self.full_band(rel))

    def label_path(self, rel: str) -> Path:
        """The Raven table the app writes for ``rel`` (below ``labels``, same sub-folders)."""
        rec = self.recording(rel)
        return resolve_inside(self.labels, f"{rec.key}.Table.1.selections.txt",
                              what="label path")

    def save(self, rel: str, events: object) -> dict:
        """Write the reviewed events of ``rel`` (atomically) and mark the model stale.

        A label file of this recording in another place or format is moved below
        ``labels/.sedal-replaced/`` first (so that one file annotates it, and nothing is lost).
        """
        boxes = self.check_boxes(rel, events)
        evs = [bx[:3] for bx in boxes]
        target = self.label_path(rel)
        with self._lock:
            old = self.sources.get(rel)
            if old is not None and Path(old).resolve() != target:
                src = Path(old).resolve()
                moved = resolve_inside(self.labels / REPLACED_DIR,
                                       src.relative_to(self.labels).as_posix(),
                                       what="replaced label path")
                moved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, moved)
            write_bytes_atomic(target, to_raven(evs, label_column=self.label_column,
                                                bands=[bx[3:] for bx in boxes],
                                                review=REVIEWED).encode())
            self.sources[rel] = str(target)
            self.events[rel] = evs
            self.boxes[rel] = boxes
            self.draft_path(rel).unlink(missing_ok=True)
            self.version += 1
            return {"saved": str(target.relative_to(self.labels)), "events": len(evs),
                    "version": self.version}

    # -- learning ----------------------------------------------------------------------
    def stale(self) -> bool:
        with self._lock:
            return self.model_version != self.version

    def refit(self, *, cross_validation: bool = True) -> dict:
        """Refit on every labelled recording and re-rank the queue; then (unless
        ``cross_validation`` is false) cross-validate over the labelled recordings (a
        learning-curve point and the post-processing).

        The work runs outside the lock (the page stays responsive); the new ranking is
        published as soon as it exists (before the cross-validation), and only if it is the
        newest.
        """
        with self._lock:
            version = self.version
            labelled = sorted(self.events)
            events = {rel: list(self.events[rel]) for rel in labelled}
            prev = self.det
        t0 = time.perf_counter()
        cls = self.classes
        embs = [self.features(rel) for rel in labelled]
        labs = training_labels(embs, [events[rel] for rel in labelled], cls)
        present = {int(c) for lab in labs for c in np.unique(lab)}
        det = None
        if len(present) >= 2:
            # a copy of the previous detector warm-starts from its fit and leaves it as it is
            # (other threads may be predicting with it)
            det = copy.copy(prev) if prev is not None else Detector.from_spec(
                self.detector, classes=cls, warm_start=True)
            det.fit(np.concatenate(embs), np.concatenate(labs))
        pool = [rel for rel in sorted(self.recordings) if rel not in events]
        rng = derive_rng(self.random_state, "annotate", version)
        scores, predicted = self._rank(det, pool, rng)
        order = [pool[i] for i in aggregation.rank(scores, rng)] if pool else []
        rank_seconds = time.perf_counter() - t0
        with self._lock:
            if version < self.model_version:
                return {"version": version, "stale": True}
            self.det = det
            self.order = order
            self.scores = {rel: float(s) for rel, s in zip(pool, scores)}
            self.predicted = predicted
            self.model_version = version
        cv = None
        if det is not None and cross_validation:
            cv = cross_validate(embs, labs, cls, [events[r] for r in labelled],
                                random_state=self.random_state, detector=det)
        with self._lock:
            if version == self.model_version:
                self.post = dict(cv.postprocess) if cv is not None and cv.postprocess else \
                    dict(POSTPROCESS)
                if cv is not None and (not self.curve or self.curve[-1]["labelled"] !=
                                       len(labelled)):
                    self.curve.append({"labelled": len(labelled), "cv_total_iou": cv.total_iou})
        return {"version": version, "rank_seconds": round(rank_seconds, 3),
                "seconds": round(time.perf_counter() - t0, 3), "labelled": len(labelled),
                "cv_total_iou": cv.total_iou if cv else None}

    def features(self, rel: str) -> np.ndarray:
        """The detector's features [n_segments, D] of one recording (from the store)."""
        return self._feats.load(self._sha[rel])

    def _rank(self, det, pool: list[str], rng) -> tuple[np.ndarray, dict[str, list]]:
        """File scores of the pool and each file's predicted classes with their confidence
        (the highest probability of a segment decided as that class)."""
        if not pool:
            return np.zeros(0), {}
        if det is None:
            return rng.random(len(pool)), {}
        H, top, offsets, ptop = self._feats.segment_entropies(
            det, [self._sha[r] for r in pool], threads=1, confidence=True)
        scores = scores_from_entropy(self.strategy, H, top != 0, offsets, self.k, rng)
        predicted = {}
        for rel, a, b in zip(pool, offsets[:-1], offsets[1:]):
            # each class some segment decides, with its highest segment probability
            t, p = top[a:b], ptop[a:b]
            predicted[rel] = [(self.classes[c], round(float(p[t == c].max()), 3))
                              for c in sorted(np.unique(t)) if c > 0]
        return scores, predicted

    # -- export ------------------------------------------------------------------------
    def export(self, out) -> dict:
        """Write ``labels.tsv`` (DCASE, every labelled recording) and, when the model has
        seen two classes, the model (``model/``, as ``detect --save-model``) below ``out``."""
        from sedal.sed.features import FeatureParams

        out = Path(out)
        with self._lock:
            events = {rel: list(v) for rel, v in self.events.items()}
            det, post = self.det, dict(self.post)
        write_bytes_atomic(out / "labels.tsv", to_dcase(events).encode())
        wrote = {"labels": str(out / "labels.tsv"), "recordings": len(events), "model": None}
        if det is not None and det.sees_classes:
            copy.copy(det).with_postprocess(post).save(
                out / "model", features={"name": FeatureParams().name()},
                weights_sha256=self.weights_sha256,
                trained_on={"recordings": len(events), "labels": str(self.labels)})
            wrote["model"] = str(out / "model")
        return wrote


