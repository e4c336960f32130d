"""Per-realisation and pooled low-budget AULC contrasts of AL results dirs on real recordings.

For each results dir (one detector preset) and each cell of ``--grid real`` (SNR 0, r 0.2
and r 1.0): the fully supervised total IoU of every realisation, and for Top-10 − Random,
Mean − Random and Top-10 − Mean the claims' low-budget AULC difference (paired AL seeds)
per realisation (mean and 95 % t interval over its seeds) and over all realisations (the
report's primary analysis, :func:`sedal.benchmark.stats.hierarchy.mixed_effect`).
Descriptive: with fewer realisations than the claims need, nothing here is a verdict.

Usage::

    python scripts/real_sources_table.py results/real-paper results/real-field
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from sedal.benchmark.al.runner import ResultsStore
    from sedal.benchmark.stats import family as F
    from sedal.benchmark.stats import hierarchy as H
    from sedal.benchmark.stats import prereg
    from sedal.benchmark.stats.claims import t_ci
    from sedal.benchmark.stats.results import Results

    if not argv:
        print("usage: real_sources_table.py RESULTS_DIR [RESULTS_DIR ...]", file=sys.stderr)
        return 2
    pre = prereg.load()
    for d in argv:
        res = Results(ResultsStore(Path(d)))
        print(f"== {d}")
        for ratio in (0.2, 1.0):
            cell = F.cell(res, "real-sources", 0.0, ratio)
            for g in cell:
                full = g.full_iou()
                print(f"r {ratio} {g.info['manifest_sha256'][:8]} supervised "
                      f"{'n/a' if full is None else f'{full:.3f}'}")
            for a, b in ((F.TOP10, F.RANDOM), (F.MEAN, F.RANDOM), (F.TOP10, F.MEAN)):
                v, r, _ = F.contrast(cell, F.low_aulc(pre), a=a, b=b)
                if len(v) == 0:
                    continue
                per = []
                for m in sorted(set(r)):
                    x = v[r == m]
                    lo, hi = t_ci(x, bounds=(-1.0, 1.0))
                    per.append(f"{m[:8]} {x.mean():+.3f} ({lo:+.3f}, {hi:+.3f})")
                pooled = ""
                if len(set(r)) > 1:
                    e = H.mixed_effect(v, r)
                    pooled = f" | all: {e.effect:+.3f} ({e.ci[0]:+.3f}, {e.ci[1]:+.3f})"
                print(f"  r {ratio} {a} - {b}: " + "; ".join(per) + pooled)
    return 0


if __name__ == "__main__":
    from sedal.core.errors import SedalError

    try:
        sys.exit(main(sys.argv[1:]))
    except SedalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
