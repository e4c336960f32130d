"""Writing detected events as DCASE tsv, Raven selection tables or Audacity labels."""

from __future__ import annotations

FORMATS = ("dcase", "raven", "audacity", "csv")


def to_dcase(events_by_file: dict[str, list[tuple[float, float, str]]]) -> str:
    """DCASE tsv: ``filename onset offset event_label`` (seconds, 6 decimals)."""
    rows = ["filename\tonset\toffset\tevent_label"]
    for f in sorted(events_by_file):
        rows += [f"{f}\t{e[0]:.6f}\t{e[1]:.6f}\t{e[2]}" for e in events_by_file[f]]
    return "\n".join(rows) + "\n"


#: The Review value of rows a model predicted and nobody has checked yet.
UNREVIEWED = "predicted, unreviewed"


def to_raven(events, *, low_hz: float = 0.0, high_hz: float = 8000.0,
             label_column: str = "Annotation", review: str | None = None,
             bands=None) -> str:
    """A Raven selection table (tab-separated) for one recording.

    ``events`` are ``(onset_s, offset_s, label)`` or ``(onset_s, offset_s, label,
    confidence)``; with confidences a ``Confidence`` column is written. ``review`` (e.g.
    :data:`UNREVIEWED`) adds a ``Review`` column with that value on every row.
    ``bands`` (one ``(low_hz, high_hz)`` per event, Hz) gives each row its frequency band;
    without it every row spans ``low_hz``-``high_hz``, and ``high_hz`` should not exceed the
    recording's Nyquist frequency.
    """
    if bands is not None and len(bands) != len(events):
        raise ValueError("one band per event")
    with_conf = review is not None or any(len(e) > 3 for e in events)
    head = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
            "Low Freq (Hz)", "High Freq (Hz)", label_column]
    head += (["Confidence"] if with_conf else []) + (["Review"] if review else [])
    rows = ["\t".join(head)]
    for i, e in enumerate(events, 1):
        a, b, lab = e[:3]
        lo, hi = bands[i - 1] if bands is not None else (low_hz, high_hz)
        cells = [str(i), "Spectrogram 1", "1", f"{a:.6f}", f"{b:.6f}", f"{lo:.1f}",
                 f"{hi:.1f}", lab]
        if with_conf:
            cells.append(f"{e[3]:.4f}" if len(e) > 3 else "")
        if review:
            cells.append(review)
        rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


def to_audacity(events) -> str:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line (a confidence, when
    given, is not written: Audacity has no place for it)."""
    return "".join(f"{e[0]:.6f}\t{e[1]:.6f}\t{e[2]}\n" for e in events)


def to_csv(events_by_file: dict[str, list]) -> str:
    """One CSV for many recordings: ``file,onset,offset,class,confidence`` (seconds)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "onset", "offset", "class", "confidence"])
    for f in sorted(events_by_file):
        for e in events_by_file[f]:
            w.writerow([f, f"{e[0]:.6f}", f"{e[1]:.6f}", e[2],
                        f"{e[3]:.4f}" if len(e) > 3 else ""])
    return buf.getvalue()


#: BirdNET-Analyzer's Raven selection-table columns, in its order.
BIRDNET_RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
                         "Low Freq (Hz)", "High Freq (Hz)", "Common Name", "Species Code",
                         "Confidence", "Begin Path", "File Offset (s)")
#: BirdNET-Analyzer's CSV columns, in its order.
BIRDNET_CSV_COLUMNS = ("Start (s)", "End (s)", "Scientific name", "Common name", "Confidence",
                       "File")


def to_birdnet_raven(entries, names, *, low_hz: float = 0.0, label_column: str = "Annotation",
                     review: str | None = None) -> str:
    """A Raven selection table with BirdNET-Analyzer's columns, for one recording or many.

    Parameters
    ----------
    entries : iterable of (begin_path, time_offset_s, events, high_hz)
        Per recording: its path (``Begin Path``), where it starts on the table's time axis
        in seconds (0 for a table of one recording; the summed durations of the recordings
        before it in a combined table, as BirdNET-Analyzer's combined table does), its
        events ``(onset_s, offset_s, class[, confidence])`` in seconds from its start, and
        the top of its frequency range in Hz (at most its Nyquist frequency).
    names : dict
        class -> :class:`sedal.sed.classmap.ClassNames` (``Common Name``, ``Species Code``).
    low_hz : float
        ``Low Freq (Hz)`` of every row.
    label_column : str
        A column with the class name itself, after BirdNET's (the column sedal's readers
        look for first); none when it is one of BirdNET's columns.
    review : str, optional
        A ``Review`` column with this value on every row (last).

    ``File Offset (s)`` is the onset in the recording; ``Begin Time (s)`` adds the
    recording's offset on the table's time axis.
    """
    head = list(BIRDNET_RAVEN_COLUMNS)
    extra = label_column not in head
    head += ([label_column] if extra else []) + (["Review"] if review else [])
    rows = ["\t".join(head)]
    sel = 0
    for path, t0, events, high_hz in entries:
        for e in events:
            sel += 1
            a, b, lab = e[:3]
            cells = [str(sel), "Spectrogram 1", "1", f"{t0 + a:.6f}", f"{t0 + b:.6f}",
                     f"{low_hz:.1f}", f"{high_hz:.1f}", names[lab].common, names[lab].code,
                     f"{e[3]:.4f}" if len(e) > 3 else "", str(path), f"{a:.6f}"]
            cells += ([lab] if extra else []) + ([review] if review else [])
            rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


def to_birdnet_csv(events_by_path: dict, names) -> str:
    """BirdNET-Analyzer's CSV for many recordings: ``Start (s),End (s),Scientific name,Common
    name,Confidence,File`` (seconds from each recording's start; rows sorted by file)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(BIRDNET_CSV_COLUMNS)
    for f in sorted(events_by_path):
        for e in events_by_path[f]:
            w.writerow([f"{e[0]:.6f}", f"{e[1]:.6f}", names[e[2]].scientific, names[e[2]].common,
                        f"{e[3]:.4f}" if len(e) > 3 else "", f])
    return buf.getvalue()
