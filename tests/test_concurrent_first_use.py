"""Any number of first uses of an empty cache at once succeed and share one result."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import sys
from sedal.generator.dataset import make_dataset
from sedal.generator.spec import DatasetSpec
out = sys.argv[1]
make_dataset(DatasetSpec(n_files=10, event_ratio=0.5, seed=1), out, builtin="clean")
from sedal.generator.builtin import builtin_library
print(builtin_library(0, library="clean"))
"""


def _start(args, cache: Path):
    env = dict(os.environ, SEDAL_CACHE=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", _CHILD, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_first_uses_of_an_empty_cache_all_succeed(tmp_path):
    cache = tmp_path / "cache"
    # two write their own dataset, two (one of them also above) write the same one
    procs = [_start([str(tmp_path / "a")], cache), _start([str(tmp_path / "b")], cache),
             _start([str(tmp_path / "b")], cache)]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    libs = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(libs) == 1
    lib = Path(libs.pop())
    assert (lib / "README.txt").is_file()
    # one library, no leftover temporary build folders, no lock files beside it
    assert [p.name for p in lib.parent.iterdir()] == [lib.name]
    assert len(list(lib.rglob("*.wav"))) > 0
    from sedal.generator.regenerate import verify_dataset

    assert verify_dataset(tmp_path / "a") == []
    assert verify_dataset(tmp_path / "b") == []
    a = sorted(p.read_bytes() for p in (tmp_path / "a" / "audio").rglob("*.wav"))
    b = sorted(p.read_bytes() for p in (tmp_path / "b" / "audio").rglob("*.wav"))
    assert a == b  # the same spec on the same library: the same bytes


_BUILD_CHILD = r"""
import sys, time
from pathlib import Path
from sedal.core.fsutil import build_dir_once
final, log, arrived = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def build(tmp):
    with open(log, "a") as fh:
        fh.write("built\n")
    # finish only once every caller has arrived (they then wait on the lock): a condition
    # with a deadline, so that the callers really overlap
    deadline = time.monotonic() + 60
    while len(arrived.read_text().split()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    (tmp / "data").write_text("x")
    (tmp / "done").write_text("")

with open(arrived, "a") as fh:
    fh.write("arrived\n")
build_dir_once(final, build, lambda p: (p / "done").is_file())
print((final / "data").read_text())
"""


def test_build_dir_once_builds_once_for_concurrent_callers(tmp_path):
    final, log = tmp_path / "cache" / "entry", tmp_path / "log"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    arrived = tmp_path / "arrived"
    arrived.write_text("")
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD_CHILD, str(final), str(log),
                               str(arrived)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    assert [o.strip() for o, _ in outs] == ["x", "x", "x"]
    assert log.read_text() == "built\n"


def test_build_dir_once_replaces_a_stale_incomplete_folder(tmp_path):
    from sedal.core.fsutil import build_dir_once

    final = tmp_path / "entry"
    final.mkdir()
    (final / "partial").write_text("left by a killed build")
    build_dir_once(final, lambda t: (t / "done").write_text(""), lambda p: (p / "done").exists())
    assert sorted(p.name for p in final.iterdir()) == ["done"]


def test_a_failed_build_leaves_nothing(tmp_path, monkeypatch):
    import pytest

    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
    from sedal.core.fsutil import build_dir_once

    def boom(tmp):
        (tmp / "half").write_text("")
        raise OSError("disk full")

    with pytest.raises(OSError):
        build_dir_once(tmp_path / "entry", boom, lambda p: (p / "done").exists())
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # the lock lives in the cache


def test_locks_live_in_the_cache_and_two_spellings_share_one(tmp_path, monkeypatch):
    from sedal.core.fsutil import exclusive_lock, lock_path

    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "data")
    assert lock_path(tmp_path / "data" / "ds") == lock_path(tmp_path / "alias" / "ds")
    assert lock_path(tmp_path / "data" / "ds").parent == tmp_path / "cache" / "locks"
    with exclusive_lock(tmp_path / "data" / "ds"):
        pass
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == []
