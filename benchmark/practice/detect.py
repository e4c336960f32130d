"""``sedbench detect``: run a trained detector over a whole folder of recordings.

Trains on the labelled recordings (the same label files ``query`` reads) or loads a saved
model, then writes, for every recording, a Raven selection table with BirdNET-Analyzer's
columns (:data:`sedal.sed.events_io.BIRDNET_RAVEN_COLUMNS`, then the class in the label
column and ``Review`` = *predicted, unreviewed*) and an Audacity label track; for the whole
folder one combined selection table (:data:`COMBINED`, BirdNET-Analyzer's layout: the
recordings end to end on its time axis, ``Begin Path`` and ``File Offset (s)`` per row),
``detections.csv`` (BirdNET-Analyzer's CSV columns), a DCASE ``detections.tsv`` (the class
names as they are) and a ``summary.md``. Common and scientific names and species codes come
from a class map (:mod:`sedal.sed.classmap`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.collection import CollectionFeatures, scan_audio
from sedal.benchmark.practice.crossval import cross_validate, postprocess_sentence
from sedal.benchmark.practice.labelled import collect_annotations, training_labels
from sedal.benchmark.practice.query import POSTPROCESS, detect_events
from sedal.core.fsutil import write_bytes_atomic
from sedal.core.progress import stage, track
from sedal.sed.classmap import class_names, read_class_map
from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector
from sedal.sed.events_io import UNREVIEWED, to_audacity, to_birdnet_csv, to_birdnet_raven, to_dcase
from sedal.sed.features import FeatureParams
from sedal.sed.labels import class_list


def run_detect(audio: str | os.PathLike, out: str | os.PathLike, *, threads: int = 2,
               **kwargs) -> dict:
    """Detect events in every recording below ``audio`` (see the module docstring and
    :func:`_run_detect` for the keyword arguments), predictions under a budget of
    ``threads`` BLAS/OpenMP threads (fits always use one: the model does not depend on it)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, int(threads))):
        return _run_detect(audio, out, **kwargs)


def _run_detect(audio: str | os.PathLike, out: str | os.PathLike, *,
               labels: str | os.PathLike | None = None, model_path=None, save_model=None,
               label_column: str = "Annotation", classes: list[str] | None = None,
               min_confidence: float | None = None, min_duration: float | None = None,
               merge_gap: float | None = None, accept_predictions: bool = False,
               model=None, yamnet=None, cache_root: Path | None = None, random_state: int = 0,
               progress: bool = False, detector=None, class_map=None) -> dict:
    """Detect events in every recording below ``audio`` (see the module docstring).

    Exactly one of ``labels`` (train now) and ``model_path`` (a saved model) is needed.
    ``detector`` (a :class:`sedal.sed.detector.DetectorSpec`, default the ``field`` preset) is
    what a model is trained with; a saved model brings its own.
    ``save_model`` writes the trained model (:mod:`sedal.sed.savedmodel`). ``class_map``
    (a path, :func:`sedal.sed.classmap.read_class_map`) names the classes in the BirdNET-style
    tables.

    The post-processing (``merge_gap`` and ``min_duration`` in seconds, ``min_confidence``)
    is, for each setting not given: chosen by cross-validation over the labelled recordings
    (:mod:`sedal.benchmark.practice.crossval`, folds drawn from ``random_state``) when
    training, the saved model's when one is loaded, and
    :data:`sedal.benchmark.practice.query.POSTPROCESS` when neither is possible.

    Returns
    -------
    dict
        ``recordings``, ``events``, ``per_class`` counts, ``model`` (where it came from),
        ``postprocess`` and ``skipped`` files.
    """
    if (labels is None) == (model_path is None):
        raise BenchmarkError("pass either --labels (to train) or --model (a saved model)")
    given = _given_postprocess(merge_gap, min_duration, min_confidence)
    mapping = read_class_map(class_map) if class_map is not None else None
    recs, skipped = scan_audio(audio)
    if not recs:
        raise BenchmarkError(f"no readable recording in {audio}")
    meta = None
    if detector is None:
        from sedal.sed.detector import PRESETS

        detector = PRESETS["field"]
    if model_path is not None:
        det, meta = _load_saved(model_path)
        cls, detector = meta["classes"], det.spec()
    if model is None:
        from sedal.sed.yamnet import load_yamnet

        model = load_yamnet(yamnet)
    weights_sha = model.provenance["weights_sha256"]
    if meta is not None and meta.get("weights_sha256") not in (None, weights_sha):
        raise BenchmarkError(f"the model in {model_path} was trained on YAMNet weights "
                             f"{meta['weights_sha256'][:12]}..., these are {weights_sha[:12]}...")
    cache = CollectionFeatures(recs, detector, model, cache_root=cache_root, progress=progress,
                               skipped=skipped, yamnet=yamnet)
    recs = cache.recs
    how = f"saved model {model_path}"
    cv = None
    if meta is not None:
        post = {**POSTPROCESS, **(meta.get("postprocess") or {}), **given}
    else:
        ann = collect_annotations(labels, recs, label_column=label_column, classes=classes,
                                  accept_predictions=accept_predictions)
        with stage("training" + (" and cross-validating" if len(given) < 3 else ""),
                   enabled=progress):
            det, cls, cv, post, n_done = _train(ann, recs, cache, detector, classes, given,
                                                random_state)
        how = f"trained on {n_done} labelled recording(s)"
        if save_model is not None:
            det.with_postprocess(post).save(
                save_model, features={"name": FeatureParams().name()},
                weights_sha256=weights_sha,
                trained_on={"recordings": n_done, "labels": str(labels)})
    det.with_postprocess(post)
    names = class_names(cls[1:], mapping)
    out = Path(out)
    with writing_marker(out):
        return _write_outputs(out, recs, det, cache, cls, post, label_column, cv,
                              meta, given, how, detector, save_model, skipped, names,
                              progress)


