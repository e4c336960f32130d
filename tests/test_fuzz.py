"""Randomly corrupted manifests, JAMS, label files and configs never give a traceback.

Each example runs a real command (through its ``main``) and must end with exit 0 (or the
command's documented "differs" exit 1 for verify/regenerate) or with exactly one line
``error: ...`` and exit 2; nothing may be written outside the example's own folder.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sedal.generator.cli import main as sedgen
from sedal.generator.manifest import load_manifest, write_manifest
from tests.helpers import json_paths

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

NASTY = st.one_of(
    st.none(), st.booleans(), st.just(10**30), st.just(-1), st.just(float("nan")),
    st.just(float("inf")), st.floats(allow_nan=False, width=32), st.integers(-5, 5),
    st.sampled_from(["", "../../../outside/x", "/etc/passwd", "a\tb", "a\nb", "\ufeffx",
                     "background/../../x.wav", "foreground/dog/../../../x.wav", "train",
                     "C:\\x", "x" * 500]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2),
)


def _check(code: int, err: str, allowed=(0, 2)) -> None:
    assert "Traceback" not in err, err
    assert code in allowed, (code, err)
    if code == 2:
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err


def _mutate(doc, data) -> None:
    paths = [p for p, _ in json_paths(doc) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(NASTY, label="value")


def _raw(data: bytes, draw) -> bytes:
    how = draw(st.sampled_from(["truncate", "bom", "crlf", "flip"]), label="raw")
    if how == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@SETTINGS
@given(data=st.data())
def test_fuzz_manifest_verify_and_regenerate(tiny_dataset, capsys, data):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ds = tmp / "a" / "ds"
        shutil.copytree(tiny_dataset, ds)
        mpath = ds / "manifest.json"
        if data.draw(st.booleans(), label="structured"):
            doc = load_manifest(mpath)
            doc.pop("manifest_sha256")
            _mutate(doc, data)
            write_manifest(mpath, doc)
        else:
            mpath.write_bytes(_raw(mpath.read_bytes(), data.draw))
        before = _tree(tmp)
        code = sedgen(["verify", str(ds)])
        _check(code, capsys.readouterr().err, (0, 1, 2))
        code = sedgen(["regenerate", str(mpath), "--out", str(tmp / "a" / "out"),
                       "--no-progress"])
        _check(code, capsys.readouterr().err, (0, 1, 2))
        assert {p for p in _tree(tmp) - before if not p.startswith("a/out")} == set()


@SETTINGS
@given(data=st.data())
def test_fuzz_jams_regenerate(tiny_dataset, capsys, data):
    from sedal.core.fsutil import sha256_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ds = tmp / "a" / "ds"
        shutil.copytree(tiny_dataset, ds)
        mpath = ds / "manifest.json"
        doc = load_manifest(mpath)
        i = data.draw(st.integers(0, len(doc["files"]) - 1), label="file")
        jp = ds / doc["files"][i]["jams"]
        if data.draw(st.booleans(), label="structured"):
            jam = json.loads(jp.read_text())
            _mutate(jam, data)
            jp.write_text(json.dumps(jam))
        else:
            jp.write_bytes(_raw(jp.read_bytes(), data.draw))
        doc.pop("manifest_sha256")
        doc["files"][i]["jams_sha256"] = sha256_file(jp)  # the attacker re-seals
        write_manifest(mpath, doc)
        before = _tree(tmp)
        code = sedgen(["regenerate", str(mpath), "--out", str(tmp / "a" / "out"),
                       "--files", doc["files"][i]["id"], "--no-progress"])
        _check(code, capsys.readouterr().err, (0, 1, 2))
        assert {p for p in _tree(tmp) - before if not p.startswith("a/out")} == set()


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else
                                             "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string is JSON-compatible for these
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{}"


TOML_VALUES = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["0-4", "0-10000000000", "../x", "/etc", "top_k", "farthest"]),
    st.lists(st.one_of(st.integers(-3, 60), st.sampled_from(["mean", "top_k", "x"]),
                       st.floats(0, 1)), max_size=4),
)
SPEC_KEYS = ["n_files", "duration", "sr", "event_ratio", "snr", "snr_range", "min_events",
             "max_events", "max_event_duration", "ref_db", "train_fraction",
             "source_test_fraction", "seed", "fade", "bogus"]


def _toml_config(draw, keys: list[str], table: str | None) -> str:
    if draw(st.integers(0, 9), label="raw") == 0:
        return draw(st.text(max_size=80), label="raw text")
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=6), label="keys")
    lines = [f"[{table}]"] if table else []
    lines += [f"{k} = {_toml_value(draw(TOML_VALUES, label=k))}" for k in chosen]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(data=st.data())
def test_fuzz_make_config(tmp_path, capsys, monkeypatch, data):
    from sedal.generator import dataset, outputs

    made = []
    monkeypatch.setattr(dataset, "make_dataset", lambda spec, out, **k: made.append(spec))
    monkeypatch.setattr(outputs, "dataset_info",
                        lambda p: {"dataset_id": "x", "sources": "y", "splits": {}})
    cfg = tmp_path / "c.toml"
    cfg.write_text(_toml_config(data.draw, SPEC_KEYS, data.draw(st.sampled_from(
        ["dataset", None]), label="table")), encoding="utf-8")
    code = sedgen(["make", "--config", str(cfg), "--out", str(tmp_path / "o")])
    _check(code, capsys.readouterr().err)


@SETTINGS
@given(data=st.data())
def test_fuzz_run_config(tmp_path, capsys, monkeypatch, data):
    from sedal.benchmark.al import plan, runner
    from sedal.benchmark.cli import main

    monkeypatch.setattr(plan, "ensure_dataset", lambda *a, **k: "0" * 64)
    monkeypatch.setattr(runner, "execute",
                        lambda *a, **k: {"ran": 0, "skipped": 0, "references": 0})
    top = _toml_config(data.draw, ["seeds", "max_fraction", "schedule", "bogus"], None)
    exp = _toml_config(data.draw, ["dataset", "strategies", "k", "diversify", "bogus"],
                       None).replace("[", "[", 1)
    cfg = tmp_path / "c.toml"
    cfg.write_text(top + "[[experiment]]\n" + exp, encoding="utf-8")
    code = main(["run", "--config", str(cfg), "--out", str(tmp_path / "r"), "--no-progress"])
    _check(code, capsys.readouterr().err)


LABEL_CELLS = st.one_of(
    st.sampled_from(["0.5", "1.0", "2", "-1", "nan", "inf", "1e309", "", "dog", "Dog", "bark",
                     "Begin Time (s)", "End Time (s)", "Annotation", "Selection", "onset",
                     "offset", "event_label", "\\", "a.wav", "99999"]),
    st.floats(-1, 5).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)


@pytest.fixture(scope="module")
def query_audio(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa")
    audio = root / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        sf.write(audio / f"{name}.wav", 0.1 * rng.standard_normal(32000).astype(np.float32),
                 16000)
    return audio


@SETTINGS
@given(data=st.data())
def test_fuzz_label_files_query(query_audio, yamnet_model, tmp_path, capsys, monkeypatch, data):
    from sedal.benchmark.cli import main

    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    rows = data.draw(st.lists(st.lists(LABEL_CELLS, min_size=0, max_size=7), max_size=5),
                     label="rows")
    text = "\n".join("\t".join(r) for r in rows)
    name = data.draw(st.sampled_from(["a.txt", "a.tsv", "a.Table.1.selections.txt", "a.csv",
                                      "zzz.txt"]), label="name")
    raw = text.encode("utf-8")
    if data.draw(st.booleans(), label="bom"):
        raw = b"\xef\xbb\xbf" + raw
    if data.draw(st.booleans(), label="crlf"):
        raw = raw.replace(b"\n", b"\r\n")
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "labels"
        labels.mkdir()
        (labels / name).write_bytes(raw)
        code = main(["query", str(query_audio), "--labels", str(labels), "--out",
                     str(Path(tmp) / "q"), "--cache", str(tmp_path / "cache"), "--batch", "1",
                     "--no-progress"])
        _check(code, capsys.readouterr().err)
