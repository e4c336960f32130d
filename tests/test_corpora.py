"""Corpus fetchers end to end against a loopback HTTP server serving fixture archives
that mimic each corpus's real layout; malicious and corrupt archives; library checks."""

import csv
import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf

from sedal.generator.cli import main
from sedal.generator.corpora import registry
from sedal.generator.corpora.archive import extract
from sedal.generator.corpora.fetch import fetch_corpus
from sedal.generator.errors import GeneratorError

from .httpserver import serve_dir

SR = 22050


def _wav_bytes(seconds, sr=SR, freq=440.0, channels=1, silent_pad=0.0):
    t = np.arange(int(seconds * sr)) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    pad = np.zeros(int(silent_pad * sr))
    x = np.concatenate([pad, x, pad])
    if channels == 2:
        x = np.stack([x, x], axis=1)
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _build_fixtures(www):
    # ESC-50: ESC-50-master/meta/esc50.csv + audio/*.wav (5 s clips, silence around the sound)
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    members = {}
    for i, cat in enumerate(["dog", "dog", "crying_baby", "crying_baby", "rain"]):
        fn = f"1-{100 + i}-A-{i}.wav"
        rows.append(f"{fn},1,{i},{cat},False,{100 + i},A")
        members[f"ESC-50-master/audio/{fn}"] = _wav_bytes(1.0, silent_pad=2.0)
    members["ESC-50-master/meta/esc50.csv"] = "\n".join(rows) + "\n"
    _zip(www / "ESC-50-master.zip", members)
    # NIGENS: NIGENS/<class>/<name>.wav + <name>.wav.txt (onset offset per line)
    members = {}
    for cls in ("dog", "baby", "piano"):
        for j in range(2):
            members[f"NIGENS/{cls}/{cls}{j}.wav"] = _wav_bytes(3.0, sr=44100, channels=2)
            members[f"NIGENS/{cls}/{cls}{j}.wav.txt"] = "0.500000\t1.000000\n2.000000\t2.400000\n"
    _zip(www / "NIGENS.zip", members)
    # DCASE few-shot: Development_Set/Training_Set/MT/*.wav|csv and Validation_Set/ME/...
    members = {}
    members["Development_Set/Training_Set/MT/mt1.wav"] = _wav_bytes(4.0, sr=8000)
    members["Development_Set/Training_Set/MT/mt1.csv"] = (
        "Audiofilename,Starttime,Endtime,CLASS_SOCM,CLASS_AGGM\n"
        "mt1.wav,0.2,0.5,POS,NEG\nmt1.wav,1.0,1.3,NEG,NEG\nmt1.wav,2.0,2.2,NEG,POS\n")
    members["Development_Set/Validation_Set/ME/me1.wav"] = _wav_bytes(3.0, sr=8000)
    members["Development_Set/Validation_Set/ME/me1.csv"] = (
        "Audiofilename,Starttime,Endtime,Q\nme1.wav,0.1,0.3,POS\nme1.wav,1.0,1.4,UNK\n")
    members["Development_Set/Training_Set/BV/bv1.csv"] = "Audiofilename,Starttime,Endtime,Q\n"
    _zip(www / "Development_Set.zip", members)
    # TUT Acoustic Scenes 2017 development: meta zip + audio zips
    base = "TUT-acoustic-scenes-2017-development"
    meta = [f"audio/a001_{s}_{s + 10}.wav\tpark\ta001" for s in (0, 10)]
    meta += ["audio/b002_0_10.wav\tbeach\tb002", "audio/c003_0_10.wav\tpark\tc003"]
    _zip(www / f"{base}.meta.zip", {f"{base}/meta.txt": "\n".join(meta) + "\n"})
    for i in range(1, 11):
        members = {}
        if i == 1:
            members[f"{base}/audio/a001_0_10.wav"] = _wav_bytes(10.0, sr=44100)
            members[f"{base}/audio/b002_0_10.wav"] = _wav_bytes(10.0, sr=44100)
        if i == 2:
            members[f"{base}/audio/a001_10_20.wav"] = _wav_bytes(10.0, sr=44100, freq=300)
            members[f"{base}/audio/c003_0_10.wav"] = _wav_bytes(10.0, sr=44100)
        _zip(www / f"{base}.audio.{i}.zip", members)


@pytest.fixture()
def mirror(tmp_path, monkeypatch):
    www = tmp_path / "www"
    www.mkdir()
    _build_fixtures(www)
    # The fixtures stand in for the publishers' files: pin the registry's checksums to them.
    for name, corpus in registry.CORPORA.items():
        remotes = tuple(registry.Remote(r.filename, r.url, None if r.checksum is None else
                                        "md5:" + hashlib.md5((www / r.filename).read_bytes())
                                        .hexdigest()) for r in corpus.remotes)
        monkeypatch.setitem(registry.CORPORA, name, registry.Corpus(
            corpus.name, corpus.title, corpus.licence, corpus.citation, corpus.homepage,
            remotes))
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
    with serve_dir(www) as url:
        yield url, www


def test_every_fetcher_builds_a_library(mirror, tmp_path, capsys):
    url, _ = mirror
    lib = tmp_path / "lib"
    for name in ("esc50", "nigens", "dcase-fewshot", "tut-park"):
        assert main(["sources", "fetch", name, "--out", str(lib), "--mirror", url,
                     "--no-progress"]) == 0
    counts = {p.name: len(list(p.glob("*.wav"))) for p in (lib / "foreground").iterdir()}
    # nigens replaced esc50's dog and baby folders (2 files x 2 events each)
    assert counts == {"dog": 4, "baby": 4, "meerkat": 3}
    assert len(list((lib / "background" / "park").glob("*.wav"))) == 2  # a001 (2 segs), c003
    a001 = sf.info(str(lib / "background" / "park" / "tut_a001.wav"))
    assert a001.duration == pytest.approx(20.0)
    with open(lib / "provenance.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 + 4 + 3 + 2
    mt = [r for r in rows if r["origin"] == "MT/mt1.wav"]
    assert sorted((float(r["start_s"]), float(r["end_s"])) for r in mt) == [(0.2, 0.5),
                                                                            (2.0, 2.2)]
    assert all(r["licence"] and r["citation"] for r in rows)
    assert main(["sources", "check", str(lib)]) == 0
    assert "foreground/meerkat" in capsys.readouterr().out
    assert not [p for p in lib.iterdir() if p.name.startswith(".")]


def test_esc50_alone_trims_silence(mirror, tmp_path):
    url, _ = mirror
    lib = tmp_path / "lib"
    counts = fetch_corpus("esc50", lib, mirror=url)
    assert counts == {"foreground/baby": 2, "foreground/dog": 2}
    info = sf.info(str(next((lib / "foreground" / "dog").glob("*.wav"))))
    assert 1.0 <= info.duration <= 1.2  # 2 s of silence each side trimmed, 50 ms kept


def test_checksum_mismatch_and_lock_pinning(mirror, tmp_path, monkeypatch):
    url, www = mirror
    lock = tmp_path / "lock.json"
    fetch_corpus("nigens", tmp_path / "lib", mirror=url, lock_path=lock)
    assert "NIGENS.zip" in lock.read_text()
    # The publisher's file changes: the pinned sha256 no longer matches.
    _zip(www / "NIGENS.zip", {"NIGENS/dog/x.wav": _wav_bytes(1.0)})
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache2"))
    with pytest.raises(GeneratorError, match="differs from the one pinned"):
        fetch_corpus("nigens", tmp_path / "lib2", mirror=url, lock_path=lock)
    c = registry.CORPORA["esc50"]
    monkeypatch.setitem(registry.CORPORA, "esc50", registry.Corpus(
        c.name, c.title, c.licence, c.citation, c.homepage,
        (registry.Remote(c.remotes[0].filename, c.remotes[0].url, "md5:" + "0" * 32),)))
    with pytest.raises(GeneratorError, match="md5 checksum mismatch"):
        fetch_corpus("esc50", tmp_path / "lib3", mirror=url)
    assert not (tmp_path / "lib3" / "foreground").exists()


def test_interrupted_download_resumes(mirror, tmp_path):
    url, www = mirror
    from sedal.core.fsutil import cache_dir
    from sedal.generator.corpora.download import Lock, download

    remote = registry.CORPORA["dcase-fewshot"].remotes[0]
    folder = cache_dir() / "downloads" / "dcase-fewshot"
    folder.mkdir(parents=True)
    data = (www / remote.filename).read_bytes()
    (folder / (remote.filename + ".part")).write_bytes(data[:1000])  # a cut download
    path = download(remote, folder, Lock(tmp_path / "l.json"),
                    url=f"{url}/{remote.filename}")
    assert path.read_bytes() == data


def test_unreachable_server_times_out_cleanly(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts connections but never answers
    port = srv.getsockname()[1]
    try:
        with pytest.raises(GeneratorError, match="failed .*run the command again to resume"):
            fetch_corpus("esc50", tmp_path / "lib", mirror=f"http://127.0.0.1:{port}",
                         timeout=1.0)
    finally:
        srv.close()
    assert not (tmp_path / "lib" / "foreground").exists()


# -- malicious and corrupt archives -------------------------------------------------------
def _serve_bad(tmp_path, monkeypatch, name, data):
    """Replace the ESC-50 archive with ``data`` and fetch it."""
    www = tmp_path / "bad"
    www.mkdir(exist_ok=True)
    (www / "ESC-50-master.zip").write_bytes(data)
    c = registry.CORPORA["esc50"]
    monkeypatch.setitem(registry.CORPORA, "esc50", registry.Corpus(
        c.name, c.title, c.licence, c.citation, c.homepage,
        (registry.Remote("ESC-50-master.zip", c.remotes[0].url, None),)))
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / f"cache-{name}"))
    lib = tmp_path / f"lib-{name}"
    with serve_dir(www) as url:
        with pytest.raises(GeneratorError) as err:
            fetch_corpus("esc50", lib, mirror=url, lock_path=tmp_path / f"{name}.lock")
    # nothing half-written: no class folder, no provenance, no staging leftovers
    assert not (lib / "foreground").exists() and not (lib / "provenance.csv").exists()
    assert not [p for p in lib.iterdir()] if lib.exists() else True
    return str(err.value)


