"""Replay the fits of AL runs: on the very labelled sets a run chose, does the fast path
(warm-started whitened L-BFGS on the active columns, as AL fits) give the same test total IoU
as fits from scratch, and as scikit-learn's lbfgs from scratch (the reference)?

    python scripts/replay_fits.py data/snr0_r0.2 [--strategies top_k,random] [--seed 0]
        [--max-fraction 0.1]

Prints a Markdown table (one row per iteration) and the largest |difference|.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _main() -> int:
    from threadpoolctl import threadpool_limits

    from sedal.benchmark.al.loop import (
        DEFAULT_SCHEDULE,
        RunConfig,
        cut_schedule,
        evaluate,
        fit,
        open_run_data,
        run_al,
    )
    from sedal.sed.estimator import Detector
    from sedal.sed.model import SegmentClassifier

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("dataset")
    ap.add_argument("--strategies", default="top_k,random")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-fraction", type=float, default=0.1)
    args = ap.parse_args()
    data, sha = open_run_data(args.dataset, name="replay")
    test = np.flatnonzero(data.splits == "test")
    worst = 0.0
    print("| strategy | files | AL fit (warm) | from scratch | scikit-learn lbfgs, scratch "
          "| max abs diff |\n|---|---|---|---|---|---|")
    for strategy in args.strategies.split(","):
        cfg = RunConfig(args.dataset, sha, strategy, args.seed,
                        schedule=cut_schedule(DEFAULT_SCHEDULE, args.max_fraction))
        trace: list = []
        rows = run_al(data, cfg, trace=trace)
        for row, labelled in zip(rows, trace):
            with threadpool_limits(limits=1):
                cold = fit(data, labelled, Detector.paper(classes=list(data.classes)))
                ref = Detector.paper(classes=list(data.classes))
                fit(data, labelled, ref)
                r = data.rows(np.sort(labelled))
                ref.classifier_ = SegmentClassifier(len(data.classes),
                                                    solver="sklearn-lbfgs").fit(
                    data.X[r], data.labels[r])
                a = row["total_iou"] or 0.0
                b = evaluate(data, cold, test, costly=False)["total_iou"] or 0.0
                c = evaluate(data, ref, test, costly=False)["total_iou"] or 0.0
            d = max(abs(a - b), abs(a - c), abs(b - c))
            worst = max(worst, d)
            print(f"| {strategy} | {len(labelled)} | {a:.4f} | {b:.4f} | {c:.4f} | {d:.4f} |")
    print(f"\nlargest |difference| of test total IoU: {worst:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
