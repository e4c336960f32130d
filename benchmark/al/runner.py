"""Expanding a grid into AL runs, executing them, and keeping the results store.

Results store (``--out``, default ``results/``)::

    runs/<run_key>.json         one finished run: its config and one row per iteration
    references/<dataset>.json   fully supervised reference of each dataset
    datasets.json               dataset path -> manifest sha256 (never mixed)
    configs/<hash>.json         every resolved config that was run
    results.csv                 all rows of all finished runs (rebuilt after each run)

A run's file is written atomically when the run ends, so a killed run leaves
nothing behind and is redone cleanly; finished keys are skipped. Results do
not depend on the number of workers: each run is deterministic and uses one
BLAS thread.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sedal.benchmark.al.loop import (
    RunConfig,
)
from sedal.benchmark.al.plan import (
    RunPlan,
)
from sedal.benchmark.errors import BenchmarkError
from sedal.core.fsutil import canonical_json, sha256_bytes, write_json_atomic

# -- executing -----------------------------------------------------------------
#: Per worker process: the datasets loaded so far (compact: ~350 MB for 2500 files), at most
#: :data:`DATA_CACHE_SIZE`, so that runs can go in any order without reloading.
_DATA_CACHE: dict[tuple[str, str], object] = {}
DATA_CACHE_SIZE = 8


def _run_data(path: str, features: str, recipe: str = ""):
    from sedal.benchmark.al.loop import open_run_data

    key = (path, features, recipe)
    if key in _DATA_CACHE:
        _DATA_CACHE[key] = _DATA_CACHE.pop(key)  # most recently used last
    else:
        while len(_DATA_CACHE) >= DATA_CACHE_SIZE:
            _DATA_CACHE.pop(next(iter(_DATA_CACHE)))  # the least recently used
        _DATA_CACHE[key] = open_run_data(path, features, recipe)[0]
    return _DATA_CACHE[key]


def task_order(runs: list[RunConfig], priority: dict[str, int]) -> list[RunConfig]:
    """The order runs are handed to workers: by priority (the claims' runs first); within
    one, datasets in blocks of half the per-worker cache, seed by seed inside a block (a
    job cut short has about as many seeds of every configuration, and a worker cycling
    through a block never evicts one of its datasets)."""
    block = max(1, DATA_CACHE_SIZE // 2)
    datasets: dict[int, set[str]] = {}
    for r in runs:
        datasets.setdefault(priority.get(r.key, 0), set()).add(r.dataset)
    rank = {(p, d): i for p, ds in datasets.items() for i, d in enumerate(sorted(ds))}

    def key(r: RunConfig):
        p = priority.get(r.key, 0)
        return p, rank[(p, r.dataset)] // block, r.seed, r.dataset, r.key

    return sorted(runs, key=key)


def execute_run(cfg: RunConfig) -> dict:
    """Run one configuration (in any process) and return its record."""
    from sedal.benchmark.al.loop import run_al, test_iu_field

    data = _run_data(cfg.dataset, cfg.features, cfg.recipe)
    from sedal.benchmark.stats.prereg import STRATEGY_CLAIMS_FILE, claims_sha256

    iu: list = []
    rows = run_al(data, cfg, test_iu=iu)
    return {"key": cfg.key, "config": {"dataset": cfg.dataset, **cfg.key_dict()},
            "claims_sha256": claims_sha256(),
            "strategy_claims_sha256": claims_sha256(STRATEGY_CLAIMS_FILE),
            "test_iu": test_iu_field(data, iu),
            "reference_key": cfg.reference_key, "settings_key": cfg.settings_key,
            "dataset_info": data.describe(cfg.manifest_sha256), "rows": rows}


def execute_reference(cfg: RunConfig) -> dict:
    """The fully supervised reference of ``cfg`` (its dataset, features and detector)."""
    from sedal.benchmark.al.loop import supervised_reference

    return supervised_reference(_run_data(cfg.dataset, cfg.features, cfg.recipe), cfg)


class ResultsStore:
    """The results directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def run_path(self, key: str) -> Path:
        return self.root / "runs" / f"{key}.json"

    def done(self, key: str) -> bool:
        return self.run_path(key).exists()

    def check_datasets(self, datasets: dict[str, str]) -> None:
        """Refuse a dataset path whose build changed since earlier results."""
        from sedal.core.fsutil import exclusive_lock

        p = self.root / "datasets.json"
        with exclusive_lock(p):  # read-modify-write: two runs at once must not lose one
            known = _read_json(p, dict) if p.exists() else {}
            for path, sha in datasets.items():
                if path in known and known[path] != sha:
                    raise BenchmarkError(
                        f"dataset {path} now holds a different build (manifest sha256 "
                        f"{sha[:12]}..., results in {self.root} are for {known[path][:12]}...); "
                        "use another --out or rebuild the original dataset")
            known.update(datasets)
            write_json_atomic(p, known)

    def save_config(self, plan: RunPlan) -> Path:
        d = plan.to_dict()
        h = sha256_bytes(canonical_json(d).encode())[:16]
        p = self.root / "configs" / f"{h}.json"
        write_json_atomic(p, d)
        write_json_atomic(self.root / "config.json", d)
        return p

    def save_run(self, record: dict) -> None:
        write_json_atomic(self.run_path(record["key"]), record)

    def reference_path(self, key: str) -> Path:
        """The reference file of a :attr:`RunConfig.reference_key`."""
        return self.root / "references" / f"{key}.json"

    def records(self) -> list[dict]:
        out = []
        for p in sorted((self.root / "runs").glob("*.json")):
            rec = _read_json(p, dict)
            if not (isinstance(rec.get("key"), str) and isinstance(rec.get("rows"), list)
                    and all(isinstance(r, dict) for r in rec["rows"])):
                raise BenchmarkError(f"result file {p} is not a sedbench run record; delete it "
                                     "and run again to redo that run")
            out.append(rec)
        return out

    def reference_ok(self, key: str) -> bool:
        """Whether the reference ``key`` exists and is readable."""
        try:
            return _valid_reference(_read_json(self.reference_path(key), dict))
        except BenchmarkError:
            return False

    def references(self) -> dict[str, dict]:
        """``{reference_key: reference}`` of every study reference file."""
        return self._reference_files(ceiling=False)

    def ceilings(self) -> dict[str, dict]:
        """``{reference_key: ceiling}`` (:mod:`sedal.benchmark.al.ceiling`)."""
        return self._reference_files(ceiling=True)

    def _reference_files(self, *, ceiling: bool) -> dict[str, dict]:
        out = {}
        for p in sorted((self.root / "references").glob("*.json")):
            if p.name.startswith("ceiling-") != ceiling:
                continue
            d = _read_json(p, dict)
            if not _valid_reference(d):
                raise BenchmarkError(
                    f"ceiling file {p} is damaged; delete it and run sedbench ceiling again"
                    if ceiling else
                    f"reference file {p} is not a supervised reference of this sedal; delete "
                    "it and run again to recompute it")
            out[d["reference_key"]] = d
        return out

    def write_table(self) -> Path:
        """Rebuild ``results.csv`` from every finished run (sorted, deterministic)."""
        import csv
        import io

        from sedal.core.fsutil import write_bytes_atomic

        rows = [r for rec in self.records() for r in rec["rows"]]
        rows.sort(key=lambda r: (r["dataset"], r["label"], r["seed"], r["iteration"]))
        cols: list[str] = []
        for r in rows:
            for c in r:
                if c not in cols:
                    cols.append(c)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in cols})
        write_bytes_atomic(self.root / "results.csv", buf.getvalue().encode())
        return self.root / "results.csv"


