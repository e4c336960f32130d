"""The people's labels of a collection: reading every label table below a folder and matching
it to the recordings (one table per recording; clear errors for anything ambiguous)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.collection import (
    Recording,
)
from sedal.core.errors import UnsafePathError
from sedal.core.fsutil import resolve_inside
from sedal.sed.annotations import recording_key
from sedal.sed.errors import SedError


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
    ann = Annotations({}, {}, [], [])
    if labels_root is None:
        return ann
    labels_root = check_labels_folder(labels_root)
    match = _Matcher(recs, ann, strict)
    for p in _label_files(labels_root):
        rows = match.read(p, label_column, accept_predictions)
        if rows is not None:
            match.assign(p, rows, recording_key(p, labels_root))
    match.finish(classes)
    return ann


def _label_files(labels_root: Path):
    """Every label file below ``labels_root`` in path order; hidden files and folders (the
    app's drafts and replaced files) are skipped, and a link leading out is refused."""
    for p in sorted(labels_root.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in
                                  p.relative_to(labels_root).parts):
            continue
        try:
            resolve_inside(labels_root, p.relative_to(labels_root).as_posix(),
                           what="label file", origin=f"labels folder {labels_root}")
        except UnsafePathError as exc:
            raise BenchmarkError(str(exc)) from None
        yield p


class _Matcher:
    """Matches label rows to recordings, collecting problems (or raising the first)."""

    def __init__(self, recs: list[Recording], ann: Annotations, strict: bool):
        self.ann, self.strict = ann, strict
        self.by_key = {r.key: r for r in recs}
        self.by_name: dict[str, list[Recording]] = {}
        self.by_file: dict[str, list[Recording]] = {}
        for r in recs:
            self.by_name.setdefault(r.key.rsplit("/", 1)[-1], []).append(r)
            self.by_file.setdefault(r.rel.rsplit("/", 1)[-1], []).append(r)
        self.raw: dict[str, list] = {}  # recording key -> [(row, path)]

    def problem(self, msg: str) -> None:
        if self.strict:
            raise SedError(msg)
        self.ann.problems.append(msg)

    def read(self, p: Path, label_column: str, accept_predictions: bool):
        """The rows of one label file, or ``None`` (a problem was recorded)."""
        from sedal.sed.annotations import read_label_file

        try:
            rows = read_label_file(p, label_column=label_column)
        except SedError as exc:
            self.problem(str(exc))
            return None
        if rows and not accept_predictions and not any(row.reviewed for row in rows):
            self.problem(f"{p}: every row is still an unreviewed prediction (Review column "
                         "'predicted, unreviewed'); correct the table and change or delete "
                         "that column, or pass --accept-predictions")
            return None
        return rows

    def assign(self, p: Path, rows: list, key: str) -> None:
        """Give the rows of label file ``p`` (named for recording ``key``) to recordings."""
        own = self.by_key.get(key)
        if own is None:  # allow a flat labels folder when names are unique
            cands = self.by_name.get(key.rsplit("/", 1)[-1], [])
            own = cands[0] if len(cands) == 1 else None
        named = [row for row in rows if row.recording is not None]
        if own is None and (not rows or len(named) < len(rows)):
            self.problem(f"{p}: label file for a recording that does not exist ({key!r} is "
                         "not in the audio folder, and its rows do not name their recordings)")
            return
        targets: dict[str, list] = {} if own is None else {own.key: []}
        for row in rows:
            # a row naming the table's own recording (by file name, as per-recording
            # BirdNET-style tables do) is that recording's, whatever other folders hold
            if row.recording is None or (own is not None and row.recording in (
                    Path(own.rel).name, Path(own.rel).stem)):
                targets[own.key].append(row)
                continue
            cands = self.by_file.get(row.recording) or self.by_name.get(
                row.recording.rsplit(".", 1)[0])
            if not cands or len(cands) > 1:
                self.problem(f"{p}, line {row.line}: recording {row.recording!r} is "
                             + ("not in the audio folder" if not cands else
                                "ambiguous (several recordings have that name)"))
                continue
            targets.setdefault(cands[0].key, []).append(row)
        for rkey, rrows in targets.items():
            if rkey in self.ann.sources and self.ann.sources[rkey] != str(p):
                self.problem(f"{p}: a second label file for recording "
                             f"{self.by_key[rkey].rel} (also {self.ann.sources[rkey]})")
                continue
            self.ann.sources[rkey] = str(p)
            self.raw.setdefault(rkey, []).extend((row, p) for row in rrows)

    def finish(self, classes: list[str] | None) -> None:
        """Merge class names and check every event's span: ``ann.events``."""
        from sedal.sed.annotations import check_span, merge_classes

        labels = [row.label for rows in self.raw.values() for row, _ in rows]
        mapping, self.ann.warnings = merge_classes(labels, classes)
        for rkey, rows in sorted(self.raw.items()):
            events, first_line = [], {}
            for row, p in rows:
                try:
                    check_span(row, p, self.by_key[rkey].duration)
                except SedError as exc:
                    self.problem(str(exc))
                    continue
                if row.label not in mapping:
                    self.problem(f"{p}, line {row.line}: unknown class {row.label!r} (known: "
                                 f"{', '.join(classes or [])})")
                    continue
                ev = (row.onset, row.offset, mapping[row.label])
                if ev in first_line:  # the same box twice (e.g. two Selection numbers)
                    self.ann.warnings.append(
                        f"{p}, line {row.line}: the same event as line {first_line[ev]} "
                        f"({ev[2]} {ev[0]:g}-{ev[1]:g} s); counted once")
                    continue
                first_line[ev] = row.line
                events.append(ev)
            self.ann.events[rkey] = sorted(events)


def load_annotations(labels_root: str | os.PathLike | None, recs: list[Recording], *,
                     label_column: str = "Annotation", classes: list[str] | None = None
                     ) -> dict[str, list[tuple[float, float, str]]]:
    """``{recording key: events}`` for every label file below ``labels_root`` (strict: the
    first problem raises :class:`SedError` naming the file and line); see
    :func:`collect_annotations`."""
    return collect_annotations(labels_root, recs, label_column=label_column,
                               classes=classes).events


def training_labels(embeddings: list[np.ndarray], events: list[list[tuple]],
                    classes: list[str]) -> list[np.ndarray]:
    """The segment labels (class indices) of labelled recordings, one array per recording
    aligned with its embeddings (the coverage rule of :func:`sedal.sed.labels.segment_labels`
    on the segment grid): what ``query``, ``detect`` and ``annotate`` train on."""
    from sedal.sed.grid import HOP_S, SEGMENT_S
    from sedal.sed.labels import segment_labels

    return [segment_labels(evs, len(e), classes, SEGMENT_S, HOP_S)
            for e, evs in zip(embeddings, events)]

