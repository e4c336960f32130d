"""sedbench run / report end to end on a 300-file dataset."""

import csv
import json
import shutil

import pytest

from sedal.benchmark.al import runner
from sedal.benchmark.al.loop import DEFAULT_SCHEDULE, schedule_counts
from sedal.benchmark.cli import main

TIMING = {"fit_seconds", "solver_iterations"}


def _rows(results_dir):
    with open(results_dir / "results.csv") as fh:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]


def _run(ds, out, *extra):
    return main(["run", str(ds), "--seeds", "0-1", "--max-fraction", "0.2",
                 "--out", str(out), "--no-progress", *extra])


@pytest.fixture(scope="session")
def results_1(al_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "r1"
    assert _run(al_dataset, out, "--strategy", "top_k", "--k", "10") == 0
    assert _run(al_dataset, out, "--strategy", "random") == 0
    return out


def test_rows_for_every_iteration_and_report(results_1, capsys):
    rows = _rows(results_1)
    n_iter = len(schedule_counts([f for f in DEFAULT_SCHEDULE if f <= 0.2], 240))
    assert len(rows) == 2 * 2 * n_iter
    for r in rows:
        for key in ("dataset_id", "strategy", "seed", "iteration", "n_labelled", "fraction",
                    "labelled_seconds", "labelled_event_fraction", "total_iou", "iou_dog",
                    "event_f1", "event_f1_dog", "labelled_events", "labelled_events_dog",
                    "labelled_event_seconds", "cold_start", "seed_event_files",
                    "seed_classes"):
            assert r[key] != ""
    # the costly metrics at their budgets and the last iteration, the stopping signal after
    # the first
    last = max(int(r["iteration"]) for r in rows)
    for r in rows:
        if int(r["iteration"]) == last:
            assert r["psds1"] != "" and r["psds2"] != "" and r["segment_f1"] != ""
        assert (r["stop_kappa"] == "") == (r["iteration"] == "0")
    # every strategy starts from the same seed set for a given seed
    first = {(r["strategy"], r["seed"]): r["total_iou"] for r in rows if r["iteration"] == "0"}
    assert first[("top_k", "0")] == first[("random", "0")]
    assert main(["report", str(results_1)]) == 0
    rep = results_1 / "report"
    assert (rep / "report.md").exists() and (rep / "report.html").exists()
    assert list(rep.glob("*.png"))
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64," in html and "<table>" in html
    md = (rep / "report.md").read_text()
    assert "top_k(K=10)" in md and "random" in md and "Fully supervised total IoU" in md
    assert md.index("## Verdicts") < md.index("## Per dataset")
    doc = json.loads((rep / "claims.json").read_text())
    assert {c["id"] for c in doc["claims"]} == set("abcdefghij")
    fields = {"id", "text", "world", "cell", "verdict", "effect", "ci", "p", "p_adj", "test",
              "confirming_test", "confirming_verdict", "confirming_p", "sesoi",
              "n_realisations", "n_seeds", "power_at_sesoi", "needed_realisations",
              "underpowered", "claims_sha256"}
    for c in doc["claims"]:
        assert fields <= set(c)
        # one dataset realisation decides nothing
        assert c["verdict"] == "INCONCLUSIVE" and c["underpowered"]
    # the same results give the same report bytes, figures included
    assert main(["report", str(results_1), "--out", str(results_1 / "again"), "-q"]) == 0
    for f in sorted(rep.iterdir()):
        assert (results_1 / "again" / f.name).read_bytes() == f.read_bytes(), f.name
    # every run records the per-test-file counts of each iteration (summing to its IoU)
    from sedal.benchmark.al.metrics import decode_test_iu

    rec = json.loads(next((results_1 / "runs").glob("*.json")).read_text())
    iu = decode_test_iu(rec["test_iu"])
    assert iu.shape[0] == len(rec["rows"]) and iu.shape[-1] == 2
    for r, a in zip(sorted(rec["rows"], key=lambda r: r["iteration"]), iu):
        u = a[..., 1].sum()
        assert (r["total_iou"] is None) == (u == 0)
        if u:
            assert a[..., 0].sum() / u == pytest.approx(r["total_iou"], abs=1e-12)


def test_finished_runs_are_skipped(results_1, al_dataset, capsys, monkeypatch):
    monkeypatch.setattr(runner, "execute_run", lambda cfg: pytest.fail("re-ran a finished run"))
    assert _run(al_dataset, results_1, "--strategy", "random") == 0
    assert "0 run(s) done, 2 already finished" in capsys.readouterr().out


def test_jobs_2_equals_jobs_1(results_1, al_dataset, tmp_path):
    out = tmp_path / "r2"
    assert _run(al_dataset, out, "--strategy", "top_k", "--k", "10", "--jobs", "2") == 0
    assert _run(al_dataset, out, "--strategy", "random", "--jobs", "2") == 0
    assert _rows(out) == _rows(results_1)


def test_dask_local_cluster_equals_local(results_1, al_dataset, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "rd"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://127.0.0.1:")
        assert _run(al_dataset, out, "--strategy", "top_k", "--scheduler", addr) == 0
        assert _run(al_dataset, out, "--strategy", "random", "--scheduler", addr) == 0
    assert _rows(out) == _rows(results_1)


def test_killed_run_restarts_to_the_same_results(results_1, al_dataset, tmp_path, monkeypatch):
    out = tmp_path / "rk"
    real = runner.execute_run
    calls = {"n": 0}

    def dies(cfg):
        calls["n"] += 1
        if calls["n"] == 2:
            # a write was cut short: a stray temporary file, and no result for this run
            (out / "runs").mkdir(parents=True, exist_ok=True)
            (out / "runs" / f".{cfg.key}.json.partial.tmp").write_text("{\"rows\": [")
            raise KeyboardInterrupt
        return real(cfg)

    monkeypatch.setattr(runner, "execute_run", dies)
    assert _run(al_dataset, out, "--strategy", "top_k") == 130
    assert len(list((out / "runs").glob("*.json"))) == 1
    monkeypatch.setattr(runner, "execute_run", real)
    assert _run(al_dataset, out, "--strategy", "top_k") == 0
    assert _run(al_dataset, out, "--strategy", "random") == 0
    assert _rows(out) == _rows(results_1)


def test_config_toml_and_saved_config(al_dataset, tmp_path):
    # dataset paths in a config are relative to its folder (and must stay inside it)
    cfg = al_dataset.parent / "grid.toml"
    cfg.write_text(f'seeds = "0"\nmax_fraction = 0.03\n[[experiment]]\n'
                   f'dataset = "{al_dataset.name}"\nstrategies = ["mean", "top_k"]\nk = [3]\n'
                   f'diversify = ["none", "farthest"]\n')
    out = tmp_path / "rc"
    assert main(["run", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    rows = _rows(out)
    labels = {r["label"] for r in rows}
    assert labels == {"mean", "mean+farthest", "top_k(K=3)", "top_k(K=3)+farthest"}
    saved = json.loads((out / "config.json").read_text())
    assert len(saved["runs"]) == 4 and saved["settings"]["seeds"] == [0]


def test_changed_dataset_build_is_refused(results_1, al_dataset, tmp_path, capsys):
    out = tmp_path / "rx"
    shutil.copytree(results_1, out)
    known = json.loads((out / "datasets.json").read_text())
    known[next(iter(known))] = "0" * 64
    (out / "datasets.json").write_text(json.dumps(known))
    assert _run(al_dataset, out, "--strategy", "random") == 2
    assert "now holds a different build" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "best"], "invalid choice: 'best'"),
    (["--strategy", "top_k", "--k", "0"], "K must be >= 1"),
    (["--schedule", "0.1,0.05"], "strictly increasing"),
    (["--schedule", "0.5,1.5"], "in (0, 1]"),
    (["--seeds", "x"], "bad seeds"),
])
def test_bad_run_input(al_dataset, tmp_path, capsys, argv, message):
    assert main(["run", str(al_dataset), "--out", str(tmp_path / "o"),
                 "--no-progress", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_dataset_without_embeddings_or_weights(small_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("SEDAL_OFFLINE", "1")
    copy = tmp_path / "X"
    shutil.copytree(small_dataset, copy, ignore=shutil.ignore_patterns("features"))
    assert main(["run", str(copy), "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 2
    assert "has no embeddings and they cannot be built" in capsys.readouterr().err


def test_report_on_empty_results(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no finished runs" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "not a results dir" in capsys.readouterr().err


def test_compare_results(results_1, capsys, tmp_path):
    assert main(["compare", str(results_1), str(results_1)]) == 0
    out = capsys.readouterr().out
    assert "top_k(K=10)" in out and "0.0000" in out
    (tmp_path / "runs").mkdir()
    assert main(["compare", str(results_1), str(tmp_path)]) == 2


def test_solver_settings_do_not_change_random_choices(al_dataset):
    from sedal.benchmark.al.loop import RunConfig
    from sedal.sed.detector import DetectorSpec
    from sedal.sed.evaluate import DetectorSettings

    a = RunConfig(str(al_dataset), "0" * 64, "random", 0)
    b = RunConfig(str(al_dataset), "0" * 64, "random", 0, warm_start=False,
                  detector=DetectorSpec(settings=DetectorSettings(tol=1e-3)))
    c = RunConfig(str(al_dataset), "0" * 64, "random", 0, schedule=DEFAULT_SCHEDULE[:5])
    assert a.key != b.key != c.key and a.query_key == b.query_key == c.query_key
    assert a.settings_key != b.settings_key and a.reference_key == c.reference_key


def test_two_runs_on_one_results_dir_do_each_run_once(al_dataset, tmp_path):
    """Two ``sedbench run`` started together on the same --out share the work: each run is
    computed by one of them (claims), whatever the interleaving."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "r"
    args = [sys.executable, "-m", "sedal.benchmark.cli", "run", str(al_dataset), "--seeds",
            "0-5", "--strategy", "random", "--max-fraction", "0.02", "--out", str(out), "-q"]
    env = dict(os.environ, PYTHONPATH=str(root))
    procs = [subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    ran = 0
    for p, (so, se) in zip(procs, outs):
        assert p.returncode == 0, se[-2000:]
        ran += int(re.search(r"(\d+) run\(s\) done", so).group(1))
    assert ran == 6  # six seeds, each computed exactly once
    assert len(list((out / "runs").glob("*.json"))) == 6
