"""``sedgen sources check``: validate any source library and summarise it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..library import KINDS, MIN_CLIP_SECONDS, SILENT_PEAK, clip_groups, scan_library


@dataclass
class ClassReport:
    kind: str
    label: str
    clips: int = 0
    min_s: float = float("inf")
    max_s: float = 0.0
    rates: set = field(default_factory=set)
    channels: set = field(default_factory=set)
    corrupt: list = field(default_factory=list)
    silent: list = field(default_factory=list)
    seconds: float = 0.0


def check_library(root: str | os.PathLike) -> tuple[list[ClassReport], list[str]]:
    """Inspect every clip of a library.

    Returns
    -------
    reports : list of ClassReport
    problems : list of str
        One line per problem: a corrupt, silent or too short clip (named), or a class with
        fewer than 2 clips (it cannot be split between train and test).
    """
    lib = scan_library(root, min_clips=0)
    reports, problems = [], []
    for kind in KINDS:
        for label in lib.labels(kind):
            r = ClassReport(kind, label)
            for rel in lib.clips[kind][label]:
                path = Path(lib.root) / rel
                try:
                    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
                    if x.shape[0] == 0:
                        raise ValueError("no samples")
                    if not np.all(np.isfinite(x)):
                        raise ValueError("NaN or infinite samples")
                except Exception as exc:
                    r.corrupt.append(rel)
                    problems.append(f"corrupt clip {rel}: {exc}")
                    continue
                r.clips += 1
                dur = x.shape[0] / sr
                r.seconds += dur
                r.min_s, r.max_s = min(r.min_s, dur), max(r.max_s, dur)
                r.rates.add(int(sr))
                r.channels.add(int(x.shape[1]))
                if np.max(np.abs(x)) < SILENT_PEAK:
                    r.silent.append(rel)
                    problems.append(f"silent clip {rel}")
                if kind == "foreground" and dur < MIN_CLIP_SECONDS:
                    problems.append(f"clip {rel} lasts {dur * 1000:.1f} ms, shorter than the "
                                    f"{MIN_CLIP_SECONDS * 1000:.0f} ms an event needs")
            if r.clips < 2:
                problems.append(f"class {kind}/{label} has {r.clips} usable clip(s); at least 2 "
                                "are needed to split it between train and test")
            reports.append(r)
    return reports, problems


def background_warnings(root: str | os.PathLike, reports: list[ClassReport], *,
                        file_seconds: float = 10.0) -> list[str]:
    """Warnings about background pools too small for varied files: fewer than 4 recordings
    (so a split gets one or two), or less than 10 files' worth of audio (beds will reuse the
    same material often; files stay distinct, but similar)."""
    groups = clip_groups(scan_library(root, min_clips=0))
    out = []
    for r in reports:
        if r.kind != "background":
            continue
        n = len({g for rel, g in groups.items() if rel.startswith(f"background/{r.label}/")})
        if n < 4:
            out.append(f"background/{r.label} holds {n} recording(s): each split gets at most "
                       f"{max(1, n - 1)}; files of a split will share background material")
        if r.seconds < 10 * file_seconds:
            out.append(f"background/{r.label} holds {r.seconds:.0f} s of audio: {file_seconds:g} s "
                       "files will be beds of the same few recordings (distinct, but similar)")
    return out


def format_table(reports: list[ClassReport]) -> str:
    """A fixed-width table of the reports."""
    head = f"{'class':<28} {'clips':>5} {'duration (s)':>16} {'rates (Hz)':<22} {'ch':<5} " \
           f"{'corrupt':>7} {'silent':>6}"
    lines = [head, "-" * len(head)]
    for r in reports:
        dur = f"{r.min_s:.2f}-{r.max_s:.2f}" if r.clips else "-"
        rates = ",".join(str(x) for x in sorted(r.rates)) or "-"
        ch = ",".join(str(x) for x in sorted(r.channels)) or "-"
        lines.append(f"{r.kind + '/' + r.label:<28} {r.clips:>5} {dur:>16} {rates:<22} {ch:<5} "
                     f"{len(r.corrupt):>7} {len(r.silent):>6}")
    return "\n".join(lines)
