"""Source libraries in Scaper's layout: scan, validate, hash and prepare.

A library is a folder with ``foreground/<label>/*.wav`` and
``background/<label>/*.wav`` (any format soundfile reads). Classes are
whatever the folder holds.

*Preparing* a library converts every clip once to mono 16-bit PCM at the
dataset's sample rate (polyphase resampling, channel mean), into a cache
folder keyed by the clips' sha256 and the rate. Scaper then reads clips
that need no conversion, decoded sources are shared by every soundscape,
and stereo or off-rate sources are accepted transparently.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from sedal.core.fsutil import build_dir_once, cache_dir, sha256_bytes, sha256_file

from .errors import GeneratorError

#: File endings read as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3")
#: Bumped when the conversion changes.
PREPARE_VERSION = 1
KINDS = ("foreground", "background")
#: Peak amplitude below this (-80 dBFS) counts as digitally silent.
SILENT_PEAK = 1e-4
#: Shortest usable clip, in seconds (Scaper fades each event in and out).
MIN_CLIP_SECONDS = 0.05


@dataclass(frozen=True)
class SourceLibrary:
    """A scanned library: ``clips[kind][label]`` is a sorted list of relative paths."""

    root: Path
    clips: dict[str, dict[str, list[str]]]

    def labels(self, kind: str) -> list[str]:
        """Sorted class labels of ``kind`` ('foreground' or 'background')."""
        return sorted(self.clips[kind])

    def all_clips(self) -> list[str]:
        """Every clip's path relative to the root, sorted."""
        return sorted(p for kind in KINDS for paths in self.clips[kind].values() for p in paths)


def scan_library(root: str | os.PathLike, *, min_clips: int = 1) -> SourceLibrary:
    """Scan and validate a folder in Scaper's layout.

    Parameters
    ----------
    root : path
        The library folder.
    min_clips : int
        Minimum clips per class (2 are needed to split a class between train
        and test).

    Raises
    ------
    GeneratorError
        Missing folder, no class, or a class with too few clips.
    """
    root = Path(root)
    if not root.is_dir():
        raise GeneratorError(f"source library {root} does not exist or is not a folder")
    clips: dict[str, dict[str, list[str]]] = {}
    for kind in KINDS:
        kdir = root / kind
        if not kdir.is_dir():
            raise GeneratorError(f"source library {root} has no {kind}/ folder")
        clips[kind] = {}
        for ldir in sorted(p for p in kdir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted(
                f.relative_to(root).as_posix()
                for f in ldir.iterdir()
                if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
                and not f.name.startswith(".")
            )
            for rel in [f"{kind}/{ldir.name}", *files]:
                if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in rel):
                    raise GeneratorError(
                        f"source library {root}: {rel!r} has a tab, newline or other control "
                        "character in its name; rename it")
            if len(files) < min_clips:
                raise GeneratorError(
                    f"class {kind}/{ldir.name} has {len(files)} clip(s); "
                    f"at least {min_clips} needed"
                )
            clips[kind][ldir.name] = files
        if not clips[kind]:
            raise GeneratorError(f"source library {root} has no classes under {kind}/")
    return SourceLibrary(root=root, clips=clips)


