"""The main job end to end, from nothing at the quick-look size.

The full grid (``sedbench run --all --jobs 2 && sedbench report results``, 8 datasets of 2500
files, 195 AL runs) takes ~52 min here and is measured with ``/usr/bin/time`` (README,
performance table). This benchmark times the same code path — library synthesis, dataset
builds, embedding, AL runs with references, report — on the README's quick look
(``--n-files 300 --seeds 0-1 --long-seeds 0-1 --dataset-seeds 0 --max-fraction 0.2``) in an
empty folder with an empty cache (only the YAMNet weights copied in), so that a change that
slows any stage shows up in ``tox -e perf``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

QUICK_LOOK = ["--n-files", "300", "--seeds", "0-1", "--long-seeds", "0-1",
              "--dataset-seeds", "0", "--max-fraction", "0.2", "--jobs", "2"]


def test_main_job_quick_look_from_nothing(benchmark, yamnet_model, tmp_path, monkeypatch):
    from sedal.benchmark.cli import main

    weights = Path(os.environ["SEDAL_CACHE"]) / "yamnet"

    def setup():  # one round: an empty folder and cache
        work = tmp_path / "work"
        (work / "cache").mkdir(parents=True)
        shutil.copytree(weights, work / "cache" / "yamnet")
        monkeypatch.setenv("SEDAL_CACHE", str(work / "cache"))
        monkeypatch.chdir(work)
        return (), {}

    def job():
        assert main(["run", "--all", *QUICK_LOOK]) == 0
        assert main(["report", "results"]) == 0

    benchmark.pedantic(job, setup=setup, rounds=1, iterations=1)
    runs = list(Path("results/runs").glob("*.json"))
    fits = [row for r in runs for row in json.loads(r.read_text())["rows"]]
    benchmark.extra_info.update({"al_runs": len(runs), "fits": len(fits),
                                 "fits_converged": sum(bool(f["converged"]) for f in fits)})
    assert runs and all(f["converged"] for f in fits)
    assert Path("results/report/report.md").is_file()
