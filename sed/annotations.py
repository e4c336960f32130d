"""Reading annotations: Raven selection tables, Audacity label tracks and DCASE tsv.

Every reader returns ``[(onset_s, offset_s, label), ...]`` and raises
:class:`SedError` naming the file and line of anything it cannot accept. An empty
file means "annotated, background only".
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .errors import SedError

RAVEN_BEGIN = "Begin Time (s)"
RAVEN_END = "End Time (s)"
#: Suffixes stripped from a label file's name to find its recording's name.
LABEL_SUFFIXES = (".Table.1.selections.txt", ".selections.txt", ".audacity.txt", ".txt", ".tsv",
                  ".csv")


def _lines(path: Path) -> list[str]:
    """The lines of a text label file: UTF-8 with or without a BOM, any line ending."""
    try:
        return Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise SedError(f"cannot read label file {path}: {exc.strerror or exc}") from None


def _time(text: str, path: Path, line: int, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise SedError(f"{path}, line {line}: {what} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise SedError(f"{path}, line {line}: {what} is not finite")
    if v < 0:
        raise SedError(f"{path}, line {line}: negative {what} ({v})")
    return v


def _check_span(a: float, b: float, path: Path, line: int, duration: float | None) -> None:
    if b < a:
        raise SedError(f"{path}, line {line}: offset {b} is before onset {a}")
    if duration is not None and b > duration + 1e-3:
        raise SedError(f"{path}, line {line}: time {b} s is past the end of the recording "
                       f"({duration:.3f} s)")


def read_raven(path: Path, label_column: str = "Annotation", duration: float | None = None):
    """A Raven selection table (tab-separated, header with Begin/End Time (s))."""
    lines = _lines(path)
    if not lines or not lines[0].strip():
        return []
    head = [h.strip() for h in lines[0].split("\t")]
    for need in (RAVEN_BEGIN, RAVEN_END, label_column):
        if need not in head:
            raise SedError(f"{path}, line 1: malformed Raven header: no {need!r} column "
                           f"(columns: {', '.join(head)})")
    ib, ie, il = head.index(RAVEN_BEGIN), head.index(RAVEN_END), head.index(label_column)
    events = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) <= max(ib, ie, il):
            raise SedError(f"{path}, line {n}: {len(cells)} columns, the header has {len(head)}")
        a = _time(cells[ib].strip(), path, n, "begin time")
        b = _time(cells[ie].strip(), path, n, "end time")
        _check_span(a, b, path, n, duration)
        events.append((a, b, cells[il].strip()))
    return events


def read_audacity(path: Path, duration: float | None = None):
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line (frequency lines, which
    start with a backslash, are skipped)."""
    events = []
    for n, line in enumerate(_lines(path), start=1):
        if not line.strip() or line.startswith("\\"):
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise SedError(f"{path}, line {n}: expected start, end and label separated by tabs")
        a = _time(cells[0].strip(), path, n, "start time")
        b = _time(cells[1].strip(), path, n, "end time")
        _check_span(a, b, path, n, duration)
        events.append((a, b, cells[2].strip() if len(cells) > 2 else ""))
    return events


def read_dcase(path: Path, duration: float | None = None):
    """A DCASE tsv (``[filename] onset offset event_label``, header optional)."""
    events = []
    for n, line in enumerate(_lines(path), start=1):
        cells = [c.strip() for c in line.split("\t")]
        if not line.strip() or (n == 1 and "onset" in cells):
            continue
        if len(cells) == 4:
            cells = cells[1:]
        if len(cells) != 3:
            raise SedError(f"{path}, line {n}: expected onset, offset and event_label")
        if cells[0] == "" and cells[1] == "":  # a file without events
            continue
        a = _time(cells[0], path, n, "onset")
        b = _time(cells[1], path, n, "offset")
        _check_span(a, b, path, n, duration)
        events.append((a, b, cells[2]))
    return events


def sniff_format(path: Path) -> str:
    """'raven', 'audacity' or 'dcase' from a label file's first non-empty line."""
    for line in _lines(path):
        if not line.strip():
            continue
        if "Begin Time" in line or "Selection" in line.split("\t")[0]:
            return "raven"
        cells = line.split("\t")
        if "onset" in cells or path.suffix == ".tsv":
            return "dcase"
        if re.match(r"^\s*[-+\d.]", cells[0]):
            return "audacity"
        return "raven"  # a header of some other table: read_raven names what is missing
    return "empty"


def read_labels(path: Path, *, label_column: str = "Annotation", duration: float | None = None):
    """Events of any supported label file (format sniffed)."""
    fmt = sniff_format(path)
    if fmt == "empty":
        return []
    if fmt == "raven":
        return read_raven(path, label_column, duration)
    if fmt == "dcase":
        return read_dcase(path, duration)
    return read_audacity(path, duration)


def recording_key(label_path: Path, labels_root: Path) -> str:
    """The recording a label file is for: its path below ``labels_root`` without the
    label suffix (``a/b/x.Table.1.selections.txt`` -> ``a/b/x``)."""
    rel = label_path.relative_to(labels_root).as_posix()
    for suffix in LABEL_SUFFIXES:
        if rel.endswith(suffix):
            return rel[: -len(suffix)]
    return rel.rsplit(".", 1)[0]