def read_clip(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio clip as float64 [n_samples, n_channels].

    Raises
    ------
    GeneratorError
        Unreadable, empty or non-finite audio (the message names the file).
    """
    try:
        audio, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises several types
        raise GeneratorError(f"cannot read audio file {path}: {exc}") from None
    if audio.shape[0] == 0:
        raise GeneratorError(f"audio file {path} is empty")
    if not np.all(np.isfinite(audio)):
        raise GeneratorError(f"audio file {path} holds NaN or infinite samples")
    return audio, int(sr)


def convert_audio(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Down-mix to mono (channel mean) and resample polyphase to ``sr_out`` Hz.

    Returns float64 in [-1, 1] (clipped), shape [n_samples].
    """
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    if sr_in != sr_out:
        frac = Fraction(sr_out, sr_in)
        mono = resample_poly(mono, frac.numerator, frac.denominator)
    return np.clip(mono, -1.0, 1.0)


@dataclass(frozen=True)
class ClipInfo:
    """One prepared clip: its class, original hash and prepared length."""

    kind: str
    label: str
    relpath: str
    sha256: str
    n_samples: int
    sr: int
    peak: float = 1.0  # largest absolute sample of the prepared clip


    @property
    def duration(self) -> float:
        """Length in seconds (``n_samples / sr``)."""
        return self.n_samples / self.sr


@dataclass(frozen=True)
class PreparedLibrary:
    """A library converted for one sample rate, ready for Scaper."""

    source: SourceLibrary
    root: Path
    sr: int
    clips: dict[str, ClipInfo]  # key: relpath in the *prepared* root
    library_sha256: str

    def fg_path(self) -> str:
        return str(self.root / "foreground")

    def bg_path(self) -> str:
        return str(self.root / "background")

    def by_class(self, kind: str) -> dict[str, list[ClipInfo]]:
        """``{label: [ClipInfo, ...]}`` sorted by path, for one kind."""
        out: dict[str, list[ClipInfo]] = {}
        for key in sorted(self.clips):
            c = self.clips[key]
            if c.kind == kind:
                out.setdefault(c.label, []).append(c)
        return out


def _prepared_name(relpath: str) -> str:
    p = Path(relpath)
    return (p.parent / (p.stem + ".wav")).as_posix()


def hash_library(lib: SourceLibrary) -> dict[str, str]:
    """``{relpath: sha256}`` of every clip of ``lib``."""
    return {rel: sha256_file(lib.root / rel) for rel in lib.all_clips()}


def prepare_library(
    lib: SourceLibrary, sr: int, *, hashes: dict[str, str] | None = None
) -> PreparedLibrary:
    """Convert ``lib`` to mono 16-bit PCM at ``sr`` Hz into the cache (once).

    Parameters
    ----------
    lib : SourceLibrary
    sr : int
        Target sample rate in Hz.
    hashes : dict, optional
        Precomputed :func:`hash_library` output.

    Raises
    ------
    GeneratorError
        A corrupt, empty or non-finite clip (named), or two clips that
        would convert to the same name.
    """
    hashes = hashes or hash_library(lib)
    listing = "\n".join(f"{rel}\t{hashes[rel]}" for rel in sorted(hashes))
    lib_hash = sha256_bytes(f"v{PREPARE_VERSION}\n{sr}\n{listing}".encode())
    root = cache_dir() / "prepared" / f"{lib_hash[:24]}-{sr}"
    names: dict[str, str] = {}
    for rel in sorted(hashes):
        name = _prepared_name(rel)
        if name in names:
            raise GeneratorError(f"source clips {names[name]} and {rel} would collide as {name}")
        names[name] = rel
    def build(tmp: Path) -> None:
        lines = []
        for name, rel in sorted(names.items()):
            audio, sr_in = read_clip(lib.root / rel)
            mono = convert_audio(audio, sr_in, sr)
            if mono.size == 0:
                raise GeneratorError(f"audio file {lib.root / rel} is too short to convert")
            dest = tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            sf.write(dest, mono, sr, subtype="PCM_16")
            lines.append(f"{name}\t{mono.size}\t{_peak(dest)!r}\n")
        (tmp / ".complete").write_text("".join(lines))

    if not (root / ".complete").exists():
        build_dir_once(root, build, lambda p: (p / ".complete").is_file())
    lengths, peaks = {}, {}
    for line in (root / ".complete").read_text().splitlines():
        name, n, *peak = line.split("\t")
        lengths[name] = int(n)
        # caches written before peaks were recorded: measure the prepared clip
        peaks[name] = float(peak[0]) if peak else _peak(root / name)
    clips = {}
    for name, rel in names.items():
        kind, label = Path(rel).parts[0], Path(rel).parts[1]
        clips[name] = ClipInfo(kind, label, rel, hashes[rel], lengths[name], sr, peaks[name])
    return PreparedLibrary(lib, root, sr, clips, lib_hash)


def _peak(path: Path) -> float:
    """Largest absolute sample of a prepared (16-bit) clip, in full-scale units."""
    x, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return float(np.max(np.abs(x))) if x.size else 0.0


_SEG = re.compile(r"_seg\d+$")


def clip_groups(lib: SourceLibrary) -> dict[str, str]:
    """``{relpath: group}``: which original recording (or, for backgrounds, site) a clip
    comes from, so that splits never put pieces of one recording in both.

    From the library's ``provenance.csv`` when it has one (columns ``file`` or ``path``, and
    ``origin``, and optionally ``site``, which wins for backgrounds; sedal's corpus fetchers
    and the built-in libraries write such tables); otherwise the file name with a trailing
    ``_segN`` removed (the convention for clips cut from one recording).
    """
    prov = _provenance_by_clip(lib.root)
    out = {}
    for rel in lib.all_clips():
        row = prov.get(rel, {})
        stem = _SEG.sub("", Path(rel).stem)
        group = row.get("origin") or f"{Path(rel).parent.as_posix()}/{stem}"
        if rel.startswith("background/") and row.get("site"):
            group = "site:" + row["site"]
        out[rel] = group
    return out


def read_provenance_rows(root: str | os.PathLike) -> list[dict[str, str]] | None:
    """The rows of a library's ``provenance.csv`` (values stripped), ``None`` when it has
    none; an unreadable table is a one-line error."""
    import csv

    path = Path(root) / "provenance.csv"
    if not path.is_file():
        return None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GeneratorError(f"cannot read {path}: {exc}") from None
    return [{k: (v or "").strip() for k, v in r.items() if k} for r in rows]


def _provenance_by_clip(root: Path) -> dict[str, dict]:
    rows = read_provenance_rows(root) or []
    col = next((c for c in ("file", "path") if rows and c in rows[0]), None)
    if col is None:  # not a provenance table sedal knows: group by file names only
        return {}
    return {r[col]: r for r in rows}


def split_clips(
    prepared: PreparedLibrary, test_fraction: float, seed: int
) -> dict[str, dict[str, dict[str, list[ClipInfo]]]]:
    """Assign every clip to exactly one split, per class, keeping each recording whole.

    Each class's clips are grouped by origin (:func:`clip_groups`); the groups, ordered by
    their first clip's path, are permuted by a generator derived from ``seed`` and the
    class, and the first ``max(1, round(f * n_groups))`` go to test (for backgrounds at
    least 2 in each split when there are 4 or more groups). A class needs at least 2
    groups. With one clip per group this is exactly a per-clip split.

    Returns
    -------
    dict
        ``{split: {kind: {label: [ClipInfo, ...]}}}``.
    """
    from sedal.core.rng import derive_rng

    groups_of = clip_groups(prepared.source)
    out: dict[str, dict[str, dict[str, list[ClipInfo]]]] = {
        "train": {k: {} for k in KINDS},
        "test": {k: {} for k in KINDS},
    }
    for kind in KINDS:
        for label, clips in prepared.by_class(kind).items():
            groups: dict[str, list[ClipInfo]] = {}
            for c in sorted(clips, key=lambda c: c.relpath):
                groups.setdefault(groups_of.get(c.relpath, c.relpath), []).append(c)
            keys = list(groups)  # in order of their first clip's path
            if len(keys) < 2:
                raise GeneratorError(
                    f"class {kind}/{label} has {len(keys)} recording(s) "
                    f"({len(clips)} clip(s)); at least 2 are needed to split it between "
                    "train and test"
                )
            order = derive_rng(seed, "source-split", kind, label).permutation(len(keys))
            n_test = max(1, int(math.floor(test_fraction * len(keys) + 0.5)))
            if kind == "background" and len(keys) >= 4:
                n_test = max(2, n_test)
            n_test = min(len(keys) - (2 if kind == "background" and len(keys) >= 4 else 1),
                         n_test)
            test_keys = {keys[i] for i in order[:n_test].tolist()}
            out["test"][kind][label] = [c for k in keys if k in test_keys for c in groups[k]]
            out["train"][kind][label] = [c for k in keys if k not in test_keys
                                         for c in groups[k]]
    return out


def split_groups(prepared: PreparedLibrary, test_fraction: float, seed: int) -> dict:
    """The recordings (groups) of each class in each split, for the manifest; only classes
    where some group holds more than one clip (otherwise the clip list says it all)."""
    groups_of = clip_groups(prepared.source)
    pools = split_clips(prepared, test_fraction, seed)
    out = {}
    for split, kinds in pools.items():
        for kind, labels in kinds.items():
            for label, clips in labels.items():
                gs = [groups_of.get(c.relpath, c.relpath) for c in prepared.clips.values()
                      if c.kind == kind and c.label == label]
                if len(set(gs)) == len(gs):
                    continue
                out.setdefault(f"{kind}/{label}", {})[split] = sorted(
                    {groups_of.get(c.relpath, c.relpath) for c in clips})
    return out
