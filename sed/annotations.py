"""Reading annotations: Raven / BirdNET selection tables, Audacity labels, DCASE tsv and CSV.

:func:`read_label_file` reads any supported table into :class:`LabelRow` s: onset and offset
in seconds, the label, the line it came from, and the recording it names when the table
spans several recordings (Raven/BirdNET ``Begin File`` / ``Begin Path``; a DCASE or CSV
``filename`` column), else ``None`` for "the recording this file is named after". Problems
raise :class:`SedError` naming the file and line. An empty file means "annotated,
background only".

Raven exports one row per *view* (``Waveform 1``, ``Spectrogram 1``): rows of one selection
are collapsed into one event (by ``Selection`` number, else by identical times and label);
two rows of one selection that disagree are an error. Tables are UTF-8 (a BOM is allowed);
class names are non-empty, without control characters, at most 100 characters.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import SedError
from .events_io import UNREVIEWED

RAVEN_BEGIN = "Begin Time (s)"
RAVEN_END = "End Time (s)"
RAVEN_LOW = "Low Freq (Hz)"
RAVEN_HIGH = "High Freq (Hz)"
#: Label columns tried, in order, when the requested one is absent (Raven, BirdNET).
RAVEN_LABEL_COLUMNS = ("Annotation", "Common Name", "Species", "Label", "Class", "Sound Type",
                       "Type", "Species Code")
#: Suffixes stripped from a label file's name to find its recording's name (longest first).
LABEL_SUFFIXES = (".BirdNET.selection.table.txt", ".BirdNET.results.txt",
                  ".Table.1.selections.txt", ".selection.table.txt", ".selections.txt",
                  ".audacity.txt", ".txt", ".tsv", ".csv")
_CSV_ONSET = ("onset", "start", "begin", "begin time (s)", "start time", "start (s)")
_CSV_OFFSET = ("offset", "end", "stop", "end time (s)", "end time", "end (s)")
_CSV_LABEL = ("event_label", "label", "class", "annotation", "species", "common name")
_CSV_FILE = ("filename", "file", "recording", "audio", "begin file")


@dataclass(frozen=True)
class LabelRow:
    """One annotated event as read from a table."""

    onset: float  # seconds
    offset: float  # seconds
    label: str
    line: int
    recording: str | None = None  # a file name the table names; None: the table's own
    reviewed: bool = True  # False for rows still marked as unreviewed model predictions
    low_hz: float | None = None  # the box's frequency band (Raven tables), Hz; None: not given
    high_hz: float | None = None


#: The longest class name accepted, in characters.
MAX_CLASS_NAME = 100


def _lines(path: Path) -> list[str]:
    """The lines of a text label file: UTF-8 with or without a BOM, any line ending.

    Anything that is not UTF-8 (e.g. a Latin-1 export) is refused with the line of the first
    byte that does not decode, never read with replacement characters.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SedError(f"cannot read label file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SedError(f"{path}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02X}); "
                       "save the table as UTF-8") from None
    # only CR, LF and CRLF end a line (str.splitlines would also split at U+2028, U+0085,
    # ... inside a cell)
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def check_class_name(name: str, where: str) -> str:
    """A class name as given, if it is one: non-empty, at most :data:`MAX_CLASS_NAME`
    characters, no control characters (newline, tab, NUL, ...).

    Raises
    ------
    SedError
        Naming ``where`` (a file and line, or an option) and what is wrong.
    """
    import unicodedata

    if not name.strip():
        raise SedError(f"{where}: empty class name")
    if len(name) > MAX_CLASS_NAME:
        raise SedError(f"{where}: class name longer than {MAX_CLASS_NAME} characters")
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")),
               None)
    if bad is not None:
        raise SedError(f"{where}: class name {name!r} holds a control character "
                       f"(U+{ord(bad):04X})")
    return name


def _row(a: float, b: float, label: str, n: int, path: Path, rec: str | None = None,
         reviewed: bool = True) -> LabelRow:
    return LabelRow(a, b, check_class_name(label, f"{path}, line {n}"), n, rec, reviewed)


#: A time as tables write it: ASCII decimal notation (Python's float() would also take
#: ``1_000``, Arabic-Indic or full-width digits, ``inf`` and ``nan``).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _time(text: str, path: Path, line: int, what: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise SedError(f"{path}, line {line}: {what} {text!r} is not a number")
    v = float(text)
    if not math.isfinite(v):
        raise SedError(f"{path}, line {line}: {what} is not finite")
    if v < 0:
        raise SedError(f"{path}, line {line}: negative {what} ({v})")
    return v


def check_span(row: LabelRow, path: Path, duration: float | None) -> None:
    """Refuse an event whose offset is before its onset or past the recording's end."""
    if row.offset < row.onset:
        raise SedError(f"{path}, line {row.line}: offset {row.offset} is before onset "
                       f"{row.onset}")
    if duration is not None and row.offset > duration + 1e-3:
        raise SedError(f"{path}, line {row.line}: time {row.offset} s is past the end of the "
                       f"recording ({duration:.3f} s)")


