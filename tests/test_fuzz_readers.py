"""Property-based fuzzing of every reader of outside input, one level below the commands.

For each reader -- label tables (Raven, BirdNET, Audacity, DCASE, CSV), saved models and the
annotation app's JSON bodies -- Hypothesis writes valid input with our own writers, damages
it (byte edits, odd characters, broken encodings, changed JSON values) and asserts:

1. the reader raises nothing but the package's own error type;
2. what it accepts is what a strict reader reads: every accepted label row is exactly the
   numbers and the class name written on the line it names; a saved model whose arrays
   changed is refused; an app body that is accepted holds only numbers, known classes and
   spans inside the recording.

Examples per test: ``SEDAL_FUZZ_EXAMPLES`` (default 60 in CI; e.g. 2000 for a long run).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sedal.sed.annotations import check_class_name, read_label_file
from sedal.sed.errors import SedError
from sedal.sed.events_io import to_audacity, to_csv, to_dcase, to_raven
from tests.helpers import json_paths

EXAMPLES = int(os.environ.get("SEDAL_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

#: What a strict reader accepts as a time: plain ASCII decimal notation.
STRICT_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

CLASS_NAMES = st.sampled_from(["dog", "baby", "meerkat", "Common Blackbird", "Hündin",
                               "a,b", 'say "hi"'])
EVENTS = st.lists(st.tuples(st.integers(0, 9_000_000), st.integers(1, 1_000_000), CLASS_NAMES)
                  .map(lambda t: (t[0] / 1e6, (t[0] + t[1]) / 1e6, t[2])),
                  max_size=6)
#: Characters an edit may put into a table: separators, line ends, look-alike digits,
#: controls, quotes and Python-only number syntax.
EDIT_CHARS = st.sampled_from(list("\t\n\r\x00\x0b\x1f\u2028\u0085\ufeff\u200b_-+.,;\"' e5"
                                  "\u0661\uff11\u00e9\u00a0") + ["inf", "nan", "1_0", "0x1"])


def _table(fmt: str, events) -> tuple[str, str]:
    """(file name, text) of ``events`` for one recording ``rec.wav`` in format ``fmt``."""
    if fmt == "raven":
        return "rec.Table.1.selections.txt", to_raven(events)
    if fmt == "birdnet":
        return "rec.BirdNET.selection.table.txt", to_raven(
            [(*e, 0.5) for e in events], label_column="Common Name")
    if fmt == "audacity":
        return "rec.txt", to_audacity(events)
    if fmt == "dcase":
        return "rec.tsv", to_dcase({"rec.wav": events})
    return "rec.csv", to_csv({"rec.wav": events})


def _edit(raw: bytes, data) -> bytes:
    """One to four edits of the encoded table, or an encoding that is not UTF-8."""
    how = data.draw(st.sampled_from(["chars", "chars", "chars", "latin1", "utf16", "truncate",
                                     "bom", "crlf"]), label="how")
    if how == "latin1":
        return raw.decode("utf-8").encode("latin-1", "replace") + b"\xe9\n"
    if how == "utf16":
        return raw.decode("utf-8").encode("utf-16")
    if how == "truncate":
        return raw[: data.draw(st.integers(0, max(0, len(raw) - 1)), label="cut")]
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "crlf":
        return raw.replace(b"\n", b"\r\n")
    text = raw.decode("utf-8")
    for _ in range(data.draw(st.integers(1, 4), label="n_edits")):
        i = data.draw(st.integers(0, len(text)), label="at")
        op = data.draw(st.sampled_from(["insert", "replace", "delete"]), label="op")
        c = data.draw(EDIT_CHARS, label="char")
        if op == "insert":
            text = text[:i] + c + text[i:]
        elif op == "replace":
            text = text[:i] + c + text[i + 1:]
        else:
            text = text[:i] + text[i + 1:]
    return text.encode("utf-8")


def _strict_lines(raw: bytes) -> list[str]:
    text = raw.decode("utf-8")
    text = text[1:] if text.startswith("\ufeff") else text
    return re.split(r"\r\n|\r|\n", text)


def _cells(fmt: str, line: str) -> list[str]:
    if fmt == "csv":
        import csv

        return [c.strip() for row in csv.reader([line]) for c in row]
    return [c.strip() for c in line.split("\t")]


def _assert_strictly_read(fmt: str, raw: bytes, rows) -> None:
    """Every accepted row is the numbers and the name written on the line it names."""
    lines = _strict_lines(raw)
    for r in rows:
        assert 1 <= r.line <= len(lines)
        cells = _cells(fmt, lines[r.line - 1])
        numbers = [float(c) for c in cells if STRICT_NUMBER.fullmatch(c)]
        assert r.onset in numbers and r.offset in numbers, (r, cells)
        assert r.label in cells, (r, cells)
        assert check_class_name(r.label, "row") == r.label
        assert np.isfinite([r.onset, r.offset]).all() and 0 <= r.onset


FORMATS = ["raven", "birdnet", "audacity", "dcase", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(events=EVENTS)
def test_a_table_we_write_reads_back_exactly(fmt, events):
    name, text = _table(fmt, events)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_text(text, encoding="utf-8")
        rows = read_label_file(p)
    assert [(r.onset, r.offset, r.label) for r in rows] == list(events)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(events=EVENTS.filter(bool), data=st.data())
def test_a_damaged_table_is_refused_or_read_strictly(fmt, events, data):
    name, text = _table(fmt, events)
    raw = _edit(text.encode("utf-8"), data)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(raw)
        try:
            rows = read_label_file(p)
        except SedError as exc:
            msg = str(exc)
            assert "\n" not in msg and msg.startswith(str(p)) or "label file" in msg, msg
            return
    _assert_strictly_read(fmt, raw, rows)


# -- saved models ------------------------------------------------------------------------------
def _saved_model(root: Path) -> Path:
    from sedal.sed.model import SegmentClassifier
    from sedal.sed.savedmodel import save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 8)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 1.0).astype(int)
    clf = SegmentClassifier(3).fit(X, y)
    return save_model(root / "m", clf, ["background", "dog", "baby"],
                      features={"mode": "patch"}, detector={},
                      postprocess={"merge_gap": 0.06, "min_duration": 0.0},
                      weights_sha256="x")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    from sedal.sed.estimator import Detector

    m = _saved_model(tmp_path_factory.mktemp("model"))
    det, _ = Detector.load(m)
    X = np.random.default_rng(1).normal(size=(30, 8)).astype(np.float32)
    return m, X, det.predict_proba(X)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**25, 10**25) | st.floats()
    | st.text(max_size=5) | st.sampled_from(["", "a\nb", "\x00", "NaN", "1e999"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6)


@SETTINGS
@given(data=st.data())
def test_a_damaged_saved_model_is_refused_or_predicts_as_saved(saved_model, data):
    """Any change to the arrays is refused (their sha256 is in model.json); a changed
    model.json is refused, or the model it describes still predicts finite probabilities."""
    import shutil

    from sedal.sed.estimator import Detector

    src, X, want = saved_model
    with tempfile.TemporaryDirectory() as d:
        m = Path(d) / "m"
        shutil.copytree(src, m)
        target = data.draw(st.sampled_from(["npz", "json", "json_raw"]), label="target")
        if target == "npz":
            raw = (m / "model.npz").read_bytes()
            i = data.draw(st.integers(0, len(raw) - 1), label="at")
            cut = data.draw(st.booleans(), label="truncate")
            (m / "model.npz").write_bytes(raw[:i] if cut else
                                          raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:])
        elif target == "json":
            meta = json.loads((m / "model.json").read_text())
            path = data.draw(st.sampled_from([p for p, _ in json_paths(meta) if p]), label="p")
            parent = meta
            for k in path[:-1]:
                parent = parent[k]
            if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(JSON_VALUES, label="value")
            (m / "model.json").write_text(json.dumps(meta))
        else:
            raw = (m / "model.json").read_bytes()
            (m / "model.json").write_bytes(_edit(raw, data))
        try:
            det, _ = Detector.load(m)
            got = det.predict_proba(X)
        except SedError as exc:
            assert "\n" not in str(exc)
            return
    assert target != "npz", "a model whose arrays changed was accepted"
    assert np.isfinite(got).all() and np.allclose(got.sum(axis=1), 1.0)
    assert got.shape == want.shape
    for c in det.class_names_:
        assert check_class_name(c, "class") == c


# -- the annotation app's JSON bodies ---------------------------------------------------------
def _body_request(raw: bytes, declared: str | None):
    from starlette.requests import Request

    chunks = [raw[i:i + 4096] for i in range(0, len(raw), 4096)] or [b""]

    async def receive():
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    headers = [] if declared is None else [(b"content-length", declared.encode("latin-1"))]
    return Request({"type": "http", "method": "PUT", "headers": headers}, receive)


def _check_events(events):
    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.collection import Recording

    rec = Recording("a.wav", "a", Path("a.wav"), 10.0)
    stub = SimpleNamespace(recording=lambda rel: rec, classes=["background", "dog", "baby"])
    stub.full_band = lambda rel: AnnotationSession.full_band(stub, rel)
    stub.check_boxes = lambda rel, evs: AnnotationSession.check_boxes(stub, rel, evs)
    return AnnotationSession.check_events(stub, "a.wav", events)


EVENT_BODIES = st.lists(st.fixed_dictionaries(
    {"onset": st.floats(0, 10) | JSON_VALUES, "offset": st.floats(0, 10) | JSON_VALUES,
     "label": st.sampled_from(["dog", "baby"]) | JSON_VALUES},
    optional={"low_hz": st.floats(-10, 9000) | JSON_VALUES,
              "high_hz": st.floats(-10, 9000) | JSON_VALUES}), max_size=4)


@SETTINGS
@given(body=st.one_of(JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                      EVENT_BODIES.map(lambda v: json.dumps({"events": v}).encode()),
                      st.binary(max_size=64)),
       declared=st.none() | st.sampled_from(["0", "-1", "abc", "99999999999", "\u00e9"]),
       data=st.data())
def test_an_app_body_is_refused_with_a_4xx_or_holds_only_valid_events(body, declared, data):
    from sedal.benchmark.errors import BenchmarkError
    from sedal.benchmark.practice.webapp import BodyError, read_json_body

    if data.draw(st.booleans(), label="damage") and body:
        body = _edit(body.decode("utf-8", "replace").encode(), data)
    try:
        doc = asyncio.run(read_json_body(_body_request(body, declared)))
    except BodyError as exc:
        assert 400 <= exc.status < 500 and "\n" not in str(exc)
        return
    events = doc.get("events") if isinstance(doc, dict) else doc
    try:
        evs = _check_events(events)
    except BenchmarkError as exc:
        assert "\n" not in str(exc)
        return
    src = events
    assert isinstance(src, list) and len(src) == len(evs)
    for e in src:  # strict: real numbers (not booleans, not strings) and known class names
        assert type(e["onset"]) in (int, float) and type(e["offset"]) in (int, float)
        assert isinstance(e["label"], str) and e["label"] in ("dog", "baby")
        band = [e.get("low_hz"), e.get("high_hz")]
        if band != [None, None]:  # a band: two numbers inside 0-8000 Hz, low below high
            assert all(type(v) in (int, float) for v in band)
            assert 0 <= round(band[0], 1) < round(band[1], 1) <= 8000
    for a, b, lab in evs:
        assert 0.0 <= a < b <= 10.0 and lab in ("dog", "baby")


@pytest.mark.parametrize("event", [
    {"onset": True, "offset": 5, "label": "dog"},      # a boolean is not a number
    {"onset": "1", "offset": 5, "label": "dog"},       # nor is a numeric string
    {"onset": 1, "offset": 5, "label": 7},             # a label is a string
    {"onset": 10**400, "offset": 5, "label": "dog"},   # too large for a float
    {"onset": 0.0, "offset": 8e-107, "label": "dog"},  # 0 s long after rounding to 1 us
    ["onset", 1],
])
def test_an_app_event_that_a_strict_reader_refuses_is_refused(event):
    from sedal.benchmark.errors import BenchmarkError

    with pytest.raises(BenchmarkError):
        _check_events([event])
