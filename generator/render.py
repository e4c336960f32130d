"""Rendering one planned soundscape with Scaper; writing wav + JAMS atomically.

Scaper mixes every file (LUFS normalisation of the background to ``ref_db``,
events at ``ref_db + snr``, 10 ms fades). sedal then writes the mix as 16-bit
PCM WAV and the JAMS with source paths made relative to the library root
(``foreground/<label>/<clip>.wav``), so a dataset does not depend on where the
library was on the machine that made it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from .fsutil import atomic_path
from .plan import FilePlan
from .scaper_compat import import_scaper
from .spec import DatasetSpec

#: Placeholders written into JAMS instead of this machine's library paths.
FG_PLACEHOLDER = "foreground"
BG_PLACEHOLDER = "background"


def _relativize(obj, prefixes: dict[str, str]):
    if isinstance(obj, str):
        for absolute, rel in prefixes.items():
            if obj == absolute:
                return rel
            if obj.startswith(absolute + os.sep):
                return rel + "/" + obj[len(absolute) + 1 :].replace(os.sep, "/")
        return obj
    if isinstance(obj, list):
        return [_relativize(x, prefixes) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_relativize(x, prefixes) for x in obj)
    if isinstance(obj, dict):
        return {k: _relativize(v, prefixes) for k, v in obj.items()}
    return obj


def jams_bytes(jam, fg_path: str, bg_path: str) -> bytes:
    """Serialise a Scaper JAMS with library paths replaced by placeholders."""
    data = jam.__json__
    data = _relativize(data, {fg_path: FG_PLACEHOLDER, bg_path: BG_PLACEHOLDER})
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def pcm16_wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes of ``audio`` (float in [-1, 1], mono or [n, 1])."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio).reshape(-1), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger = logging.getLogger("sox")
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            logger.setLevel(level)


def render_plan(plan: FilePlan, spec: DatasetSpec, fg_path: str, bg_path: str):
    """Mix one soundscape with Scaper.

    Returns
    -------
    audio : numpy.ndarray
        float mix, shape [n_samples, 1], at ``spec.sr`` Hz.
    jam : jams.JAMS
        Scaper's annotation (with this machine's absolute paths).
    """
    scaper = import_scaper()
    with _quiet():
        sc = scaper.Scaper(spec.duration, fg_path, bg_path, random_state=0)
        sc.sr = spec.sr
        sc.ref_db = spec.ref_db
        sc.n_channels = 1
        sc.fade_in_len = spec.fade
        sc.fade_out_len = spec.fade
        sc.add_background(
            label=("const", plan.bg_label),
            source_file=("const", os.path.join(bg_path, *plan.bg_source.split("/")[1:])),
            source_time=("const", plan.bg_source_time),
        )
        for e in plan.events:
            sc.add_event(
                label=("const", e.label),
                source_file=("const", os.path.join(fg_path, *e.source.split("/")[1:])),
                source_time=("const", e.source_time),
                event_time=("const", e.event_time),
                event_duration=("const", e.event_duration),
                snr=("const", e.snr),
                pitch_shift=None,
                time_stretch=None,
            )
        audio, jam, _, _ = sc.generate(
            audio_path=None,
            jams_path=None,
            allow_repeated_label=True,
            allow_repeated_source=True,
            fix_clipping=True,
            disable_sox_warnings=True,
            disable_instantiation_warnings=True,
        )
    return audio, jam


def rerender_jams(jams_path: str | Path, fg_path: str, bg_path: str):
    """Re-render a soundscape from a sedal JAMS through ``scaper.generate_from_jams``.

    Returns the float mix [n_samples, 1] and the new JAMS object.
    """
    scaper = import_scaper()
    with _quiet():
        audio, jam, _, _ = scaper.generate_from_jams(
            str(jams_path), audio_outfile=None, fg_path=fg_path, bg_path=bg_path
        )
    return audio, jam


def write_outputs(wav: bytes, jam: bytes, wav_path: Path, jams_path: Path) -> None:
    """Write a soundscape's wav and JAMS atomically (the JAMS last)."""
    with atomic_path(wav_path) as tmp:
        tmp.write_bytes(wav)
    with atomic_path(jams_path) as tmp:
        tmp.write_bytes(jam)
