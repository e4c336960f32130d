"""The active-learning benchmark (strategies, loop, runner, statistics, reports) and the
practitioner tools (query, detect, annotate)."""

from __future__ import annotations

from sedal.core.lazy import lazy_api

#: Public name -> the module that defines it.
_API = {
    "RunConfig": "sedal.benchmark.loop",
    "run_al": "sedal.benchmark.loop",
    "load_run_data": "sedal.benchmark.loop",
    "supervised_reference": "sedal.benchmark.loop",
    "STRATEGIES": "sedal.benchmark.aggregation",
    "file_scores": "sedal.benchmark.aggregation",
    "run_query": "sedal.benchmark.query",
    "run_detect": "sedal.benchmark.detect",
}
__all__ = sorted(_API)

__getattr__, __dir__ = lazy_api(__name__, _API)
