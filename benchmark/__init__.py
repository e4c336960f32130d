"""The active-learning benchmark (strategies, loop, runner, statistics, reports) and the
practitioner tools (query, detect, annotate)."""

from __future__ import annotations

from sedal.core.lazy import lazy_api

#: Public name -> the module that defines it.
_API = {
    "RunConfig": "sedal.benchmark.al.loop",
    "run_al": "sedal.benchmark.al.loop",
    "load_run_data": "sedal.benchmark.al.loop",
    "supervised_reference": "sedal.benchmark.al.loop",
    "STRATEGIES": "sedal.benchmark.al.aggregation",
    "file_scores": "sedal.benchmark.al.aggregation",
    "run_query": "sedal.benchmark.practice.query",
    "run_detect": "sedal.benchmark.practice.detect",
}
__all__ = sorted(_API)

__getattr__, __dir__ = lazy_api(__name__, _API)
