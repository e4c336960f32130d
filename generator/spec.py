"""The dataset specification: one frozen dataclass, loadable from TOML."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GeneratorError

#: The study's grid of (SNR dB, event ratio).
#: Upper bounds that keep a typo from exhausting memory or disk.
MAX_FILES = 1_000_000
MAX_DURATION = 3600.0  # seconds
MAX_EVENTS = 100
STUDY_GRID: tuple[tuple[float, float], ...] = ((0.0, 0.2), (10.0, 0.2), (-10.0, 0.2), (0.0, 1.0))


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that defines a synthetic soundscape dataset.

    Parameters
    ----------
    n_files : int
        Number of soundscapes (train + test).
    duration : float
        Length of each soundscape, in seconds.
    sr : int
        Sample rate of the soundscapes, in Hz.
    event_ratio : float
        Fraction r of files that contain events, in [0, 1]; exact per split:
        ``round(r * n_split)`` files of each split have events.
    snr : float
        Event SNR in dB (Scaper semantics: event LUFS relative to the
        background, which is normalised to ``ref_db``). Ignored when
        ``snr_range`` is set.
    snr_range : tuple of float or None
        ``(lo, hi)``: each event's SNR is drawn uniformly in dB.
    min_events, max_events : int
        Number of events in a file with events, drawn uniformly (inclusive).
    max_event_duration : float
        Cap on an event's duration, in seconds (an event otherwise lasts its
        source clip's natural length).
    ref_db : float
        Background loudness in LUFS (Scaper's ``ref_db``).
    train_fraction : float
        Fraction of files in the training split.
    source_test_fraction : float
        Fraction of each class's source clips reserved for the test split.
    seed : int
        Seed of every random choice.
    """

    n_files: int = 2500
    duration: float = 10.0
    sr: int = 16000
    event_ratio: float = 0.2
    snr: float = 0.0
    snr_range: tuple[float, float] | None = None
    min_events: int = 1
    max_events: int = 3
    max_event_duration: float = 4.0
    ref_db: float = -20.0
    train_fraction: float = 0.8
    source_test_fraction: float = 0.2
    seed: int = 0
    fade: float = field(default=0.01)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`GeneratorError` for an impossible spec."""

        def finite(name: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise GeneratorError(f"{name} must be a finite number, got {v!r}")
            return float(v)

        def integer(name: str, lo: int, hi: int) -> int:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise GeneratorError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
            return v

        integer("n_files", 1, MAX_FILES)
        if not 0 < finite("duration") <= MAX_DURATION:
            raise GeneratorError(
                f"duration must be in (0, {MAX_DURATION:g}] seconds, got {self.duration!r}")
        integer("sr", 8000, 192000)
        if not 0.0 <= finite("event_ratio") <= 1.0:
            raise GeneratorError(f"ratio must be in [0, 1], got {self.event_ratio!r}")
        finite("snr")
        if self.snr_range is not None:
            rng = self.snr_range
            if (not isinstance(rng, tuple | list) or len(rng) != 2
                    or any(isinstance(x, bool) or not isinstance(x, int | float)
                           or not math.isfinite(x) for x in rng) or rng[0] > rng[1]):
                raise GeneratorError(f"snr range must be two numbers LO <= HI, got {rng!r}")
        integer("min_events", 1, MAX_EVENTS)
        integer("max_events", 1, MAX_EVENTS)
        if self.min_events > self.max_events:
            raise GeneratorError("events per file must satisfy 1 <= min_events <= max_events")
        if finite("max_event_duration") <= 0:
            raise GeneratorError("max_event_duration must be > 0 seconds")
        if self.max_event_duration > self.duration:
            raise GeneratorError(
                f"max_event_duration ({self.max_event_duration:g} s) is longer than the file "
                f"({self.duration:g} s)"
            )
        finite("ref_db")
        if not 0.0 < finite("train_fraction") < 1.0:
            raise GeneratorError(f"train_fraction must be in (0, 1), got {self.train_fraction!r}")
        if not 0.0 < finite("source_test_fraction") < 1.0:
            raise GeneratorError("source_test_fraction must be in (0, 1)")
        integer("seed", 0, 2**63 - 1)
        if not 0.0 <= finite("fade") <= 0.1:
            raise GeneratorError("fade must be in [0, 0.1] seconds")
        if self.n_train < 1 or self.n_test < 1:
            raise GeneratorError(
                f"{self.n_files} file(s) with train_fraction {self.train_fraction:g} leave the "
                f"{'training' if self.n_train < 1 else 'test'} split empty, so no score would "
                "mean anything; use more files")
        for split in ("train", "test"):
            if self.event_ratio > 0 and self.n_with_events(split) == 0:
                raise GeneratorError(
                    f"event ratio {self.event_ratio:g} of {self.n_files} files gives no file "
                    f"with events in the {split} split, so scores there are undefined; use more "
                    "files or a larger ratio")

    # -- splits -------------------------------------------------------------
    @property
    def n_train(self) -> int:
        """Number of training files."""
        n = int(round(self.n_files * self.train_fraction))
        return min(max(n, 1 if self.n_files > 1 else self.n_files), self.n_files)

    @property
    def n_test(self) -> int:
        """Number of test files."""
        return self.n_files - self.n_train

    def n_with_events(self, split: str) -> int:
        """Files of ``split`` that contain events: ``round(r * n_split)``."""
        n = self.n_train if split == "train" else self.n_test
        return int(round(self.event_ratio * n))

    # -- naming / (de)serialisation ----------------------------------------
    def default_dirname(self) -> str:
        """``snr<snr>_r<ratio>``, e.g. ``snr0_r0.2``; ``snrLO..HI`` for a range."""
        snr = f"{self.snr:g}" if self.snr_range is None else "{:g}..{:g}".format(*self.snr_range)
        return f"snr{snr}_r{self.event_ratio:g}"

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        d = dataclasses.asdict(self)
        if d["snr_range"] is not None:
            d["snr_range"] = list(d["snr_range"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DatasetSpec:
        """Build a spec from :meth:`to_dict` output (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise GeneratorError(f"unknown dataset spec keys: {', '.join(sorted(unknown))}")
        d = dict(d)
        rng = d.get("snr_range")
        if isinstance(rng, list | tuple):
            d["snr_range"] = tuple(
                float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x
                for x in rng)
        return cls(**d)

    @classmethod
    def from_toml(cls, path: str | Path) -> DatasetSpec:
        """Load a spec from a TOML file (table ``[dataset]`` or top level)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GeneratorError(f"cannot read spec {path}: {exc}") from None
        if "dataset" in data:
            extra = sorted(set(data) - {"dataset"})
            if extra:
                raise GeneratorError(f"{path}: unknown top-level keys {', '.join(extra)} "
                                     "(only a [dataset] table is read)")
            data = data["dataset"]
            if not isinstance(data, dict):
                raise GeneratorError(f"{path}: dataset must be a table")
        try:
            return cls.from_dict(data)
        except GeneratorError as exc:
            raise GeneratorError(f"{path}: {exc}") from None

    def replace(self, **changes) -> DatasetSpec:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