def _file_name(text: str) -> str:
    """The file name in a Windows or POSIX path (Raven's Begin Path is often Windows)."""
    name = PureWindowsPath(text).name if "\\" in text else PurePosixPath(text).name
    return name.strip()


def read_raven(path: Path, label_column: str = "Annotation") -> list[LabelRow]:
    """A Raven (or BirdNET) selection table: tab-separated, header with Begin/End Time (s).

    View duplicates are collapsed; ``Begin File`` / ``Begin Path`` name the recording of
    each row in tables that span several (``File Offset (s)`` is then the onset in it).
    """
    lines = _lines(path)
    if not lines or not lines[0].strip():
        return []
    head = [h.strip() for h in lines[0].split("\t")]
    for need in (RAVEN_BEGIN, RAVEN_END):
        if need not in head:
            raise SedError(f"{path}, line 1: malformed Raven header: no {need!r} column "
                           f"(columns: {', '.join(head)})")
    if label_column not in head:
        found = next((c for c in RAVEN_LABEL_COLUMNS if c in head), None)
        if found is None:
            raise SedError(f"{path}, line 1: no label column {label_column!r} (columns: "
                           f"{', '.join(head)}); pass --label-column")
        label_column = found
    ib, ie, il = head.index(RAVEN_BEGIN), head.index(RAVEN_END), head.index(label_column)
    isel = head.index("Selection") if "Selection" in head else None
    ifile = next((head.index(c) for c in ("Begin File", "Begin Path") if c in head), None)
    ioff = head.index("File Offset (s)") if "File Offset (s)" in head else None
    irev = head.index("Review") if "Review" in head else None
    ilo, ihi = (head.index(c) if c in head else None for c in (RAVEN_LOW, RAVEN_HIGH))
    rows: list[LabelRow] = []
    seen: dict[object, LabelRow] = {}
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        need = max(i for i in (ib, ie, il, isel, ifile, ioff) if i is not None)
        if len(cells) <= need:
            raise SedError(f"{path}, line {n}: {len(cells)} columns, the header has {len(head)}")
        a = _time(cells[ib].strip(), path, n, "begin time")
        b = _time(cells[ie].strip(), path, n, "end time")
        rec = _file_name(cells[ifile]) if ifile is not None and cells[ifile].strip() else None
        if ioff is not None and rec is not None:
            off = _time(cells[ioff].strip(), path, n, "file offset")
            if off != a:  # the table's time axis is not the recording's: shift the row
                a, b = off, off + (b - a)
        unreviewed = irev is not None and irev < len(cells) and \
            cells[irev].strip() == UNREVIEWED
        row = _row(a, b, cells[il].strip(), n, path, rec, not unreviewed)
        band = _band(cells, ilo, ihi, path, n)
        if band is not None:
            row = replace(row, low_hz=band[0], high_hz=band[1])
        key = (rec, cells[isel].strip()) if isel is not None else (rec, a, b, row.label)
        if key in seen:  # another view of the same selection, which must be the same event
            first = seen[key]
            if (first.onset, first.offset, first.label) != (row.onset, row.offset, row.label):
                raise SedError(
                    f"{path}, line {n}: selection {key[-1]} is {row.label} {row.onset:g}-"
                    f"{row.offset:g} s here but {first.label} {first.onset:g}-"
                    f"{first.offset:g} s on line {first.line}; give each event its own "
                    "Selection number")
            continue
        seen[key] = row
        rows.append(row)
    return rows


def _band(cells: list[str], ilo: int | None, ihi: int | None, path: Path, n: int
          ) -> tuple[float, float] | None:
    """The (low, high) frequency of a Raven row in Hz, ``None`` when the table gives none."""
    if ilo is None or ihi is None or max(ilo, ihi) >= len(cells) \
            or not (cells[ilo].strip() or cells[ihi].strip()):
        return None
    lo = _time(cells[ilo].strip(), path, n, "low frequency")
    hi = _time(cells[ihi].strip(), path, n, "high frequency")
    if lo > hi:
        raise SedError(f"{path}, line {n}: low frequency {lo:g} Hz is above the high "
                       f"frequency {hi:g} Hz")
    return lo, hi


