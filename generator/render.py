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

from sedal.core import exactmath
from sedal.core.fsutil import atomic_path, resolve_inside

from .errors import GeneratorError
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


#: Decimal places kept of the floats Scaper computes from the audio (the peak-normalisation
#: scale factor, and the resulting ``ref_db`` change in dB). Their arithmetic is already
#: machine-independent (:mod:`sedal.generator.scaper_compat`); rounding them once more keeps
#: the JAMS stable against any last-bit difference left (e.g. another SoX build), at a
#: precision far below anything audible (1e-9 dB).
AUDIO_DERIVED_DECIMALS = 9
AUDIO_DERIVED_FIELDS = ("peak_normalization_scale_factor", "ref_db_change", "ref_db_generated")


def round_audio_derived(data: dict) -> dict:
    """Round the audio-derived floats of a Scaper JAMS dict (in place; returned)."""
    for ann in data.get("annotations", []):
        box = ann.get("sandbox", {}).get("scaper")
        if not isinstance(box, dict):
            continue
        for key in AUDIO_DERIVED_FIELDS:
            v = box.get(key)
            if isinstance(v, float) or isinstance(v, np.floating):
                box[key] = round(float(v), AUDIO_DERIVED_DECIMALS)
    return data


def jams_bytes(jam, fg_path: str, bg_path: str, *, round_floats: bool = True) -> bytes:
    """Serialise a Scaper JAMS with library paths replaced by placeholders and (unless
    ``round_floats`` is False, as for format 1 manifests) the audio-derived floats rounded
    to :data:`AUDIO_DERIVED_DECIMALS` places."""
    data = jam.__json__
    if round_floats:
        data = round_audio_derived(data)
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


def library_clip(kind_path: str, source: str, kind: str) -> Path:
    """The prepared clip a plan names (``<kind>/<label>/<clip>``), confined to the library.

    Raises
    ------
    GeneratorError
        The path leaves the library, or names a clip the library does not hold.
    """
    path = library_clip_path(kind_path, source, kind)
    if not path.is_file():
        raise GeneratorError(f"{kind} source {source!r} is not in the source library")
    return path


def ensure_bed(plan: FilePlan, bg_path: str, sr: int) -> None:
    """Render the plan's background bed into the library's background folder (once).

    The pieces are cut from the prepared clips, scaled, joined with equal-power crossfades
    and written as 16-bit PCM under the name :func:`sedal.generator.plan.bed_name` derives from
    them (so a plan cannot name any other file).

    Raises
    ------
    GeneratorError
        A bed whose name does not match its pieces, or a piece outside the library.
    """
    from .plan import bed_crossfade, bed_name

    if plan.bg_bed is None:
        return
    if plan.bg_source != bed_name(plan.bg_label, plan.bg_bed, sr):
        raise GeneratorError(f"{plan.id}: background bed name {plan.bg_source!r} does not match "
                             "its pieces")
    dest = library_clip_path(bg_path, plan.bg_source, "background")
    if dest.is_file():
        return
    out: np.ndarray | None = None
    prev_len = 0.0
    for piece in plan.bg_bed:
        x, clip_sr = sf.read(str(library_clip(bg_path, piece.source, "background")),
                             dtype="float64", always_2d=True)
        if clip_sr != sr:
            raise GeneratorError(f"bed piece {piece.source} is at {clip_sr} Hz, not {sr}")
        a = int(round(piece.source_time * sr))
        seg = x[a:a + int(round(piece.duration * sr)), 0] * exactmath.power(10.0,
                                                                           piece.gain_db / 20)
        if out is None:
            out = seg
        else:
            n = min(int(round(bed_crossfade(prev_len, piece.duration) * sr)), len(out), len(seg))
            t = (np.arange(n) + 0.5) / max(n, 1)
            fade_out = exactmath.elementwise(exactmath.cos, t * np.pi / 2)
            fade_in = exactmath.elementwise(exactmath.sin, t * np.pi / 2)
            mixed = out[len(out) - n:] * fade_out + seg[:n] * fade_in
            out = np.concatenate([out[:len(out) - n], mixed, seg[n:]])
        prev_len = piece.duration
    with atomic_path(dest) as tmp:
        sf.write(str(tmp), np.clip(out, -1.0, 1.0), sr, subtype="PCM_16", format="WAV")