def _train(ann, recs, cache, detector, classes, given: dict, random_state: int):
    """(fitted detector, classes, cross-validation, post-processing, labelled recordings):
    the detector trained on every labelled recording; the post-processing settings not
    given are chosen by cross-validation when it is possible."""
    done = [r for r in recs if r.key in ann.events]
    seen = sorted({lab for evs in ann.events.values() for _, _, lab in evs})
    cls = class_list(classes if classes is not None else seen)
    if not done or len(cls) < 2:
        raise BenchmarkError("nothing to train on: label some recordings (with events of "
                             "at least one class) or pass --model")
    embs = [cache.load(r.sha256) for r in done]
    ys = training_labels(embs, [ann.events[r.key] for r in done], cls)
    det = Detector.from_spec(detector, classes=cls).fit(np.concatenate(embs),
                                                        np.concatenate(ys))
    cv = None
    if len(given) < 3:
        cv = cross_validate(embs, ys, cls, [ann.events[r.key] for r in done],
                            random_state=random_state, detector=det)
    chosen = cv.postprocess if cv is not None and cv.postprocess is not None else {}
    return det, cls, cv, {**POSTPROCESS, **chosen, **given}, len(done)


def _given_postprocess(merge_gap, min_duration, min_confidence) -> dict:
    """The post-processing settings given on the command line (validated)."""
    for name, v, lo, hi in (("--min-confidence", min_confidence, 0.0, 1.0),
                            ("--min-duration", min_duration, 0.0, 3600.0),
                            ("--merge-gap", merge_gap, 0.0, 3600.0)):
        if v is not None and not lo <= v <= hi:
            raise BenchmarkError(f"{name} must be in [{lo:g}, {hi:g}], got {v}")
    return {k: v for k, v in (("merge_gap", merge_gap), ("min_duration", min_duration),
                              ("min_confidence", min_confidence)) if v is not None}


def _load_saved(model_path) -> tuple[Detector, dict]:
    """A saved detector that this sedal's features fit (clear errors otherwise)."""
    try:
        det, meta = Detector.load(model_path)
    except SedError as exc:
        raise BenchmarkError(str(exc)) from None
    if meta.get("features", {}).get("name") not in (None, FeatureParams().name()):
        raise BenchmarkError(f"the model in {model_path} needs features "
                             f"{meta['features'].get('name')!r}; this sedal's detect "
                             f"computes {FeatureParams().name()!r}")
    return det, meta


