"""Deterministic crashes: a command ended abruptly at its N-th atomic rename, then run again,
ends with the same bytes as an uninterrupted run, and leaves no half-written file.

The fault point is the test-only hook of :func:`sedal.core.fsutil.atomic_path`
(``SEDAL_FAULT_AT=N:COUNTER``): the process calls ``os._exit`` after a temporary file is
written and before it is renamed, as a kill -9 or a power cut would leave it. For each command
the uninterrupted run counts its renames R, and the crash is put at renames 1, 2, R/2 and R.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sedal.core.fsutil import FAULT_ENV, FAULT_EXIT

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], tmp: Path, fault: int | None = None) -> tuple[int, int]:
    """(exit code, renames counted) of ``cmd`` with the fault at rename ``fault``."""
    counter = tmp / f"counter-{os.getpid()}-{len(list(tmp.glob('counter-*')))}"
    env = {**os.environ, "SEDAL_DEBUG": "", "PYTHONHASHSEED": "0",
           FAULT_ENV: f"{fault if fault is not None else 10**9}:{counter}"}
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, int(counter.read_text()) if counter.exists() else 0


#: What a rerun may change: the wall-clock seconds of a fit (results tables and records).
TIMING = "fit_seconds"


def _untimed(p: Path) -> bytes:
    """A file's bytes, without :data:`TIMING` fields in JSON and CSV files."""
    import csv
    import io
    import json

    raw = p.read_bytes()
    if p.suffix == ".csv" and TIMING.encode() in raw:
        rows = list(csv.reader(io.StringIO(raw.decode())))
        i = rows[0].index(TIMING)
        return "\n".join(",".join(r[:i] + r[i + 1:]) for r in rows).encode()
    if p.suffix == ".json" and TIMING.encode() in raw:
        def drop(o):
            if isinstance(o, dict):
                return {k: drop(v) for k, v in o.items() if k != TIMING}
            return [drop(v) for v in o] if isinstance(o, list) else o
        try:
            return json.dumps(drop(json.loads(raw)), sort_keys=True).encode()
        except ValueError:
            return raw
    return raw


