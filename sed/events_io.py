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
             label_column: str = "Annotation", review: str | None = None) -> str:
    """A Raven selection table (tab-separated) for one recording.

    ``events`` are ``(onset_s, offset_s, label)`` or ``(onset_s, offset_s, label,
    confidence)``; with confidences a ``Confidence`` column is written. ``review`` (e.g.
    :data:`UNREVIEWED`) adds a ``Review`` column with that value on every row.
    ``high_hz`` should not exceed the recording's Nyquist frequency.
    """
    with_conf = review is not None or any(len(e) > 3 for e in events)
    head = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
            "Low Freq (Hz)", "High Freq (Hz)", label_column]
    head += (["Confidence"] if with_conf else []) + (["Review"] if review else [])
    rows = ["\t".join(head)]
    for i, e in enumerate(events, 1):
        a, b, lab = e[:3]
        cells = [str(i), "Spectrogram 1", "1", f"{a:.6f}", f"{b:.6f}", f"{low_hz:.1f}",
                 f"{high_hz:.1f}", lab]
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