def library_clip_path(kind_path: str, source: str, kind: str) -> Path:
    """Where a ``<kind>/<label>/<clip>`` path lives in the library (confined; may not exist)."""
    prefix = kind + "/"
    if not isinstance(source, str) or not source.startswith(prefix):
        raise GeneratorError(f"{kind} source {source!r} is not a {prefix}<label>/<clip> path")
    return resolve_inside(kind_path, source[len(prefix):], what=f"{kind} source")


def check_jams_sources(jams_path: str | Path, plan: FilePlan) -> None:
    """Refuse a JAMS whose sources are not exactly the plan's (checked before Scaper reads it).

    Scaper's ``generate_from_jams`` rebuilds each source path as
    ``<fg_path>/<parent folder>/<file name>`` from the JAMS, so a crafted JAMS could
    otherwise point it anywhere.

    Raises
    ------
    GeneratorError
        Unreadable or malformed JAMS, or sources that differ from the plan.
    """
    try:
        doc = json.loads(Path(jams_path).read_text(encoding="utf-8"))
        anns = [a for a in doc["annotations"] if a.get("namespace") == "scaper"]
        sources = sorted(obs["value"]["source_file"] for a in anns for obs in a["data"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GeneratorError(f"{jams_path} is not a valid sedal JAMS ({type(exc).__name__}: "
                             f"{exc})") from None
    want = sorted([plan.bg_source] + [e.source for e in plan.events])
    if len(anns) != 1 or sources != want:
        raise GeneratorError(f"{jams_path} does not match its manifest entry (sources "
                             f"{sources} instead of {want})")


def render_plan(plan: FilePlan, spec: DatasetSpec, fg_path: str, bg_path: str, *,
                exact: bool = True):
    """Mix one soundscape with Scaper (``exact``: machine-independent arithmetic, see
    :func:`sedal.generator.scaper_compat.import_scaper`).

    Returns
    -------
    audio : numpy.ndarray
        float mix, shape [n_samples, 1], at ``spec.sr`` Hz.
    jam : jams.JAMS
        Scaper's annotation (with this machine's absolute paths).
    """
    scaper = import_scaper(exact)
    with _quiet():
        sc = scaper.Scaper(spec.duration, fg_path, bg_path, random_state=0)
        sc.sr = spec.sr
        sc.ref_db = spec.ref_db
        sc.n_channels = 1
        sc.fade_in_len = spec.fade
        sc.fade_out_len = spec.fade
        sc.add_background(
            label=("const", plan.bg_label),
            source_file=("const", str(library_clip(bg_path, plan.bg_source, "background"))),
            source_time=("const", plan.bg_source_time),
        )
        for e in plan.events:
            sc.add_event(
                label=("const", e.label),
                source_file=("const", str(library_clip(fg_path, e.source, "foreground"))),
                source_time=("const", e.source_time),
                event_time=("const", e.event_time),
                event_duration=("const", e.event_duration),
                snr=("const", e.snr),
                pitch_shift=None,
                time_stretch=None,
            )
        try:
            audio, jam, _, _ = sc.generate(
                audio_path=None,
                jams_path=None,
                allow_repeated_label=True,
                allow_repeated_source=True,
                fix_clipping=True,
                disable_sox_warnings=True,
                disable_instantiation_warnings=True,
            )
        except Exception as exc:  # Scaper, jams and SoX raise many types
            raise GeneratorError(f"cannot render {plan.id}: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return audio, jam


def rerender_jams(jams_path: str | Path, fg_path: str, bg_path: str, *, exact: bool = True):
    """Re-render a soundscape from a sedal JAMS through ``scaper.generate_from_jams``.

    Returns the float mix [n_samples, 1] and the new JAMS object.
    """
    scaper = import_scaper(exact)
    try:
        with _quiet():
            audio, jam, _, _ = scaper.generate_from_jams(
                str(jams_path), audio_outfile=None, fg_path=fg_path, bg_path=bg_path
            )
    except Exception as exc:  # Scaper, jams and SoX raise many types
        raise GeneratorError(f"cannot re-render {jams_path}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return audio, jam


def write_outputs(wav: bytes, jam: bytes, wav_path: Path, jams_path: Path) -> None:
    """Write a soundscape's wav and JAMS atomically (the JAMS last)."""
    with atomic_path(wav_path) as tmp:
        tmp.write_bytes(wav)
    with atomic_path(jams_path) as tmp:
        tmp.write_bytes(jam)