def test_zip_slip_is_refused(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ESC-50-master/meta/esc50.csv", "filename,fold,target,category\n")
        zf.writestr("../../evil.txt", "pwned")
    msg = _serve_bad(tmp_path, monkeypatch, "slip", buf.getvalue())
    assert "path traversal" in msg
    assert not (tmp_path / "evil.txt").exists()


def test_absolute_member_is_refused(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("/etc/evil.conf", "x")
    assert "absolute path" in _serve_bad(tmp_path, monkeypatch, "abs", buf.getvalue())


def test_symlink_member_is_refused(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("ESC-50-master/meta/esc50.csv")
        info.external_attr = (0o120777 << 16)  # a symbolic link
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link" in _serve_bad(tmp_path, monkeypatch, "link", buf.getvalue())


def test_symlink_and_hardlink_in_tar_are_refused(tmp_path):
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        path = tmp_path / f"t{kind!r}.tar"
        with tarfile.open(path, "w") as tf:
            info = tarfile.TarInfo("data/link")
            info.type = kind
            info.linkname = "/etc/passwd"
            tf.addfile(info)
        with pytest.raises(GeneratorError, match="link; refusing it"):
            extract(path, tmp_path / "out")
        assert not list((tmp_path / "out").iterdir())


def test_truncated_archive(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ESC-50-master/meta/esc50.csv", "a" * 100000)
    data = buf.getvalue()
    msg = _serve_bad(tmp_path, monkeypatch, "trunc", data[: len(data) // 2])
    assert "corrupt or truncated" in msg or "not a zip or tar archive" in msg


def test_corrupt_archive(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ESC-50-master/meta/esc50.csv", "filename,category\n" + "x" * 5000)
    data = bytearray(buf.getvalue())
    data[200:260] = b"\xff" * 60  # damage the stored member: CRC check fails
    msg = _serve_bad(tmp_path, monkeypatch, "crc", bytes(data))
    assert "corrupt or truncated" in msg


def test_archive_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.bin", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(GeneratorError, match="archive bomb"):
        extract(path, tmp_path / "out")
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.bin", b"\1" * 4096)
    with pytest.raises(GeneratorError, match="over the limit"):
        extract(small, tmp_path / "out", max_bytes=1024)
    assert not list((tmp_path / "out").iterdir())


def test_unknown_corpus(capsys, tmp_path):
    assert main(["sources", "fetch", "audioset", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'audioset'" in err


# -- sources check ---------------------------------------------------------------------
def test_check_real_sources(real_sources, capsys):
    assert main(["sources", "check", str(real_sources)]) == 0
    out = capsys.readouterr().out
    assert "foreground/mammal_call" in out and "8000,44100" in out


def test_check_names_a_corrupt_clip_and_problems(tmp_path, capsys):
    lib = tmp_path / "lib"
    for label, n in (("a", 3), ("b", 1)):
        (lib / "foreground" / label).mkdir(parents=True)
        for i in range(n):
            sf.write(lib / "foreground" / label / f"{i}.wav", np.full(800, 0.2), 8000)
    (lib / "background" / "amb").mkdir(parents=True)
    for i in range(2):
        sf.write(lib / "background" / "amb" / f"{i}.wav", np.zeros(8000), 8000)
    (lib / "foreground" / "a" / "1.wav").write_bytes(b"RIFFjunkjunk")
    assert main(["sources", "check", str(lib)]) == 1
    out = capsys.readouterr().out
    assert "corrupt clip foreground/a/1.wav" in out
    assert "silent clip background/amb/0.wav" in out
    assert "class foreground/b has 1 usable clip(s)" in out