def execute(plan: RunPlan, store: ResultsStore, *, jobs: int = 1, scheduler: str | None = None,
            progress: bool = False) -> dict:
    """Run every unfinished run of ``plan`` (and missing references); returns counts."""
    from sedal.core.progress import progress_bar

    store.check_datasets(plan.datasets)
    store.save_config(plan)
    todo = task_order([r for r in plan.runs if not store.done(r.key)], plan.priority)
    refs: dict[str, RunConfig] = {}
    for r in plan.runs:
        if r.reference_key not in refs and not store.reference_ok(r.reference_key):
            refs[r.reference_key] = r
    tasks = [("ref", r) for _, r in sorted(refs.items())] + [("run", r) for r in todo]
    bar = progress_bar(len(tasks), desc="AL runs", unit="run", enabled=progress)

    claimed: list[str] = []  # runs another process on the same results dir was doing

    def finish(kind, cfg, result):
        # outcomes come back pickled from worker processes: compare by value
        if isinstance(result, str) and result == CLAIMED:
            if kind == "run":
                claimed.append(cfg.key)
        elif not (isinstance(result, str) and result == WRITTEN):
            _write_result(store, kind, cfg, result)
        bar.update(1)

    try:
        if scheduler:  # remote workers: the parent writes (no claims across machines)
            _execute_dask(tasks, scheduler, finish)
        elif jobs <= 1:
            for kind, cfg in tasks:
                finish(kind, cfg, _claimed_task(str(store.root), kind, cfg))
        else:
            _execute_local(tasks, jobs, str(store.root), finish)
    finally:
        bar.close()
        store.write_table()
    n_claimed = len(set(claimed) & {r.key for r in todo})
    return {"ran": len(todo) - n_claimed, "skipped": len(plan.runs) - len(todo),
            "references": len(refs), "elsewhere": n_claimed}


