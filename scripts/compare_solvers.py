"""Compare the classifier's solvers on an embedded dataset (issue 12).

Fits the detector with the whitened L-BFGS solver (the default) and with scikit-learn's
lbfgs (the reference) on growing random sets of training files, each fit warm-started from
the previous one of the same solver as in AL, on one BLAS thread, and prints fit seconds,
iterations and how far apart the two models' probabilities are on the training rows.

    python scripts/compare_solvers.py data/snr0_r0.2 [--files 20,100,400,1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _main() -> int:
    from threadpoolctl import threadpool_limits

    from sedal.benchmark.al.loop import open_run_data
    from sedal.sed.model import SegmentClassifier

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("dataset")
    ap.add_argument("--files", default="20,40,100,200,400,600,1000",
                    help="comma-separated numbers of training files (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        sizes = [int(x) for x in args.files.split(",")]
    except ValueError:
        raise ValueError("--files must be comma-separated integers") from None
    data, _ = open_run_data(args.dataset, name="compare")
    train = np.flatnonzero(data.splits == "train")
    order = np.random.default_rng(args.seed).permutation(train)
    solvers = ("whitened-lbfgs", "sklearn-lbfgs")
    prev: dict[str, SegmentClassifier] = {}
    print("files  segments  " + "  ".join(f"{s:>22s}" for s in solvers)
          + "  max|dP|  argmax agree")
    with threadpool_limits(limits=1):
        for n in sizes:
            rows = data.rows(np.sort(order[:n]))
            X, y = data.X[rows], data.labels[rows]
            cells, probs = [], []
            for s in solvers:
                t0 = time.perf_counter()
                clf = SegmentClassifier(len(data.classes), solver=s).fit(
                    X, y, warm_start_from=prev.get(s))
                cells.append(f"{time.perf_counter() - t0:6.1f} s {clf.n_iter_:5d} iter")
                prev[s] = clf
                probs.append(clf.predict_proba(X))
            a, b = probs
            print(f"{n:5d}  {len(y):8d}  " + "  ".join(f"{c:>22s}" for c in cells)
                  + f"  {np.abs(a - b).max():7.1e}  {(a.argmax(1) == b.argmax(1)).mean():.5f}")
    return 0


def main() -> int:
    """Bad input (no dataset, no features) is one line on stderr and exit 2."""
    from sedal.core.cli import run_main

    return run_main(_main)


if __name__ == "__main__":
    sys.exit(main())
