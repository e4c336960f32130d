"""The labelling schedule of an AL run: the fractions of the training files labelled after
each iteration."""

from __future__ import annotations

from sedal.benchmark.errors import BenchmarkError

DEFAULT_SCHEDULE = (0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15,
                    0.20, 0.25, 0.30, 0.40, 0.50)


def validate_schedule(schedule) -> tuple[float, ...]:
    """A schedule of cumulative labelled fractions: strictly increasing, in (0, 1]."""
    s = tuple(float(x) for x in schedule)
    if not s:
        raise BenchmarkError("the schedule is empty")
    if any(not 0.0 < x <= 1.0 for x in s):
        raise BenchmarkError("schedule fractions must be in (0, 1]")
    if any(b <= a for a, b in zip(s, s[1:])):
        raise BenchmarkError("the schedule must be strictly increasing")
    return s


def cut_schedule(schedule, max_fraction: float | None) -> tuple[float, ...]:
    """The schedule up to ``max_fraction`` (inclusive)."""
    if max_fraction is None:
        return tuple(schedule)
    out = tuple(x for x in schedule if x <= max_fraction + 1e-12)
    if not out:
        raise BenchmarkError(f"--max-fraction {max_fraction} is below the first schedule step")
    return out


def schedule_counts(schedule, n_train: int) -> list[int]:
    """Cumulative labelled-file counts for a schedule (at least 1, strictly increasing)."""
    counts = []
    for f in schedule:
        c = min(n_train, max(1, int(round(f * n_train))))
        if not counts or c > counts[-1]:
            counts.append(c)
    return counts
