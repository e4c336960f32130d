"""Writing detected events as DCASE tsv, Raven selection tables or Audacity labels."""

from __future__ import annotations

FORMATS = ("dcase", "raven", "audacity")


def to_dcase(events_by_file: dict[str, list[tuple[float, float, str]]]) -> str:
    """DCASE tsv: ``filename onset offset event_label`` (seconds, 6 decimals)."""
    rows = ["filename\tonset\toffset\tevent_label"]
    for f in sorted(events_by_file):
        rows += [f"{f}\t{a:.6f}\t{b:.6f}\t{lab}" for a, b, lab in events_by_file[f]]
    return "\n".join(rows) + "\n"


def to_raven(events: list[tuple[float, float, str]], *, low_hz: float = 0.0,
             high_hz: float = 8000.0, label_column: str = "Annotation") -> str:
    """A Raven selection table (tab-separated) for one recording."""
    head = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
            "Low Freq (Hz)", "High Freq (Hz)", label_column]
    rows = ["\t".join(head)]
    for i, (a, b, lab) in enumerate(events, 1):
        rows.append(f"{i}\tSpectrogram 1\t1\t{a:.6f}\t{b:.6f}\t{low_hz:.1f}\t{high_hz:.1f}\t{lab}")
    return "\n".join(rows) + "\n"


def to_audacity(events: list[tuple[float, float, str]]) -> str:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line."""
    return "".join(f"{a:.6f}\t{b:.6f}\t{lab}\n" for a, b, lab in events)
