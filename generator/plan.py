"""Planning: which files have events, and every event's clip, time and SNR.

Planning is pure and cheap: a function of the spec, the prepared library and
the seed. Events are placed non-overlapping by construction (no rejection
loops) and are then handed to Scaper as constant distributions.

Placement of ``n`` events with durations ``d_i`` in a file of length ``D``:
the free time ``F = D - sum(d_i)`` is cut at ``n`` sorted uniform points
``u_(1) <= ... <= u_(n)`` in ``[0, F]``; event ``i`` starts at
``u_(i) + sum_{j<i} d_j``. If the drawn clips do not fit (``F < 0``), the
last events are dropped until they do (at least one always fits, since
``max_event_duration <= D``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sedal.core.rng import derive_rng

from .library import ClipInfo, PreparedLibrary, split_clips
from .spec import DatasetSpec

SPLITS = ("train", "test")


@dataclass(frozen=True)
class EventPlan:
    """One foreground event; times in seconds, SNR in dB."""

    label: str
    source: str  # clip path relative to the prepared library root
    source_time: float
    event_time: float
    event_duration: float
    snr: float


@dataclass(frozen=True)
class BedSegment:
    """One piece of a background bed: ``duration`` s of ``source`` from ``source_time`` s,
    scaled by ``gain_db`` dB."""

    source: str
    source_time: float
    duration: float
    gain_db: float


@dataclass(frozen=True)
class FilePlan:
    """One soundscape: its id, split, background and events.

    The background is a window of one long recording (``bg_source`` from
    ``bg_source_time``), or, when the library's recordings are not much longer than a
    file, a *bed*: the pieces in ``bg_bed`` crossfaded into one clip (rendered by sedal into
    the file ``bg_source`` names), so that no two files share a background.
    """

    id: str
    split: str
    bg_label: str
    bg_source: str
    bg_source_time: float
    events: tuple[EventPlan, ...]
    bg_bed: tuple[BedSegment, ...] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["events"] = [asdict(e) for e in self.events]
        if self.bg_bed is None:
            d.pop("bg_bed")
        else:
            d["bg_bed"] = [asdict(b) for b in self.bg_bed]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FilePlan:
        bed = d.get("bg_bed")
        return cls(
            id=d["id"],
            split=d["split"],
            bg_label=d["bg_label"],
            bg_source=d["bg_source"],
            bg_source_time=float(d["bg_source_time"]),
            events=tuple(EventPlan(**e) for e in d["events"]),
            bg_bed=None if bed is None else tuple(BedSegment(**b) for b in bed),
        )


#: A background recording must be this much longer than a file (s) to give it a window;
#: shorter ones are crossfaded into beds.
BED_SLACK = 2.0
#: Crossfade between the pieces of a bed (s, equal power), at most a quarter of a piece.
BED_CROSSFADE = 0.5
#: Gain range of a bed's pieces (dB, uniform).
BED_GAIN_DB = 3.0
BED_VERSION = 1


def plan_bed(clips: list[ClipInfo], duration: float, rng) -> tuple[BedSegment, ...]:
    """Pieces of random clips (random offsets, lengths and gains) that crossfade into at
    least ``duration`` seconds."""
    pieces: list[BedSegment] = []
    total = 0.0
    while True:
        c = clips[int(rng.integers(len(clips)))]
        longest = c.duration
        shortest = min(longest, max(1.0, 0.3 * longest))
        dur = float(rng.uniform(shortest, longest))
        start = float(rng.uniform(0.0, longest - dur)) if longest > dur else 0.0
        gain = float(rng.uniform(-BED_GAIN_DB, BED_GAIN_DB))
        pieces.append(BedSegment(_clip_key(c), start, dur, gain))
        total += dur - (bed_crossfade(pieces[-2].duration, dur) if len(pieces) > 1 else 0.0)
        if total >= duration:
            return tuple(pieces)


def bed_crossfade(a: float, b: float) -> float:
    """Crossfade (s) between two bed pieces of lengths ``a`` and ``b`` seconds."""
    return min(BED_CROSSFADE, a / 4, b / 4)


def bed_name(label: str, bed: tuple[BedSegment, ...], sr: int) -> str:
    """The bed's file, ``background/<label>/bed-<hash>.wav`` (a function of its pieces)."""
    from sedal.core.fsutil import canonical_json, sha256_bytes

    h = sha256_bytes(canonical_json({"v": BED_VERSION, "sr": sr,
                                     "pieces": [asdict(b) for b in bed]}).encode())
    return f"background/{label}/bed-{h[:20]}.wav"


def file_id(split: str, index: int) -> str:
    """File id of the ``index``-th file of ``split``, e.g. ``train_00012``."""
    return f"{split}_{index:05d}"


def _clip_key(c: ClipInfo) -> str:
    from .library import _prepared_name

    return _prepared_name(c.relpath)


def place_events(durations: list[float], total: float, rng) -> list[float]:
    """Onsets (seconds) for back-to-back-free placement of ``durations`` in ``total``.

    Parameters
    ----------
    durations : list of float
        Event durations in seconds; their sum must be <= ``total``.
    total : float
        File length in seconds.
    rng : numpy.random.Generator

    Returns
    -------
    list of float
        Onsets in the order of ``durations``; events do not overlap and end
        by ``total``.
    """
    free = total - sum(durations)
    cuts = sorted(rng.uniform(0.0, free, size=len(durations)).tolist())
    onsets, elapsed = [], 0.0
    for cut, d in zip(cuts, durations, strict=True):
        onsets.append(cut + elapsed)
        elapsed += d
    return onsets