#: The combined selection table of every recording (as BirdNET-Analyzer's
#: ``BirdNET_SelectionTable.txt``).
COMBINED = "detections.selections.txt"
#: The file that marks a detect output folder as being written (it stays after a kill).
INCOMPLETE = "INCOMPLETE"


@contextlib.contextmanager
def writing_marker(out: Path):
    """Mark ``out`` as incomplete while it is written: an earlier ``summary.md`` is removed
    first and :data:`INCOMPLETE` written; it is removed only after everything, the summary
    last, was written. A folder with the marker (after a crash or a kill) never looks
    finished."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").unlink(missing_ok=True)
    write_bytes_atomic(out / INCOMPLETE, b"sedbench detect was writing this folder and did "
                       b"not finish; run the same command again\n")
    yield
    (out / INCOMPLETE).unlink()


def _write_outputs(out, recs, det, cache, cls, post, label_column, cv, meta, given,
                   how, detector, save_model, skipped, names, progress) -> dict:
    """The tables and the summary of :func:`_run_detect`."""
    by_file: dict[str, list] = {}
    entries = []  # (Begin Path, offset on the combined table's axis, events, top Hz)
    t0 = 0.0
    for r in track(recs, desc="predicting", unit="file", enabled=progress):
        events = detect_events(det, cache.load(r.sha256), r.duration)
        by_file[r.rel] = events
        entry = (os.path.abspath(r.path), t0, events, min(8000.0, r.sr / 2))
        entries.append(entry)
        t0 += r.duration
        write_bytes_atomic(out / "raven" / f"{r.key}.Table.1.selections.txt",
                           to_birdnet_raven([(*entry[:1], 0.0, *entry[2:])], names,
                                            label_column=label_column,
                                            review=UNREVIEWED).encode())
        write_bytes_atomic(out / "audacity" / f"{r.key}.txt", to_audacity(events).encode())
    write_bytes_atomic(out / COMBINED, to_birdnet_raven(entries, names, label_column=label_column,
                                                        review=UNREVIEWED).encode())
    write_bytes_atomic(out / "detections.csv", to_birdnet_csv(
        {e[0]: e[2] for e in entries}, names).encode())
    write_bytes_atomic(out / "detections.tsv", to_dcase(by_file).encode())
    per_class: dict[str, int] = {}
    for evs in by_file.values():
        for e in evs:
            per_class[e[2]] = per_class.get(e[2], 0) + 1
    n_events = sum(per_class.values())
    lines = ["# sedbench detect summary", "",
             f"- recordings: {len(recs)}; events: {n_events} ("
             + (", ".join(f"{c} {n}" for c, n in sorted(per_class.items())) or "none") + ")",
             f"- model: {how}; classes: {', '.join(cls[1:])}; detector: {detector.name}"
             + (f" (features {detector.recipe()})" if detector.recipe() else ""),
             "- " + postprocess_sentence(post, cv, origin=None if meta is None else
                                         "the saved model's" + (", with the options given"
                                                                if given else "")),
             "- tables: raven/ (BirdNET-Analyzer's columns, then the class and Review = "
             f"'predicted, unreviewed'), {COMBINED} (every recording), audacity/, "
             "detections.csv (BirdNET-Analyzer's columns), detections.tsv (DCASE)",
             "- names: " + ", ".join(f"{c} = {n.common} ({n.scientific}; code {n.code})"
                                     for c, n in names.items())]
    if save_model is not None and meta is None:
        lines.append(f"- model saved to {save_model}")
    if skipped:
        lines.append(f"- skipped {len(skipped)} unreadable file(s):")
        lines += [f"  - {rel}: {why}" for rel, why in skipped]
    write_bytes_atomic(out / "summary.md", ("\n".join(lines) + "\n").encode())
    return {"recordings": len(recs), "events": n_events, "per_class": per_class, "model": how,
            "detector": detector.name,
            "postprocess": post, "skipped": skipped, "classes": cls,
            "cv_total_iou": cv.total_iou if cv else None,
            "cv_event_f1": cv.event_f1 if cv else None,
            "cv_event_f1_raw": cv.event_f1_raw if cv else None}
