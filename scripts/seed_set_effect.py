"""How much a stratified seed set (one file of every event class first) changes each
strategy's low-budget AULC, against the study's uniform seed set on the same realisations.

    python scripts/seed_set_effect.py RESULTS_MAIN RESULTS_STRATIFIED

Pairs (realisation, strategy, AL seed) of the two results dirs, takes each realisation's mean
over seeds of AULC(stratified) - AULC(uniform) (0.5-10 %, log axis: the claims' low budget)
and prints a Markdown table: the mean over realisations with a 95 % t interval (df = n - 1).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import numpy as np

    from sedal.benchmark.al.runner import ResultsStore
    from sedal.benchmark.errors import BenchmarkError
    from sedal.benchmark.stats.claims import t_ci
    from sedal.benchmark.stats.figures import MAIN
    from sedal.benchmark.stats.results import LOW_BUDGET, Results

    if len(argv) != 2:
        print("usage: python scripts/seed_set_effect.py RESULTS_MAIN RESULTS_STRATIFIED",
              file=sys.stderr)
        return 2
    try:
        main_res, strat = (Results(ResultsStore(a)) for a in argv)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    by_id = {g.info["manifest_sha256"]: g for g in main_res.groups
             if "top_k(K=10)" in g.curves}
    print("| strategy | realisations | AULC uniform | AULC stratified | stratified − uniform "
          "[95 % CI] |\n|---|---|---|---|---|")
    for label in MAIN:
        diffs, a_all, b_all = [], [], []
        for g in strat.groups:
            base = by_id.get(g.info["manifest_sha256"])
            if base is None or label not in g.curves or label not in base.curves:
                continue
            seeds = sorted(set(g.curves[label]) & set(base.curves[label]))
            a = [base.per_seed(label, *LOW_BUDGET)[s] for s in seeds]
            b = [g.per_seed(label, *LOW_BUDGET)[s] for s in seeds]
            a_all.append(np.mean(a))
            b_all.append(np.mean(b))
            diffs.append(np.mean(b) - np.mean(a))
        n = len(diffs)
        if n == 0:
            continue
        d = np.array(diffs)
        ci = ""
        if n > 1:
            lo, hi = t_ci(d)
            ci = f" [{lo:+.3f}, {hi:+.3f}]"
        print(f"| {label} | {n} | {np.mean(a_all):.3f} | {np.mean(b_all):.3f} | "
              f"{d.mean():+.3f}{ci} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
