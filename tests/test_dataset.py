import json
import shutil

import pytest
import soundfile as sf

from sedal.core.fsutil import sha256_file
from sedal.generator import dataset
from sedal.generator.cli import main
from sedal.generator.dataset import make_dataset
from sedal.generator.errors import GeneratorError
from sedal.generator.manifest import load_manifest, write_manifest
from sedal.generator.regenerate import regenerate_dataset, verify_dataset
from sedal.generator.spec import DatasetSpec


def test_reference_dataset_has_exact_splits_and_format(small_dataset):
    doc = load_manifest(small_dataset / "manifest.json")
    train = [f for f in doc["files"] if f["split"] == "train"]
    test = [f for f in doc["files"] if f["split"] == "test"]
    assert len(train) == 80 and len(test) == 20
    assert sum(1 for f in train if f["events"]) == 16
    assert sum(1 for f in test if f["events"]) == 4
    for f in doc["files"]:
        info = sf.info(str(small_dataset / f["audio"]))
        assert (info.samplerate, info.frames, info.channels) == (16000, 160000, 1)
    assert doc["sources"]["kind"] == "builtin"
    assert all(len(h) == 64 for h in doc["sources"]["clips"].values())
    assert {"scaper", "numpy", "jams", "soundfile"} <= set(doc["versions"])


def test_jams_and_tsv_agree_with_the_plan(small_dataset):
    import jams

    doc = load_manifest(small_dataset / "manifest.json")
    f = next(f for f in doc["files"] if f["events"])
    jam = jams.load(str(small_dataset / f["jams"]), validate=False)
    fg = [o for o in jam.annotations[0].data if o.value["role"] == "foreground"]
    assert sorted((o.time, o.value["label"]) for o in fg) == sorted(
        (e["event_time"], e["label"]) for e in f["events"])
    assert all(not o.value["source_file"].startswith("/") for o in jam.annotations[0].data)
    rows = (small_dataset / "metadata" / f"{f['split']}.tsv").read_text().splitlines()
    assert rows[0] == "filename\tonset\toffset\tevent_label"
    mine = [r.split("\t") for r in rows[1:] if r.startswith(f["id"] + ".wav")]
    assert len(mine) == len(f["events"])


def test_info_summarises(small_dataset, capsys):
    assert main(["info", str(small_dataset)]) == 0
    out = capsys.readouterr().out
    assert "train: 80 files, 16 with events (ratio 0.200)" in out
    assert main(["info", str(small_dataset), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["splits"]["test"]["files_with_events"] == 4
    assert 0 < info["splits"]["train"]["active_fraction"] < 0.2


def test_verify_names_a_changed_file(small_dataset, tmp_path, capsys):
    copy = tmp_path / "X"
    shutil.copytree(small_dataset, copy)
    assert main(["verify", str(copy)]) == 0
    wav = copy / "audio" / "train" / "train_00003.wav"
    data = bytearray(wav.read_bytes())
    data[5000] ^= 0x01
    wav.write_bytes(bytes(data))
    (copy / "audio" / "test" / "test_00001.wav").unlink()
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "changed: audio/train/train_00003.wav" in out
    assert "missing: audio/test/test_00001.wav" in out


def test_verify_after_a_partial_regenerate_says_what_is_missing(small_dataset, tmp_path,
                                                               capsys):
    doc = load_manifest(small_dataset / "manifest.json")
    ids = [f["id"] for f in doc["files"][:2]]
    out = tmp_path / "P"
    assert main(["regenerate", str(small_dataset / "manifest.json"), "--out", str(out),
                 "--files", *ids, "--no-progress"]) == 0
    assert "regenerated 2 file(s)" in capsys.readouterr().out
    assert main(["verify", str(out)]) == 1
    cap = capsys.readouterr()
    n_missing = 2 * (len(doc["files"]) - 2)
    assert f"{n_missing} missing" in cap.err
    assert f"sedgen regenerate {out / 'manifest.json'} --out {out}" in cap.err
    # the hint works: the rest is filled in and verify passes
    assert main(["regenerate", str(out / "manifest.json"), "--out", str(out),
                 "--no-progress"]) == 0
    assert verify_dataset(out) == []


@pytest.mark.parametrize("keep_jams", [True, False])
def test_regenerate_is_bit_identical(small_dataset, tmp_path, keep_jams):
    src = tmp_path / "X"
    shutil.copytree(small_dataset, src)
    shutil.rmtree(src / "audio")
    if not keep_jams:  # then the plan in the manifest is rendered again
        shutil.rmtree(src / "annotations")
    out = tmp_path / "Y"
    assert main(["regenerate", str(src / "manifest.json"), "--out", str(out),
                 "--no-progress"]) == 0
    assert verify_dataset(out) == []
    doc = load_manifest(small_dataset / "manifest.json")
    for f in doc["files"]:
        assert sha256_file(out / f["audio"]) == f["audio_sha256"]


def test_jobs_2_equals_jobs_1(small_dataset, tmp_path):
    out = tmp_path / "X2"
    make_dataset(DatasetSpec(n_files=100, snr=0.0, event_ratio=0.2, seed=7), out, jobs=2)
    assert (out / "manifest.json").read_bytes() == (small_dataset / "manifest.json").read_bytes()


def test_interrupted_run_resumes_to_the_same_manifest(small_dataset, tmp_path, monkeypatch):
    out = tmp_path / "X"
    calls = {"n": 0}
    real = dataset._render_batch

    def flaky(batch, *args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(batch, *args)

    monkeypatch.setattr(dataset, "_render_batch", flaky)
    spec = DatasetSpec(n_files=100, snr=0.0, event_ratio=0.2, seed=7)
    with pytest.raises(KeyboardInterrupt):
        make_dataset(spec, out)
    assert not (out / "manifest.json").exists()
    assert not list(out.rglob("*.tmp"))
    done = len(list((out / "audio").rglob("*.wav")))
    assert done == 24
    rendered = []
    monkeypatch.setattr(dataset, "_render_batch",
                        lambda batch, *a: rendered.extend(batch) or real(batch, *a))
    make_dataset(spec, out)
    assert len(rendered) == 100 - done
    assert (out / "manifest.json").read_bytes() == (small_dataset / "manifest.json").read_bytes()
    assert not (out / ".sedgen").exists()


def test_rerun_on_a_finished_dir_renders_nothing(small_dataset, tmp_path, monkeypatch):
    out = tmp_path / "X"
    shutil.copytree(small_dataset, out)
    monkeypatch.setattr(dataset, "_render_batch", lambda *a: pytest.fail("re-rendered"))
    make_dataset(DatasetSpec(n_files=100, snr=0.0, event_ratio=0.2, seed=7), out)


def test_real_sources_with_mixed_sample_rates(real_sources, tmp_path, capsys):
    out = tmp_path / "R"
    assert main(["make", "--sources", str(real_sources), "--snr", "0", "--ratio", "0.5",
                 "--n-files", "30", "--out", str(out), "--no-progress"]) == 0
    doc = load_manifest(out / "manifest.json")
    labels = {e["label"] for f in doc["files"] for e in f["events"]}
    assert labels <= {"dog", "baby", "mammal_call"} and len(labels) >= 2
    assert doc["sources"]["kind"] == "folder"
    assert sf.info(str(out / doc["files"][0]["audio"])).samplerate == 16000
    # A folder-made dataset needs its library to regenerate.
    with pytest.raises(GeneratorError, match="pass --sources"):
        regenerate_dataset(out / "manifest.json", tmp_path / "R2")
    assert regenerate_dataset(out / "manifest.json", tmp_path / "R2", sources=real_sources,
                              ids=[doc["files"][0]["id"]]) == []


def test_stereo_and_off_rate_sources_are_converted(tmp_path):
    import numpy as np

    lib = tmp_path / "lib"
    rng = np.random.default_rng(0)
    for label, n, sr, ch in (("a", 3, 44100, 2), ("b", 3, 22050, 1)):
        d = lib / "foreground" / label
        d.mkdir(parents=True)
        for i in range(n):
            sf.write(d / f"{label}{i}.wav", 0.3 * rng.standard_normal((sr // 2, ch)), sr)
    d = lib / "background" / "amb"
    d.mkdir(parents=True)
    for i in range(2):
        sf.write(d / f"bg{i}.flac", 0.1 * rng.standard_normal((48000 * 12, 2)), 48000)
    out = tmp_path / "D"
    make_dataset(DatasetSpec(n_files=10, event_ratio=1.0), out, sources=lib)
    doc = load_manifest(out / "manifest.json")
    info = sf.info(str(out / doc["files"][0]["audio"]))
    assert (info.samplerate, info.channels) == (16000, 1)


# -- bad input: one line, exit 2, nothing half-written ------------------------
def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, message", [
    (["--ratio", "1.2"], "ratio must be in [0, 1]"),
    (["--ratio", "-0.5"], "ratio must be in [0, 1]"),
    (["--n-files", "0"], "n_files must be an integer in [1, 1000000]"),
    (["--max-event-duration", "11"], "longer than the file"),
    (["--duration", "3", "--max-event-duration", "4"], "longer than the file"),
])
def test_bad_spec_flags(argv, message, tmp_path, capsys):
    assert main(["make", *argv, "--out", str(tmp_path / "o")]) == 2
    assert message in _err(capsys)
    assert not (tmp_path / "o").exists()


def _library(tmp_path, fg=("a", "b"), n=3):
    import numpy as np

    lib = tmp_path / "lib"
    for label in fg:
        (lib / "foreground" / label).mkdir(parents=True)
        for i in range(n):
            sf.write(lib / "foreground" / label / f"{i}.wav", np.full(8000, 0.1 * (i + 1)), 16000)
    (lib / "background" / "amb").mkdir(parents=True)
    for i in range(2):
        sf.write(lib / "background" / "amb" / f"{i}.wav",
                 np.random.default_rng(i).standard_normal(16000 * 11) * 0.1, 16000)
    return lib


def test_missing_and_empty_source_folders(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["make", "--sources", str(tmp_path / "nope"), "--out", out]) == 2
    assert "does not exist" in _err(capsys)
    lib = _library(tmp_path)
    shutil.rmtree(lib / "background")
    assert main(["make", "--sources", str(lib), "--out", out]) == 2
    assert "has no background/ folder" in _err(capsys)
    (lib / "background").mkdir()
    assert main(["make", "--sources", str(lib), "--out", out]) == 2
    assert "no classes under background/" in _err(capsys)


def test_class_with_no_clips(tmp_path, capsys):
    lib = _library(tmp_path)
    (lib / "foreground" / "empty").mkdir()
    assert main(["make", "--sources", str(lib), "--out", str(tmp_path / "o")]) == 2
    assert "class foreground/empty has 0 clip(s)" in _err(capsys)


def test_class_with_one_clip_cannot_be_split(tmp_path, capsys):
    lib = _library(tmp_path, n=1)
    assert main(["make", "--sources", str(lib), "--n-files", "5", "--ratio", "1", "--out",
                 str(tmp_path / "o")]) == 2
    assert "at least 2 are needed to split" in _err(capsys)


def test_corrupt_wav_is_named(tmp_path, capsys):
    lib = _library(tmp_path)
    bad = lib / "foreground" / "a" / "1.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    assert main(["make", "--sources", str(lib), "--n-files", "5", "--ratio", "1", "--out",
                 str(tmp_path / "o")]) == 2
    assert "foreground/a/1.wav" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_output_dir_with_another_dataset_needs_force(small_dataset, tmp_path, capsys):
    out = tmp_path / "X"
    shutil.copytree(small_dataset, out)
    before = (out / "manifest.json").read_bytes()
    assert main(["make", "--n-files", "20", "--seed", "1", "--out", str(out),
                 "--no-progress"]) == 2
    assert "holds a different dataset; use --force" in _err(capsys)
    assert (out / "manifest.json").read_bytes() == before
    foreign = tmp_path / "F"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["make", "--n-files", "20", "--out", str(foreign), "--no-progress"]) == 2
    assert "not a sedgen dataset" in _err(capsys)
    assert main(["make", "--n-files", "20", "--seed", "1", "--out", str(out), "--force",
                 "--no-progress"]) == 0
    assert len(load_manifest(out / "manifest.json")["files"]) == 20
    assert len(list((out / "audio").rglob("*.wav"))) == 20


def test_tampered_manifest_is_refused(small_dataset, tmp_path, capsys):
    out = tmp_path / "X"
    shutil.copytree(small_dataset, out)
    text = (out / "manifest.json").read_text().replace('"event_ratio": 0.2', '"event_ratio": 0.3')
    (out / "manifest.json").write_text(text)
    assert main(["verify", str(out)]) == 2
    assert "was modified after it was written" in _err(capsys)
    assert main(["regenerate", str(out / "manifest.json"), "--out", str(tmp_path / "Y")]) == 2
    assert "was modified" in _err(capsys)


def test_manifest_path_escaping_the_dir_is_refused(small_dataset, tmp_path, capsys):
    out = tmp_path / "X"
    shutil.copytree(small_dataset, out)
    doc = load_manifest(out / "manifest.json")
    doc.pop("manifest_sha256")
    doc["files"][0]["audio"] = "../../etc/passwd"
    write_manifest(out / "manifest.json", doc)  # a resealed, malicious manifest
    assert main(["verify", str(out)]) == 2
    assert "files[0].audio must be 'audio/train/train_00000.wav'" in _err(capsys)
    assert main(["regenerate", str(out / "manifest.json"), "--out", str(tmp_path / "Y")]) == 2
    assert "files[0].audio must be" in _err(capsys)
    doc["files"][0]["audio"] = "/etc/passwd"
    write_manifest(out / "manifest.json", doc)
    assert main(["verify", str(out)]) == 2
    assert "files[0].audio must be" in _err(capsys)
    assert not (tmp_path / "Y").exists()


def test_missing_manifest(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "has no manifest.json" in _err(capsys)


def test_console_script_prints_no_traceback(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "sedal.generator.cli", "make", "--ratio", "2",
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: ratio must be in [0, 1], got 2.0"


def test_usage_errors_are_one_line(capsys):
    assert main(["make", "--ratio", "abc"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: sedgen make: argument --ratio: invalid float value")
    assert "\n" not in err