def plan_file(
    spec: DatasetSpec,
    split: str,
    index: int,
    has_events: bool,
    pool: dict[str, dict[str, list[ClipInfo]]],
) -> FilePlan:
    """Plan one soundscape from its own derived generator (order-independent)."""
    rng = derive_rng(spec.seed, "file", split, index)
    bg_labels = sorted(pool["background"])
    bg_label = bg_labels[int(rng.integers(len(bg_labels)))]
    bg_clips = pool["background"][bg_label]
    bg = bg_clips[int(rng.integers(len(bg_clips)))]
    bg_start = float(rng.uniform(0.0, max(0.0, bg.duration - spec.duration)))
    bed = None
    if bg.duration < spec.duration + BED_SLACK:
        bed = plan_bed(bg_clips, spec.duration, derive_rng(spec.seed, "bed", split, index))
    events: list[EventPlan] = []
    if has_events:
        fg_labels = sorted(pool["foreground"])
        n = int(rng.integers(spec.min_events, spec.max_events + 1))
        drawn = []
        for _ in range(n):
            label = fg_labels[int(rng.integers(len(fg_labels)))]
            clips = pool["foreground"][label]
            clip = clips[int(rng.integers(len(clips)))]
            dur = min(clip.duration, spec.max_event_duration)
            src_t = float(rng.uniform(0.0, clip.duration - dur)) if clip.duration > dur else 0.0
            snr = float(rng.uniform(*spec.snr_range)) if spec.snr_range else float(spec.snr)
            drawn.append((label, clip, src_t, dur, snr))
        while sum(d[3] for d in drawn) > spec.duration:
            drawn.pop()
        onsets = place_events([d[3] for d in drawn], spec.duration, rng)
        for (label, clip, src_t, dur, snr), onset in zip(drawn, onsets, strict=True):
            events.append(EventPlan(label, _clip_key(clip), src_t, onset, dur, snr))
    if bed is not None:
        return FilePlan(file_id(split, index), split, bg_label, bed_name(bg_label, bed, spec.sr),
                        0.0, tuple(events), bed)
    return FilePlan(
        id=file_id(split, index),
        split=split,
        bg_label=bg_label,
        bg_source=_clip_key(bg),
        bg_source_time=bg_start,
        events=tuple(events),
    )


def plan_dataset(spec: DatasetSpec, prepared: PreparedLibrary) -> list[FilePlan]:
    """Plan every soundscape of the dataset (train first, then test).

    Exactly ``round(r * n_split)`` files of each split have events, chosen
    by a generator derived from the seed and the split. Each split draws
    only from its own source clips (see :func:`sedal.generator.library.split_clips`).
    """
    pools = split_clips(prepared, spec.source_test_fraction, spec.seed)
    plans = []
    for split in SPLITS:
        n = spec.n_train if split == "train" else spec.n_test
        k = spec.n_with_events(split)
        chosen = set(derive_rng(spec.seed, "event-files", split).permutation(n)[:k].tolist())
        for i in range(n):
            plans.append(plan_file(spec, split, i, i in chosen, pools[split]))
    return separate_windows(plans, spec, pools)


#: Closest two files' background windows on one recording may start (seconds): closer
#: starts could render byte-identical background-only files (two draws 2e-5 s apart, less
#: than a sample, did in a 2500-file dataset of the field library).
MIN_WINDOW_SEPARATION = 0.1


def separate_windows(plans: list[FilePlan], spec: DatasetSpec,
                     pools: dict[str, dict[str, dict[str, list[ClipInfo]]]],
                     min_separation: float = MIN_WINDOW_SEPARATION,
                     max_tries: int = 1000) -> list[FilePlan]:
    """Redraw background windows that start within ``min_separation`` seconds of an earlier
    file's window on the same recording.

    Files are taken in plan order (train, then test, by index); a file's redraws come from a
    generator derived from the seed, its split and index, so the result does not depend on
    the number of workers. Files whose window is already clear of the others keep their plan.
    """
    import bisect
    from dataclasses import replace

    durations = {_clip_key(c): c.duration for split in pools.values()
                 for clips in split["background"].values() for c in clips}
    starts: dict[str, list[float]] = {}
    out = []
    for p in plans:
        if p.bg_bed is None:
            taken = starts.setdefault(p.bg_source, [])
            room = max(0.0, durations[p.bg_source] - spec.duration)

            def clear(t, taken=taken):
                k = bisect.bisect_left(taken, t)
                return all(abs(taken[j] - t) >= min_separation
                           for j in (k - 1, k) if 0 <= j < len(taken))

            t = p.bg_source_time
            if not clear(t) and room > 0:
                idx = int(p.id.rsplit("_", 1)[1])
                rng = derive_rng(spec.seed, "bg-window", p.split, idx)
                for _ in range(max_tries):
                    t = float(rng.uniform(0.0, room))
                    if clear(t):
                        break
                p = replace(p, bg_source_time=t)
            bisect.insort(taken, t)
        out.append(p)
    return out
