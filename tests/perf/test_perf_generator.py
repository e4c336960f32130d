"""Generator throughput (pytest-benchmark; run with ``tox -e perf``).

Goal: ``--jobs 2`` renders >= 60 files/s (10 s, 16 kHz, 1-3 events, r=0.2).
The measured rate is stored in the benchmark's ``extra_info``.
"""

import shutil

import pytest

from sedal.generator.dataset import make_dataset
from sedal.generator.spec import DatasetSpec

N = 1000


@pytest.mark.parametrize("builtin", ["clean", "field"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_make_throughput(benchmark, tmp_path, jobs, builtin):
    # builds the cached library first
    make_dataset(DatasetSpec(n_files=20), tmp_path / "warm", builtin=builtin)
    counter = {"i": 0}

    def setup():
        counter["i"] += 1
        out = tmp_path / f"run{counter['i']}"
        shutil.rmtree(out, ignore_errors=True)
        return (out,), {}

    def run(out):
        make_dataset(DatasetSpec(n_files=N, event_ratio=0.2, seed=1), out, jobs=jobs,
                     builtin=builtin)
        return out

    out = benchmark.pedantic(run, setup=setup, rounds=2, iterations=1)
    benchmark.extra_info["files_per_second"] = N / benchmark.stats.stats.mean
    # what was timed is a whole, valid dataset (the same bytes whatever the jobs)
    from sedal.generator.regenerate import verify_dataset

    assert len(list((out / "audio").rglob("*.wav"))) == N and verify_dataset(out) == []