def _tree(root: Path, skip=()) -> dict[str, str]:
    """sha256 of every file below ``root`` (fit times left out) but temporary files and
    ``skip`` (parts of names)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not p.name.endswith(".tmp") and not any(s in rel for s in skip):
            out[rel] = hashlib.sha256(_untimed(p)).hexdigest()
    return out


def _whole_json(p: Path) -> bool:
    import json

    try:
        return p.suffix == ".json" and isinstance(json.loads(p.read_text()), dict)
    except ValueError:
        return False


def _crash_then_resume(cmd_for, tmp: Path, out_of, skip=()) -> None:
    # a first run fills the machine-wide caches (weights, built-in library), whose renames
    # would otherwise be counted once only
    assert _run(cmd_for(tmp / "warm"), tmp)[0] == 0
    ref_dir = tmp / "ref"
    code, renames = _run(cmd_for(ref_dir), tmp)
    assert code == 0 and renames >= 2
    want = _tree(out_of(ref_dir), skip)
    for n in sorted({1, 2, renames // 2, renames}):
        d = tmp / f"crash{n}"
        cmd = cmd_for(d)
        before = _tree(out_of(d), skip) if out_of(d).exists() else {}
        code, _ = _run(cmd, tmp, fault=n)
        assert code == FAULT_EXIT, f"the fault at rename {n} of {renames} did not fire"
        half = _tree(out_of(d), skip)
        # a file that differs from its final bytes may only be a whole earlier state (its
        # bytes before the run, or a progress or meta JSON rewritten later), never a
        # half-written file
        wrong = {f for f, h in half.items() if f in want and h != want[f]
                 and h != before.get(f) and not _whole_json(out_of(d) / f)}
        assert not wrong, f"after a crash at rename {n}: files that differ: {sorted(wrong)}"
        code, _ = _run(cmd_for(d), tmp)
        assert code == 0, f"the rerun after a crash at rename {n} failed"
        assert _tree(out_of(d), skip) == want, f"the rerun after rename {n} differs"


def test_make_killed_at_any_rename_resumes_to_identical_bytes(tmp_path):
    def cmd(out):
        return [sys.executable, "-m", "sedal.generator.cli", "make", "--n-files", "12",
                "--snr", "0", "--ratio", "0.5", "--seed", "5", "--jobs", "1", "--out",
                str(out), "--no-progress"]

    _crash_then_resume(cmd, tmp_path, lambda d: d, skip=(".sedgen/",))


def test_run_killed_at_any_rename_resumes_to_identical_results(al_dataset, tmp_path):
    def cmd(out):
        return [sys.executable, "-m", "sedal.benchmark.cli", "run", str(al_dataset),
                "--strategy", "top_k", "--seeds", "0,1", "--max-fraction", "0.03",
                "--jobs", "1", "--out", str(out), "-q"]

    _crash_then_resume(cmd, tmp_path, lambda d: d)


def test_embed_killed_at_any_rename_resumes_to_identical_store(tiny_dataset, tmp_path):
    import shutil

    def cmd(out):
        if not out.exists():
            shutil.copytree(tiny_dataset, out, ignore=shutil.ignore_patterns("features"))
        return [sys.executable, "-m", "sedal.benchmark.cli", "embed", str(out), "-q"]

    _crash_then_resume(cmd, tmp_path, lambda d: d / "features", skip=("progress.json",))


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """24 recordings of a built-in dataset, Raven tables for the first 10."""
    import shutil

    from sedal.generator.dataset import make_dataset
    from sedal.generator.manifest import read_manifest
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.events_io import to_raven

    root = tmp_path_factory.mktemp("detect")
    make_dataset(DatasetSpec(n_files=24, event_ratio=0.75, seed=21), root / "ds")
    doc = read_manifest(root / "ds" / "manifest.json")
    for i, f in enumerate(doc.files):
        shutil.copy(root / "ds" / f.audio, (root / "audio").mkdir(exist_ok=True) or
                    root / "audio" / f"{f.id}.wav")
        if i < 10:
            (root / "labels").mkdir(exist_ok=True)
            (root / "labels" / f"{f.id}.Table.1.selections.txt").write_text(to_raven(
                [(round(e.event_time, 6), round(e.event_time + e.event_duration, 6), e.label)
                 for e in f.events]))
    return root


def test_detect_killed_at_any_rename_resumes_to_identical_tables(labelled_folder, tmp_path):
    def cmd(d):  # each run its own embedding cache, so a crash can land in it too
        return [sys.executable, "-m", "sedal.benchmark.cli", "detect",
                str(labelled_folder / "audio"), "--labels", str(labelled_folder / "labels"),
                "--detector", "paper", "--cache", str(d / "cache"), "--out", str(d / "out"),
                "-q"]

    _crash_then_resume(cmd, tmp_path, lambda d: d / "out")


#: A labelling session that saves (draft first, then the table) recordings 10-15, which have
#: no labels yet, and relabels recording 0 (whose Raven table it replaces).
ANNOTATE_SAVES = r"""
import sys
from pathlib import Path
from sedal.benchmark.practice.annotate import AnnotationSession
from sedal.sed.detector import PRESETS
root = Path(sys.argv[1])
s = AnnotationSession(root / "audio", root / "labels", classes=["baby", "dog", "meerkat"],
                      detector=PRESETS["paper"], cache_root=root / "cache")
rels = sorted(s.recordings)
for i, rel in enumerate([rels[0]] + rels[10:16]):
    evs = [{"onset": 0.5 + i / 10, "offset": 1.5 + i / 10, "label": ["baby", "dog"][i % 2]}]
    s.save_draft(rel, evs)
    s.save(rel, evs)
"""


def test_annotate_save_killed_at_any_rename_resumes_to_identical_labels(labelled_folder,
                                                                         tmp_path):
    import shutil

    def cmd(d):
        if not d.exists():
            d.mkdir()
            for sub in ("audio", "labels"):
                shutil.copytree(labelled_folder / sub, d / sub)
        return [sys.executable, "-c", ANNOTATE_SAVES, str(d)]

    _crash_then_resume(cmd, tmp_path, lambda d: d / "labels")