#: Task outcomes for which the parent writes nothing: another process holds the run's
#: claim, or the worker has written the result itself.
CLAIMED, WRITTEN = "claimed elsewhere", "written"


def _write_result(store: ResultsStore, kind: str, cfg: RunConfig, result: dict) -> None:
    if kind == "ref":
        write_json_atomic(store.reference_path(cfg.reference_key), result)
    else:
        store.save_run(result)


def _claimed_task(root: str, kind: str, cfg: RunConfig):
    """Do one task under its claim: a non-blocking lock on its result file. A task that
    another ``sedbench run`` on the same results dir holds, or has finished since this one
    looked, is left to it (:data:`CLAIMED`); else the result is computed and written
    before the claim is released (:data:`WRITTEN`)."""
    from filelock import FileLock, Timeout

    from sedal.core.fsutil import lock_path

    store = ResultsStore(root)
    path = store.reference_path(cfg.reference_key) if kind == "ref" else store.run_path(cfg.key)
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock), timeout=0):
            done = (store.reference_ok(cfg.reference_key) if kind == "ref"
                    else store.done(cfg.key))
            if done:
                return CLAIMED  # finished by another process since this one looked
            _write_result(store, kind, cfg, _task(kind, cfg))
            return WRITTEN
    except Timeout:
        return CLAIMED


def _read_json(path: Path, kind: type):
    """Parse a JSON file of the results store; anything unreadable is a one-line error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise BenchmarkError(f"{path} is corrupt ({type(exc).__name__}); delete it and run "
                             "again") from None
    if not isinstance(data, kind):
        raise BenchmarkError(f"{path} is corrupt (not a JSON {kind.__name__}); delete it and "
                             "run again")
    return data


def _valid_reference(d: dict) -> bool:
    return (isinstance(d.get("reference_key"), str)
            and isinstance(d.get("total_iou"), int | float))


def _task(kind: str, cfg: RunConfig) -> dict:
    return execute_reference(cfg) if kind == "ref" else execute_run(cfg)


def _task_tagged(i: int, kind: str, cfg: RunConfig, root: str | None = None):
    """``(i, result)``; with ``root`` (a local results dir) under the task's claim."""
    from sedal.core.procutil import die_with_parent

    die_with_parent(pdeathsig=False)  # loky/Dask may start workers from helper threads
    return i, (_task(kind, cfg) if root is None else _claimed_task(root, kind, cfg))


def _execute_local(tasks, jobs: int, root: str, finish) -> None:
    """Run ``tasks`` in ``jobs`` worker processes that live as long as the command, so that
    each keeps its :data:`_DATA_CACHE` (a compact dataset is ~0.5 GB). Not joblib's loky:
    it restarts a worker whose memory grew by more than 300 MB after a task, which threw
    the cache away and reloaded a dataset for most runs (measured 2026-12-06: workers
    renumbered past 70 within an hour of the main job)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=jobs,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(_task_tagged, i, kind, cfg, root)
                   for i, (kind, cfg) in enumerate(tasks)]
        for fut in as_completed(futures):
            i, res = fut.result()
            finish(*tasks[i], res)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute_dask(tasks, address: str, finish) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise BenchmarkError("--scheduler needs dask[distributed]") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise BenchmarkError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = {client.submit(_task_tagged, i, kind, cfg, pure=False): i
                   for i, (kind, cfg) in enumerate(tasks)}
        for fut in as_completed(futures):
            i, res = fut.result()
            finish(*tasks[i], res)
    finally:
        client.close()
