"""Profile one AL classifier fit: where the time of ``sedbench run`` goes (issue 12).

Fits the run's detector (warm start off, one BLAS thread, as the AL workers do) on
``--files`` random training files of an embedded dataset and prints the fit time, the lbfgs
iterations and the functions that took the time.

    python scripts/profile_al_fit.py data/snr0_r0.2 [--files 400] [--seed 0]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

import numpy as np


def _main() -> int:
    from threadpoolctl import threadpool_limits

    from sedal.benchmark.al.loop import RunConfig, fit, new_detector, open_run_data

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("dataset")
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data, sha = open_run_data(args.dataset, name="profile")
    train = np.flatnonzero(data.splits == "train")
    files = np.sort(np.random.default_rng(args.seed).choice(
        train, min(args.files, len(train)), replace=False))
    cfg = RunConfig(str(args.dataset), sha, "random", 0)
    rows = int(sum(data.offsets[f + 1] - data.offsets[f] for f in files))
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        clf = fit(data, files, new_detector(data, cfg))
        print(f"fit on {len(files)} files ({rows} segments x {data.X.shape[1]} active columns): "
              f"{time.perf_counter() - t0:.1f} s, {clf.n_iter_} lbfgs iterations")
        prof = cProfile.Profile()
        prof.runcall(fit, data, files, new_detector(data, cfg))
    pstats.Stats(prof).sort_stats("tottime").print_stats(8)
    return 0


def main() -> int:
    """Bad input (no dataset, no features) is one line on stderr and exit 2."""
    from sedal.core.cli import run_main

    return run_main(_main)


if __name__ == "__main__":
    sys.exit(main())