def read_audacity(path: Path) -> list[LabelRow]:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line (frequency lines, which
    start with a backslash, are skipped)."""
    rows = []
    for n, line in enumerate(_lines(path), start=1):
        if not line.strip() or line.startswith("\\"):
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise SedError(f"{path}, line {n}: expected start, end and label separated by tabs")
        a = _time(cells[0].strip(), path, n, "start time")
        b = _time(cells[1].strip(), path, n, "end time")
        rows.append(_row(a, b, cells[2].strip() if len(cells) > 2 else "", n, path))
    return rows


def read_dcase(path: Path) -> list[LabelRow]:
    """A DCASE tsv: ``[filename] onset offset event_label`` (header optional); with a
    filename column it may hold many recordings."""
    rows = []
    for n, line in enumerate(_lines(path), start=1):
        cells = [c.strip() for c in line.split("\t")]
        if not line.strip() or (n == 1 and "onset" in cells):
            continue
        rec = None
        if len(cells) == 4:
            rec, cells = _file_name(cells[0]) or None, cells[1:]
        if len(cells) != 3:
            raise SedError(f"{path}, line {n}: expected onset, offset and event_label")
        if cells[0] == "" and cells[1] == "":  # a file without events
            continue
        a = _time(cells[0], path, n, "onset")
        b = _time(cells[1], path, n, "offset")
        rows.append(_row(a, b, cells[2], n, path, rec))
    return rows


def read_csv(path: Path) -> list[LabelRow]:
    """A CSV with a header naming the columns (onset/start, offset/end, label/class and an
    optional filename column; case and spaces do not matter)."""
    text = "\n".join(_lines(path))
    reader = csv.reader(io.StringIO(text))
    try:
        head = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return []

    def col(names, what, required=True):
        for name in names:
            if name in head:
                return head.index(name)
        if required:
            raise SedError(f"{path}, line 1: no {what} column (columns: {', '.join(head)}; "
                           f"expected one of {', '.join(names)})")
        return None

    io_, oo, lo = col(_CSV_ONSET, "onset"), col(_CSV_OFFSET, "offset"), col(_CSV_LABEL, "label")
    fo = col(_CSV_FILE, "file", required=False)
    rows = []
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) <= max(i for i in (io_, oo, lo, fo) if i is not None):
            raise SedError(f"{path}, line {n}: {len(cells)} columns, the header has {len(head)}")
        rec = _file_name(cells[fo]) if fo is not None and cells[fo].strip() else None
        rows.append(_row(_time(cells[io_].strip(), path, n, "onset"),
                         _time(cells[oo].strip(), path, n, "offset"),
                         cells[lo].strip(), n, path, rec))
    return rows


def sniff_format(path: Path) -> str:
    """'raven', 'audacity', 'dcase', 'csv' or 'empty' from the name and first line."""
    path = Path(path)
    for line in _lines(path):
        if not line.strip():
            continue
        if path.suffix.lower() == ".csv":
            return "csv"
        if "Begin Time" in line or "Selection" in line.split("\t")[0]:
            return "raven"
        cells = line.split("\t")
        if "onset" in cells or path.suffix == ".tsv":
            return "dcase"
        if re.match(r"^\s*[-+\d.]", cells[0]):
            return "audacity"
        return "raven"  # a header of some other table: read_raven names what is missing
    return "empty"


def read_label_file(path: Path, *, label_column: str = "Annotation") -> list[LabelRow]:
    """Every row of any supported label file (format sniffed)."""
    fmt = sniff_format(path)
    if fmt == "empty":
        return []
    if fmt == "raven":
        return read_raven(path, label_column)
    if fmt == "dcase":
        return read_dcase(path)
    if fmt == "csv":
        return read_csv(path)
    return read_audacity(path)


def read_labels(path: Path, *, label_column: str = "Annotation", duration: float | None = None):
    """Events ``[(onset_s, offset_s, label)]`` of a label file for one recording."""
    out = []
    for row in read_label_file(path, label_column=label_column):
        check_span(row, path, duration)
        out.append((row.onset, row.offset, row.label))
    return out


def recording_key(label_path: Path, labels_root: Path) -> str:
    """The recording a label file is for: its path below ``labels_root`` without the
    label suffix (``a/b/x.Table.1.selections.txt`` -> ``a/b/x``)."""
    rel = label_path.relative_to(labels_root).as_posix()
    for suffix in LABEL_SUFFIXES:
        if rel.endswith(suffix):
            return rel[: -len(suffix)]
    return rel.rsplit(".", 1)[0]


def normalise_label(label: str) -> str:
    """Case- and whitespace-insensitive form of a class name."""
    return " ".join(label.split()).casefold()


def merge_classes(labels: list[str], classes: list[str] | None = None
                  ) -> tuple[dict[str, str], list[str]]:
    """Map every spelling of a class to one name, and say what was merged.

    With ``classes``, each label maps to the given class it matches case- and
    whitespace-insensitively (labels matching none are left out of the map). Without, the
    spellings of a class map to their most frequent one (ties: the lower-case, single-spaced
    spelling if it is one of them, else the lowest in sort order).

    Returns
    -------
    mapping : dict
        ``{spelling: class}``.
    warnings : list of str
        One line per class that was written in more than one way.
    """
    from collections import Counter

    counts = Counter(labels)
    groups: dict[str, list[str]] = {}
    for lab in sorted(counts):
        groups.setdefault(normalise_label(lab), []).append(lab)
    wanted = {normalise_label(c): c for c in classes} if classes is not None else None
    mapping, warnings = {}, []
    for key, spellings in sorted(groups.items()):
        if wanted is not None:
            if key not in wanted:
                continue
            target = wanted[key]
        else:
            target = sorted(spellings, key=lambda s: (-counts[s], s != key, s))[0]
        for sp in spellings:
            mapping[sp] = target
        if len(spellings) > 1 or (wanted is not None and spellings != [target]):
            warnings.append("merged " + ", ".join(repr(s) for s in spellings)
                            + f" into {target!r}")
    return mapping, warnings
