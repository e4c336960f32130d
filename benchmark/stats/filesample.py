"""The claims' AULC contrasts with the test files resampled too: a hierarchical bootstrap
(library -> realisation -> AL seed -> test file; :func:`sedal.benchmark.stats.hierarchy.
file_bootstrap`) beside the mixed model, for runs whose records hold their per-test-file
intersections and unions (runs made before 2026-12-06 do not)."""

from __future__ import annotations

import math

import numpy as np

from sedal.benchmark.stats import family as F
from sedal.benchmark.stats.hierarchy import file_bootstrap
from sedal.benchmark.stats.results import Group

#: (claim, contrast A − B) of the single-contrast AULC claims.
CONTRASTS = (("b", F.TOP10, F.RANDOM), ("c", F.TOP10, F.MEAN), ("d", F.MEAN, F.MEDIAN),
             ("e", F.MEDIAN, F.RANDOM), ("f", F.RANDOM, F.MEAN_EVENT))


def units(groups: list[Group], a: str, b: str, hi: float = 1.0
          ) -> tuple[list[dict], np.ndarray | None]:
    """The bootstrap's units (one per realisation with both labels and their test_iu) on the
    budgets up to ``hi`` (so that realisations run to other budgets share one grid), and
    that grid; ``([], None)`` when a run lacks its test_iu or the grids differ up to ``hi``.

    Raises
    ------
    BenchmarkError
        A damaged test_iu field, or paired runs of a realisation scored on other test files.
    """
    from sedal.benchmark.al.metrics import decode_test_iu
    from sedal.benchmark.errors import BenchmarkError

    out, grid = [], None
    for g in groups:
        if a not in g.curves or b not in g.curves:
            continue
        seeds = sorted(set(g.curves[a]) & set(g.curves[b]))
        if not seeds or any(s not in g.test_iu.get(lab, {}) for lab in (a, b) for s in seeds):
            return [], None
        u = {"library": g.info.get("library", ""), "a": {}, "b": {}}
        files = {g.test_iu[lab][s].get("test_files_sha256") for lab in (a, b) for s in seeds}
        if len(files) > 1:
            raise BenchmarkError(f"{g.name}: runs of {a} and {b} were scored on different "
                                 "test files; they cannot be resampled together")
        for key, lab in (("a", a), ("b", b)):
            for s in seeds:
                f = g.curves[lab][s][0]
                keep = int(np.sum(f <= hi + 1e-9))
                try:
                    iu = decode_test_iu(g.test_iu[lab][s])
                except ValueError as exc:
                    raise BenchmarkError(f"{g.name}, {lab} seed {s}: {exc}") from None
                if grid is None:
                    grid = f[:keep]
                if keep != len(grid) or iu.shape[0] < keep or not np.allclose(f[:keep], grid):
                    return [], None
                u[key][s] = iu[:keep].astype(float)
        out.append(u)
    return out, grid


def table(groups: list[Group], low_budget: tuple[float, float], found: list) -> list[str]:
    """Markdown: per single-contrast claim, the mixed model's interval and the hierarchical
    bootstrap's (empty when the runs lack per-test-file counts)."""
    by = {r.id: r for r in found}
    lines = []
    for cid, a, b in CONTRASTS:
        us, grid = units(groups, a, b, low_budget[1])
        if len(us) < 2:
            continue
        est, (lo, hi) = file_bootstrap(us, grid, low_budget)
        head = by.get(cid)
        part = None if head is None else next((p for p in head.parts if "AULC" in p.name
                                               or len(head.parts) == 1), None)
        mm = "n/a" if part is None or not math.isfinite(part.effect) else (
            f"{part.effect:+.3f} [{part.ci[0]:+.3f}, {part.ci[1]:+.3f}]")
        lines.append(f"| ({cid}) {a} − {b} | {len(us)} | {mm} | {est:+.3f} "
                     f"[{lo:+.3f}, {hi:+.3f}] |")
    if not lines:
        return []
    return ["### The test files resampled too", "",
            "The AULC contrasts with a hierarchical bootstrap that resamples library → "
            "realisation → AL seed → test file (2000 resamples, percentile interval; one "
            "test-file resample per realisation, shared by both strategies and every seed), "
            "beside the mixed model's interval (realisations and seeds only).", "",
            "| contrast | realisations | mixed model [95 % CI] | + test files [95 % CI] |",
            "|---|---|---|---|", *lines, ""]
