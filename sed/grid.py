"""The segment grid: the one place where the detector's time resolution is defined.

The study classifies overlapping segments of :data:`SEGMENT_S` seconds every :data:`HOP_S`
seconds (0.12 s, 50 % overlap: 12 log-mel frames of 10 ms every 6). Every module that needs
the grid imports these names; a test (``tests/test_segment_grid.py``) finds no other
segment-length or hop literal in the package.

Persisted identifiers that spell the grid (feature-store ids such as
``yamnet-patch-0.12-0.06-float32``) are data, not definitions: they name stores made on this
grid and stay as written.
"""

from __future__ import annotations

#: Segment length in seconds.
SEGMENT_S: float = 0.12
#: Hop between consecutive segment starts in seconds.
HOP_S: float = 0.06


def segment_span(i: int, j: int, segment_s: float = SEGMENT_S, hop_s: float = HOP_S
                 ) -> tuple[float, float]:
    """Onset and offset in seconds of the run of segments ``i..j`` (inclusive).

    Segment ``i`` owns the hop-long interval centred in it, so a run ``i..j`` spans
    ``[i * hop_s + (segment_s - hop_s) / 2, (j + 1) * hop_s + (segment_s - hop_s) / 2]``
    (rounded to 1 µs).

    Examples
    --------
    >>> segment_span(1, 2)
    (0.09, 0.21)
    """
    shift = (segment_s - hop_s) / 2
    return round(i * hop_s + shift, 6), round((j + 1) * hop_s + shift, 6)
