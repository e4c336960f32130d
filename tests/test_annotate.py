"""sedbench annotate: the session, the HTTP API and its security, and the page driven in
headless Chromium."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sedal.benchmark.errors import BenchmarkError
from sedal.sed.detector import PRESETS
from sedal.sed.events_io import to_raven
from tests.helpers import wait_until

CLASSES = ["baby", "dog", "meerkat"]


@pytest.fixture(scope="session")
def collection(tmp_path_factory):
    """24 recordings of a built-in dataset; label files for the first 6 (events of every
    class and background-only files)."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.manifest import read_manifest
    from sedal.generator.spec import DatasetSpec

    root = tmp_path_factory.mktemp("annotate")
    ds = root / "ds"
    make_dataset(DatasetSpec(n_files=24, event_ratio=0.75, seed=21), ds, jobs=2)
    doc = read_manifest(ds / "manifest.json")
    audio = root / "audio"
    (audio / "site").mkdir(parents=True)
    labels = {}
    for i, f in enumerate(doc.files):
        shutil.copy(ds / f.audio, audio / "site" / f"{f.id}.wav")
        if i < 6:
            labels[f"site/{f.id}"] = [(e.event_time, e.event_time + e.event_duration, e.label)
                                      for e in f.events]
    return audio, labels


def _fresh_labels(collection, tmp_path) -> Path:
    _, labels = collection
    out = tmp_path / "labels"
    for key, evs in labels.items():
        p = out / f"{key}.Table.1.selections.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(to_raven(evs))
    return out


@pytest.fixture
def session(collection, tmp_path, yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession

    audio, _ = collection
    return AnnotationSession(audio, _fresh_labels(collection, tmp_path), classes=CLASSES,
                             detector=PRESETS["paper"], model=yamnet_model)


def test_queue_ranks_unlabelled_files_and_save_refits(session, tmp_path):
    q = session.queue()
    assert q["total"] == 24 and q["labelled"] == 6
    unlabelled = [r for r in q["rows"] if not r["labelled"]]
    assert len(unlabelled) == 18 and [r["rank"] for r in unlabelled] == list(range(1, 19))
    scores = [r["score"] for r in unlabelled]
    assert scores == sorted(scores, reverse=True)
    assert len(q["curve"]) == 1 and q["curve"][0]["labelled"] == 6
    rel = unlabelled[0]["rel"]
    view = session.view(rel)
    assert view["labels"] is None and all(
        0 <= e["onset"] < e["offset"] <= view["duration"] for e in view["predicted"])
    res = session.save(rel, [{"onset": 1.0, "offset": 2.5, "label": "dog"}])
    path = session.labels / res["saved"]
    text = path.read_text()
    assert "\tdog\t" in text and "reviewed" in text and "unreviewed" not in text
    assert session.stale()
    out = session.refit()
    assert not session.stale() and out["labelled"] == 7
    q2 = session.queue()
    assert rel not in [r["rel"] for r in q2["rows"] if not r["labelled"]]
    assert q2["curve"][-1]["labelled"] == 7
    # what query reads back is what was saved
    from sedal.benchmark.practice.collection import scan_audio
    from sedal.benchmark.practice.labelled import load_annotations

    recs, _ = scan_audio(session.audio)
    assert load_annotations(session.labels, recs)[rel[:-4]] == [(1.0, 2.5, "dog")]


def test_a_saved_recording_is_never_offered_again_before_the_refit_ends(session):
    """The next-clip loop: right after a save (the refit not run yet), the queue's first
    unlabelled row is another recording, and the saved one is listed as labelled only."""
    first = session.queue()["rows"][0]["rel"]
    session.save(first, [{"onset": 1.0, "offset": 2.0, "label": "dog"}])
    assert session.stale()  # no refit has happened: the ranking is the old one
    rows = session.queue()["rows"]
    unlabelled = [r["rel"] for r in rows if not r["labelled"]]
    assert first not in unlabelled and rows[0]["rel"] != first
    assert [r["rank"] for r in rows if not r["labelled"]] == list(
        range(1, len(unlabelled) + 1))
    assert [r["rel"] for r in rows if r["labelled"]].count(first) == 1


def test_export_writes_dcase_labels_and_a_model_detect_can_use(session, tmp_path):
    from sedal.sed.savedmodel import load_model

    res = session.export(tmp_path / "export")
    tsv = (tmp_path / "export" / "labels.tsv").read_text().splitlines()
    assert tsv[0] == "filename\tonset\toffset\tevent_label" and len(tsv) > 1
    clf, meta = load_model(res["model"])
    assert meta["detector"]["name"] == "paper" and meta["classes"][1:] == CLASSES


def test_unsaved_edits_survive_a_new_session_until_saved(session, collection, yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession

    rel = next(r for r in session.queue()["rows"] if not r["labelled"])["rel"]
    session.save_draft(rel, [{"onset": 0.5, "offset": 1.5, "label": "baby"}])
    again = AnnotationSession(session.audio, session.labels, classes=CLASSES,
                              detector=PRESETS["paper"], model=yamnet_model)
    full = {"low_hz": 0.0, "high_hz": 8000.0}  # a box drawn without a band spans them all
    assert again.view(rel)["draft"] == [{"onset": 0.5, "offset": 1.5, "label": "baby", **full}]
    again.save(rel, [{"onset": 0.5, "offset": 1.25, "label": "baby"}])
    assert again.view(rel)["draft"] is None
    assert again.view(rel)["labels"] == [{"onset": 0.5, "offset": 1.25, "label": "baby",
                                          **full}]
    with pytest.raises(BenchmarkError):
        again.save_draft(rel, [{"onset": 0.5, "offset": 1.5, "label": "cat"}])


def test_cli_export_writes_what_the_button_does(collection, tmp_path, capsys):
    from sedal.benchmark.cli import main

    audio, _ = collection
    labels = _fresh_labels(collection, tmp_path)
    assert main(["annotate", str(audio), "--labels", str(labels), "--out",
                 str(tmp_path / "exp"), "--export", "--detector", "paper",
                 "--no-progress"]) == 0
    assert (tmp_path / "exp" / "labels.tsv").exists()
    assert (tmp_path / "exp" / "model" / "model.json").exists()
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("events, needle", [
    ("nope", "must be a list"),
    ([{"onset": 2.0, "offset": 1.0, "label": "dog"}], "not inside"),
    ([{"onset": -1.0, "offset": 1.0, "label": "dog"}], "not inside"),
    ([{"onset": 0.0, "offset": 99.0, "label": "dog"}], "not inside"),
    ([{"onset": 0.0, "offset": 1.0, "label": "cat"}], "unknown class"),
    ([{"onset": "x", "offset": 1.0, "label": "dog"}], "numeric onset"),
    ([{"onset": float("nan"), "offset": 1.0, "label": "dog"}], "not inside"),
])
def test_bad_events_are_refused_and_nothing_is_written(session, events, needle):
    rel = session.queue()["rows"][0]["rel"]
    before = sorted(p for p in session.labels.rglob("*") if p.is_file())
    with pytest.raises(BenchmarkError, match=needle):
        session.save(rel, events)
    assert sorted(p for p in session.labels.rglob("*") if p.is_file()) == before


def test_a_label_file_in_another_format_is_moved_aside_not_lost(session):
    rel = next(r for r in session.queue()["rows"] if r["labelled"])["rel"]
    old = Path(session.sources[rel])
    assert old.name.endswith(".selections.txt")
    audacity = old.with_name(old.name.replace(".Table.1.selections.txt", ".txt"))
    old.rename(audacity)
    session.sources[rel] = str(audacity)
    session.save(rel, [])
    assert not audacity.exists()
    assert (session.labels / ".sedal-replaced" / audacity.relative_to(session.labels)).exists()
    from sedal.benchmark.practice.collection import scan_audio
    from sedal.benchmark.practice.labelled import load_annotations

    recs, _ = scan_audio(session.audio)  # the moved file is not read as a second label file
    assert load_annotations(session.labels, recs)[rel[:-4]] == []


@pytest.mark.parametrize("rel", ["../secret.wav", "/etc/passwd", "site/../../x.wav",
                                 "site/missing.wav", "", None])
def test_only_scanned_recordings_are_served(session, rel):
    from sedal.core.errors import UnsafePathError

    with pytest.raises(UnsafePathError):
        session.recording(rel)


# -- the HTTP app -----------------------------------------------------------------------
@pytest.fixture
def server(session, tmp_path):
    """The real app on a loopback port, in a thread."""
    import uvicorn

    from sedal.benchmark.practice.serve import bind
    from sedal.benchmark.practice.webapp import create_app

    sock = bind("127.0.0.1", 0)
    token = "t0k3n-for-tests"
    app = create_app(session, token, out=tmp_path / "out")
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    th = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    wait_until(lambda: srv.started, timeout=120, what="the app server to start")
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", token, session
    srv.should_exit = True
    th.join(timeout=10)


def _req(url, *, method="GET", headers=None, data=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_every_request_needs_the_token(server):
    base, token, _ = server
    assert _req(f"{base}/api/queue")[0] == 403
    assert _req(f"{base}/api/status")[0] == 403
    assert _req(f"{base}/?token=wrong")[0] == 403
    assert _req(f"{base}/static/annotate.js")[0] == 403
    assert _req(f"{base}/api/queue", headers={"X-Sedal-Token": token})[0] == 200
    assert _req(f"{base}/?token={token}")[0] == 200


def test_state_changes_need_the_header_not_the_cookie(server):
    base, token, session = server
    rel = session.queue()["rows"][0]["rel"]
    body = json.dumps({"events": []}).encode()
    cookie = {"Cookie": f"sedal_token={token}"}
    assert _req(f"{base}/api/labels?rel={rel}", method="PUT", headers=cookie, data=body)[0] \
        == 403
    assert _req(f"{base}/api/labels?rel={rel}&token={token}", method="PUT", data=body)[0] \
        == 403
    assert _req(f"{base}/api/labels?rel={rel}", headers=cookie)[0] == 405  # GET: no such route
    status, out = _req(f"{base}/api/labels?rel={rel}", method="PUT",
                       headers={"X-Sedal-Token": token}, data=body)
    assert status == 200 and json.loads(out)["events"] == 0


@pytest.mark.parametrize("rel", ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
                                 "/etc/passwd", "site/..%2f..%2fsecret.wav"])
def test_traversal_urls_are_refused(server, rel):
    base, token, _ = server
    h = {"X-Sedal-Token": token}
    assert _req(f"{base}/api/audio?rel={rel}", headers=h)[0] == 404
    assert _req(f"{base}/api/recording?rel={rel}", headers=h)[0] == 404
    assert _req(f"{base}/api/labels?rel={rel}", method="PUT", headers=h,
                data=b'{"events": []}')[0] == 404
    assert _req(f"{base}/static/../../etc/passwd", headers=h)[0] == 404


def test_foreign_host_headers_are_refused(server):
    base, token, _ = server
    assert _req(f"{base}/api/queue", headers={"X-Sedal-Token": token,
                                              "Host": "evil.example"})[0] == 400


def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys):
    from sedal.benchmark.cli import main

    assert main(["annotate", str(tmp_path / "none"), "--labels", str(tmp_path / "l"),
                 "--out", str(tmp_path / "o"), "--no-browser"]) == 2
    assert not (tmp_path / "l").exists()  # bad input creates nothing
    assert main(["annotate", str(tmp_path), "--labels", str(tmp_path / "l"),
                 "--out", str(tmp_path / "o"), "--no-browser", "--port", "70000"]) == 2
    (tmp_path / "a_file").write_text("x")
    assert main(["annotate", str(tmp_path), "--labels", str(tmp_path / "a_file"),
                 "--out", str(tmp_path / "o"), "--no-browser", "--classes", "dog"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 3
    assert "is a file, not a folder" in err


# -- the page in headless Chromium -------------------------------------------------------
def _driver():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are needed (scripts/setup.sh installs them)")
        pytest.skip("chromium / chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
              "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        opts.add_argument(a)
    opts.binary_location = chromium
    return webdriver.Chrome(service=Service(driver), options=opts)


def _wait(fn, timeout=60.0, what="condition"):
    return wait_until(fn, timeout=timeout, what=what, poll=0.1)


@contextlib.contextmanager
def _app_page(server):
    """The app's page in headless Chromium, its first recording open: (driver, its
    execute_script, the page body for keys)."""
    from selenium.webdriver.common.by import By

    base, token, _ = server
    d = _driver()
    try:
        d.get(f"{base}/?token={token}")
        js = d.execute_script
        _wait(lambda: js("return window.sedal.ready === true"), what="first recording")
        yield d, js, d.find_element(By.TAG_NAME, "body")
    finally:
        d.quit()


def _draw_one_box(d, js, body):
    """Delete every box shown, then drag one box over 20-40 % of the recording on the
    waveform; the #wave element."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    while js("return window.sedal.regions.getRegions().length") > 0:
        js("window.sedal.selected = window.sedal.regions.getRegions()[0]")
        body.send_keys(Keys.DELETE)
    wave = d.find_element(By.ID, "wave")
    w = wave.size["width"]
    ActionChains(d).move_to_element_with_offset(wave, int(-0.3 * w), -60).click_and_hold() \
        .move_by_offset(int(0.1 * w), 0).move_by_offset(int(0.1 * w), 0).release().perform()
    return wave


def _wait_for_one_box(js):
    _wait(lambda: js("return window.sedal.regions.getRegions().length") == 1,
          what="a drawn box")


def _mel_hz(frac: float) -> float:
    """The frequency (Hz) at a fraction of the spectrogram's height from its bottom, on the
    page's mel axis from 0 to 8000 Hz."""
    m = 2595 * math.log10(1 + 8000 / 700)
    return 700 * (10 ** (frac * m / 2595) - 1)


@pytest.mark.browser
def test_label_a_recording_in_the_browser(server, tmp_path):
    """Open the queue, open a recording, play, add a box, relabel it, save; the Raven file
    is on disk, the model refits and the queue re-ranks."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, token, session = server
    with _app_page(server) as (d, js, body):
        rows = d.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
        assert len(rows) == 24
        order_before = [r["rel"] for r in session.queue()["rows"] if not r["labelled"]]
        target = order_before[1]
        d.find_element(By.CSS_SELECTOR, f'#queue tbody tr[data-rel="{target}"]').click()
        _wait(lambda: js("return window.sedal.rel") == target and js(
            "return window.sedal.ready === true"), what="the chosen recording")
        body.send_keys(Keys.SPACE)  # play
        _wait(lambda: js("return window.sedal.ws.getCurrentTime()") > 0.2, what="playback")
        body.send_keys(Keys.SPACE)  # pause
        assert js("return window.sedal.ws.isPlaying()") is False
        # clear the predictions, then draw one box over 20-40 % of the recording
        _draw_one_box(d, js, body)
        boxes = _wait(lambda: js("return window.sedal.regions.getRegions().map("
                                 "r => [r.start, r.end, r.sedalLabel])"), what="a drawn box")
        assert len(boxes) == 1 and boxes[0][2] == CLASSES[0]
        dur = session.recordings[target].duration
        assert 0.15 * dur < boxes[0][0] < 0.25 * dur and 0.35 * dur < boxes[0][1] < 0.45 * dur
        body.send_keys("2")  # relabel the selected box
        assert js("return window.sedal.regions.getRegions()[0].sedalLabel") == CLASSES[1]
        body.send_keys(Keys.ENTER)  # accept + next
        path = session.labels / f"{target[:-4]}.Table.1.selections.txt"
        _wait(path.exists, what="the Raven file")
        rows = [line.split("\t") for line in path.read_text().splitlines()]
        head, (row,) = rows[0], rows[1:]
        assert row[head.index("Annotation")] == CLASSES[1]
        assert row[head.index("Review")] == "reviewed"
        assert float(row[head.index("Begin Time (s)")]) == pytest.approx(boxes[0][0], abs=1e-4)
        _wait(lambda: not session.stale(), what="the refit")
        order_after = [r["rel"] for r in session.queue()["rows"] if not r["labelled"]]
        assert target not in order_after
        assert order_after != [r for r in order_before if r != target]
        _wait(lambda: js("return window.sedal.modelVersion") == session.model_version,
              what="the page showing the new model")
        shot = os.environ.get("SEDAL_SCREENSHOT")
        if shot:
            d.save_screenshot(shot)


def test_the_app_answers_while_the_model_refits(server, monkeypatch):
    """A save starts a refit in the background worker; while it runs (held here on an
    event), the queue and the recording view still answer, and say a refit is under way."""
    base, token, session = server
    started, release = threading.Event(), threading.Event()
    real = session.refit

    def slow_refit(**kw):
        started.set()
        release.wait(30)
        return real(**kw)

    monkeypatch.setattr(session, "refit", slow_refit)
    h = {"X-Sedal-Token": token}
    rel = session.queue()["rows"][0]["rel"]
    assert _req(f"{base}/api/labels?rel={rel}", method="PUT", headers=h,
                data=b'{"events": []}')[0] == 200
    assert started.wait(10)
    status, body = _req(f"{base}/api/queue", headers=h)
    assert status == 200 and json.loads(body)["refitting"] is True
    assert json.loads(_req(f"{base}/api/status", headers=h)[1])["refitting"] is True
    other = json.loads(body)["rows"][1]["rel"]
    assert _req(f"{base}/api/recording?rel={other}", headers=h)[0] == 200
    release.set()
    _wait(lambda: json.loads(_req(f"{base}/api/status", headers=h)[1])["refitting"] is False,
          what="the refit (and its cross-validation) to finish")
    assert not session.stale()
    done = json.loads(_req(f"{base}/api/status", headers=h)[1])
    assert done["model_version"] == session.model_version and done["version"] == session.version


def _one_line_json_error(status_body, status):
    got, body = status_body
    assert got == status, (got, body[:200])
    msg = json.loads(body)["error"]
    assert isinstance(msg, str) and msg and "\n" not in msg
    return msg


def test_a_non_ascii_token_is_a_wrong_token_not_a_server_error(server):
    import http.client

    base, token, _ = server
    _one_line_json_error(_req(f"{base}/api/queue?token=%C3%A9"), 403)
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("GET", "/api/queue")
    conn.putheader("X-Sedal-Token", "\u00e9t\u00e9".encode("utf-8"))  # raw non-ASCII bytes
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 403 and "error" in json.loads(r.read())
    conn.close()


def _declared_only(url: str, headers: dict, length: int) -> tuple[int, bytes]:
    """PUT that declares ``length`` body bytes and sends none: the server must answer from
    the header alone (sending the 2 MiB as well races the server's early close, which the
    client then sees as a connection reset)."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("PUT", f"{u.path}?{u.query}")
        for k, v in {**headers, "Content-Length": str(length)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("endpoint", ["labels", "draft"])
def test_hostile_bodies_get_a_4xx_with_a_one_line_json_message(server, endpoint):
    from sedal.benchmark.practice.webapp import MAX_BODY_BYTES

    base, token, session = server
    rel = session.queue()["rows"][0]["rel"]
    url = f"{base}/api/{endpoint}?rel={rel}"
    hdr = {"X-Sedal-Token": token}

    def put(data: bytes):
        return _req(url, method="PUT", headers=hdr, data=data)

    big = "9" * 400
    assert "digits" in _one_line_json_error(
        put(f'{{"events": [{{"onset": {big}, "offset": 2, "label": "dog"}}]}}'.encode()), 400)
    assert "digits" in _one_line_json_error(
        put(f'{{"events": [{{"onset": 1, "offset": {big}, "label": "dog"}}]}}'.encode()), 400)
    _one_line_json_error(put(b'{"events": [{"onset": 1e400, "offset": 2, "label": "dog"}]}'),
                         400)
    _one_line_json_error(put(b'{"events": [{"onset": NaN, "offset": 2, "label": "dog"}]}'),
                         400)
    assert "nested" in _one_line_json_error(put(b"[" * 100_000 + b"]" * 100_000), 400)
    _one_line_json_error(put(b"\xff\xfe not utf-8"), 400)
    _one_line_json_error(put(b'{"events": [1, 2'), 400)
    assert "larger" in _one_line_json_error(_declared_only(url, hdr, MAX_BODY_BYTES + 1), 413)
    # nothing was written by any of them, and a good body still works
    assert session.view(rel)["labels"] is None
    assert put(json.dumps({"events": [{"onset": 1, "offset": 2, "label": "dog"}]})
               .encode())[0] == 200


def test_a_link_in_the_collection_to_a_file_outside_is_not_listed(collection, tmp_path):
    from sedal.benchmark.practice.collection import scan_audio

    audio, _ = collection
    root = tmp_path / "audio"
    shutil.copytree(audio, root)
    outside = tmp_path / "secret.wav"
    shutil.copy(next(root.rglob("*.wav")), outside)
    (root / "site" / "evil.wav").symlink_to(outside)
    (root / "site" / "alias.wav").symlink_to(root / "site" / sorted(
        p.name for p in (root / "site").iterdir() if p.name.startswith("train"))[0])
    recs, skipped = scan_audio(root)
    rels = {r.rel for r in recs}
    assert "site/evil.wav" not in rels and "site/alias.wav" in rels  # a link inside is fine
    assert ("site/evil.wav", "a link that leads outside the audio folder") in skipped


def test_a_box_band_put_over_http_is_written_to_the_raven_table_and_read_back(
        server, collection, yamnet_model):
    """Time-frequency boxes: ``low_hz``/``high_hz`` of ``PUT /api/labels`` land in the Raven
    table's Low/High Freq (Hz), come back in the recording view (also in a new session, from
    the table) and in drafts; training uses the times only."""
    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.sed.annotations import read_label_file

    base, token, session = server
    rel = next(r for r in session.queue()["rows"] if not r["labelled"])["rel"]
    hdr = {"X-Sedal-Token": token, "Content-Type": "application/json"}
    boxes = [{"onset": 1.0, "offset": 2.0, "label": "dog", "low_hz": 500, "high_hz": 2500.25},
             {"onset": 3.0, "offset": 4.0, "label": "baby"}]
    status, _ = _req(f"{base}/api/draft?rel={rel}", method="PUT", headers=hdr,
                     data=json.dumps({"events": boxes}).encode())
    assert status == 200
    want = [{"onset": 1.0, "offset": 2.0, "label": "dog", "low_hz": 500.0, "high_hz": 2500.2},
            {"onset": 3.0, "offset": 4.0, "label": "baby", "low_hz": 0.0, "high_hz": 8000.0}]
    assert session.view(rel)["draft"] == want
    status, out = _req(f"{base}/api/labels?rel={rel}", method="PUT", headers=hdr,
                       data=json.dumps({"events": boxes}).encode())
    assert status == 200
    rows = read_label_file(session.labels / json.loads(out)["saved"])
    assert [(r.onset, r.offset, r.label, r.low_hz, r.high_hz) for r in rows] == [
        (1.0, 2.0, "dog", 500.0, 2500.2), (3.0, 4.0, "baby", 0.0, 8000.0)]
    status, view = _req(f"{base}/api/recording?rel={rel}", headers=hdr)
    assert json.loads(view)["labels"] == want
    assert session.events[rel] == [(1.0, 2.0, "dog"), (3.0, 4.0, "baby")]  # what trains
    # right after the save, the queue's first unlabelled row is another recording
    status, q = _req(f"{base}/api/queue", headers=hdr)
    assert next(r for r in json.loads(q)["rows"] if not r["labelled"])["rel"] != rel
    again = AnnotationSession(session.audio, session.labels, classes=CLASSES,
                              detector=PRESETS["paper"], model=yamnet_model)
    assert again.view(rel)["labels"] == want


@pytest.mark.parametrize("band, needle", [
    ({"low_hz": 500}, "both be numbers"),
    ({"low_hz": 500, "high_hz": "900"}, "both be numbers"),
    ({"low_hz": True, "high_hz": 900}, "both be numbers"),
    ({"low_hz": 900, "high_hz": 500}, "is not inside"),
    ({"low_hz": 100, "high_hz": 100.04}, "narrower than 0.1 Hz"),
    ({"low_hz": -1, "high_hz": 500}, "is not inside"),
    ({"low_hz": 0, "high_hz": 9000}, "is not inside"),
    ({"low_hz": 0, "high_hz": 10 ** 400}, "is not inside"),
])
def test_a_bad_band_is_refused_and_nothing_is_written(session, band, needle):
    rel = next(r for r in session.queue()["rows"] if not r["labelled"])["rel"]
    with pytest.raises(BenchmarkError, match=needle):
        session.save(rel, [{"onset": 1.0, "offset": 2.0, "label": "dog", **band}])
    assert session.view(rel)["labels"] is None and not session.label_path(rel).exists()


@pytest.mark.browser
def test_shift_drag_on_the_spectrogram_gives_a_box_its_band_in_the_browser(server):
    """A box drawn in time, then shift + drag from 3/4 to 1/4 of the spectrogram's height
    gives it a band (mel axis: 0 Hz at the bottom, 8 kHz at the top), shown on the
    spectrogram and saved to the Raven table's Low/High Freq (Hz)."""

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    base, token, session = server
    with _app_page(server) as (d, js, body):
        rel = js("return window.sedal.rel")
        wave = _draw_one_box(d, js, body)
        _wait_for_one_box(js)
        # offsets from the centre of #wave to 3/4 and 1/4 of the spectrogram's height
        box = js("const w = document.getElementById('wave').getBoundingClientRect();"
                 "const s = window.sedal.spectro.wrapper.getBoundingClientRect();"
                 "return [w.top + w.height / 2, s.top, s.height, w.left + w.width / 2,"
                 "        s.left + s.width * 0.3];")
        centre_y, top, height, centre_x, x = box
        y0, y1 = top + 0.75 * height, top + 0.25 * height
        ActionChains(d).key_down(Keys.SHIFT) \
            .move_to_element_with_offset(wave, int(x - centre_x), int(y0 - centre_y)) \
            .click_and_hold().move_by_offset(0, int((y1 - y0) / 2)) \
            .move_by_offset(0, int(y1 - y0) - int((y1 - y0) / 2)).release() \
            .key_up(Keys.SHIFT).perform()
        _wait(lambda: js("return window.sedal.regions.getRegions()[0].sedalLow") is not None,
              what="the band")
        assert js("return window.sedal.regions.getRegions().length") == 1  # not a new box
        assert js("return document.querySelectorAll('#wave').length") == 1
        shown = js("const r = window.sedal.regions.getRegions()[0];"
                   "return r.element.querySelector('.sedal-band') !== null;")
        assert shown

        shot = os.environ.get("SEDAL_SCREENSHOT_BAND")  # the band on the spectrogram
        if shot:
            d.save_screenshot(shot)
        body.send_keys(Keys.ENTER)  # accept + next
        path = session.labels / f"{rel[:-4]}.Table.1.selections.txt"
        _wait(path.exists, what="the Raven file")
        rows = [line.split("\t") for line in path.read_text().splitlines()]
        head, (row,) = rows[0], rows[1:]
        low = float(row[head.index("Low Freq (Hz)")])
        high = float(row[head.index("High Freq (Hz)")])
        px = 2.0 / height  # a pixel or two of the drag, as a fraction of the height
        assert _mel_hz(0.25 - px) <= low <= _mel_hz(0.25 + px)
        assert _mel_hz(0.75 - px) <= high <= _mel_hz(0.75 + px)


@pytest.mark.browser
def test_dragging_edges_resizes_a_box_in_time_and_its_band_in_frequency(server):
    """A box with a typed band (1000-4000 Hz): dragging the band's top edge to 3/4 of the
    spectrogram's height moves only its high frequency, the bottom edge to 1/4 only its low
    frequency, the box's right edge from 40 % to 50 % of the recording only its offset; the
    Raven table saved says so (within two pixels of each drag)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    base, token, session = server
    with _app_page(server) as (d, js, body):
        rel = js("return window.sedal.rel")
        wave = _draw_one_box(d, js, body)
        _wait_for_one_box(js)
        js("const g = window.sedal.regions.getRegions()[0]; window.sedal.selected = g;"
           "document.getElementById('low').value = 1000;"
           "document.getElementById('high').value = 4000;"
           "document.getElementById('low').dispatchEvent(new Event('change'));")
        _wait(lambda: js("const g = window.sedal.regions.getRegions()[0];"
                         "return g.sedalLow === 1000 && g.sedalHigh === 4000 &&"
                         "  g.element.querySelector('.sedal-band-edge') !== null;"),
              what="the typed band with its edges")
        start = js("return window.sedal.regions.getRegions()[0].start")
        centre = js("const w = document.getElementById('wave').getBoundingClientRect();"
                    "return [w.left + w.width / 2, w.top + w.height / 2];")
        geo = js("const s = window.sedal.spectro.wrapper.getBoundingClientRect();"
                 "return [s.top, s.height, s.left, s.width];")
        top, height, left, width = geo

        def drag(selector, x1, y1):
            """Press on the centre of the element (inside the box), move to (x1, y1)."""
            r = js("const e = window.sedal.regions.getRegions()[0].element"
                   f"  .querySelector(\"{selector}\").getBoundingClientRect();"
                   "return [e.left + e.width / 2, e.top + e.height / 2];")
            x0, y0 = r
            ActionChains(d).move_to_element_with_offset(
                wave, int(x0 - centre[0]), int(y0 - centre[1])).click_and_hold() \
                .move_by_offset(int((x1 - x0) / 2), int((y1 - y0) / 2)) \
                .move_by_offset(int(x1 - x0) - int((x1 - x0) / 2),
                                int(y1 - y0) - int((y1 - y0) / 2)).release().perform()

        def band():
            return js("const g = window.sedal.regions.getRegions()[0];"
                      "return [g.sedalLow, g.sedalHigh, g.start, g.end];")

        drag(".sedal-band-edge[data-edge=high]", left + 0.35 * width, top + 0.25 * height)
        _wait(lambda: band()[1] != 4000, what="the high edge moved")
        assert band()[0] == 1000
        x_band = js("const e = window.sedal.regions.getRegions()[0].element"
                    "  .querySelector('.sedal-band').getBoundingClientRect();"
                    "return e.left + e.width / 2;")
        drag(".sedal-band-edge[data-edge=low]", x_band, top + 0.75 * height)
        _wait(lambda: band()[0] != 1000, what="the low edge moved")
        assert js("return window.sedal.regions.getRegions().length") == 1  # not a new box
        end_x = js("const w = window.sedal.spectro.wrapper.getBoundingClientRect();"
                   "return w.left + w.width * 0.5;")
        drag("[part~='region-handle-right']", end_x, top + 0.9 * height)
        duration = js("return window.sedal.ws.getDuration()")
        _wait(lambda: abs(band()[3] - 0.5 * duration) < 0.05 * duration,
              what="the offset moved")
        offset = band()[3]

        body.send_keys(Keys.ENTER)  # accept + next
        path = session.labels / f"{rel[:-4]}.Table.1.selections.txt"
        _wait(path.exists, what="the Raven file")
        rows = [line.split("\t") for line in path.read_text().splitlines()]
        head, (row,) = rows[0], rows[1:]
        px = 2.0 / height
        assert _mel_hz(0.25 - px) <= float(row[head.index("Low Freq (Hz)")]) <= _mel_hz(0.25 + px)
        assert _mel_hz(0.75 - px) <= float(row[head.index("High Freq (Hz)")]) <= _mel_hz(0.75 + px)
        begin, end = float(row[head.index("Begin Time (s)")]), \
            float(row[head.index("End Time (s)")])
        assert abs(begin - start) < 0.01  # the onset stayed
        assert abs(end - offset) < 0.01 and abs(end - 0.5 * duration) < 0.05 * duration


def test_clip_statuses_are_kept_beside_the_labels_and_shown_in_the_queue(server, collection,
                                                                         yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.clip_state import STATUS_FILE

    base, token, session = server
    hdr = {"X-Sedal-Token": token, "Content-Type": "application/json"}
    rows = session.queue()["rows"]
    first, second = [r["rel"] for r in rows if not r["labelled"]][:2]
    labelled = next(r["rel"] for r in rows if r["labelled"])

    def put(rel, status):
        return _req(f"{base}/api/clip?rel={rel}", method="PUT", headers=hdr,
                    data=json.dumps({"status": status}).encode())

    assert put(first, "skipped")[0] == 200
    assert put(labelled, "needs review")[0] == 200
    assert put(second, "unsure")[0] == 200
    status, q = _req(f"{base}/api/queue", headers=hdr)
    by = {r["rel"]: r for r in json.loads(q)["rows"]}
    assert by[first]["status"] == "skipped" and by[second]["status"] == "unsure"
    assert by[labelled]["status"] == "needs review"
    assert all(by[r]["status"] == "labelled" for r in by if by[r]["labelled"] and r != labelled)
    # kept in the labels folder (atomically), read by a new session; query still reads the folder
    doc = json.loads((session.labels / STATUS_FILE).read_text())
    assert doc == {"statuses": {first: "skipped", labelled: "needs review", second: "unsure"}}
    again = AnnotationSession(session.audio, session.labels, classes=CLASSES,
                              detector=PRESETS["paper"], model=yamnet_model)
    assert again.statuses == doc["statuses"]
    assert put(second, None)[0] == 200 and second not in session.statuses
    # refused: unknown statuses, bodies without one, recordings outside the collection
    assert _one_line_json_error(put(first, "done"), 400)
    assert _one_line_json_error(_req(f"{base}/api/clip?rel={first}", method="PUT", headers=hdr,
                                     data=b'{"state": 1}'), 400)
    assert put("../../etc/passwd", "skipped")[0] == 404
    assert _req(f"{base}/api/clip?rel={first}", method="PUT",
                data=json.dumps({"status": None}).encode())[0] == 403  # token in the header


def test_a_status_file_that_is_not_ours_is_refused_at_start(collection, tmp_path, yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.clip_state import STATUS_FILE

    audio, _ = collection
    labels = _fresh_labels(collection, tmp_path)
    (labels / STATUS_FILE).write_text('{"statuses": {"a.wav": "great"}}')
    with pytest.raises(BenchmarkError, match="is not a sedal status file"):
        AnnotationSession(audio, labels, classes=CLASSES, detector=PRESETS["paper"],
                          model=yamnet_model)


def test_the_queue_shows_confidence_counts_and_whether_the_order_is_random(session, collection,
                                                                           tmp_path,
                                                                           yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession

    q = session.queue()
    assert q["ranked_by_model"] is True
    assert set(q["class_counts"]) == set(CLASSES) and sum(q["class_counts"].values()) > 0
    for r in q["rows"]:
        if not r["labelled"]:
            assert len(r["confidence"]) == len(r["predicted"])
            assert all(0.0 <= p <= 1.0 for p in r["confidence"])
    audio, _ = collection
    empty = AnnotationSession(audio, tmp_path / "none", classes=CLASSES,
                              detector=PRESETS["paper"], model=yamnet_model)
    assert empty.queue()["ranked_by_model"] is False  # no labels: a random order, said so


@pytest.mark.browser
def test_view_controls_statuses_and_shortcuts_in_the_browser(server):
    """Time zoom (keys), frequency zoom, spectrogram settings, playback speed, seek, loop,
    the shortcut sheet, a skip and the next-clip loop after a save, in headless Chromium."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    base, token, session = server
    with _app_page(server) as (d, js, body):
        # time zoom in and back out
        body.send_keys("+")
        _wait(lambda: js("return window.sedal.view.pxPerSec") > 0, what="time zoom in")
        wide = js("return window.sedal.ws.getWrapper().scrollWidth")
        assert wide > d.find_element(By.ID, "wave").size["width"] * 1.2
        body.send_keys("-")
        _wait(lambda: js("return window.sedal.view.pxPerSec") == 0, what="time zoom out")
        # frequency zoom by key, then by the select; FFT, axis and dB range rebuild the view
        body.send_keys("f")
        _wait(lambda: js("return window.sedal.fmax") == 4000, what="frequency zoom in")
        Select(d.find_element(By.ID, "fmax")).select_by_value("2000")
        Select(d.find_element(By.ID, "fft")).select_by_value("1024")
        Select(d.find_element(By.ID, "scale")).select_by_value("linear")
        Select(d.find_element(By.ID, "range")).select_by_value("60")
        _wait(lambda: js("return [window.sedal.fmax, window.sedal.spectro.options.fftSamples,"
                         "window.sedal.spectro.options.scale, "
                         "window.sedal.spectro.options.rangeDB]") == [2000, 1024, "linear", 60],
              what="the spectrogram rebuilt with the settings")
        # playback speed (pitch kept), seek keys
        body.send_keys("]")
        assert js("return window.sedal.ws.getPlaybackRate()") == 1.5
        assert js("return window.sedal.ws.getMediaElement().preservesPitch") is True
        body.send_keys("[", "[", "[")
        assert js("return window.sedal.ws.getPlaybackRate()") == 0.5
        body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        _wait(lambda: abs(js("return window.sedal.ws.getCurrentTime()") - 2.0) < 0.05,
              what="seek 2 s")
        body.send_keys("l")
        assert js("return window.sedal.view.loop") is True
        body.send_keys("l")
        # the shortcut sheet
        body.send_keys("?")
        assert js("return document.getElementById('shortcuts').open") is True
        assert "loop the selected box" in d.find_element(By.ID, "shortcuts").text
        body.send_keys(Keys.ESCAPE)
        _wait(lambda: js("return document.getElementById('shortcuts').open") is False,
              what="the sheet to close")
        # skip: kept, and the next recording opens
        skipped = js("return window.sedal.rel")
        body.send_keys("s")
        _wait(lambda: js("return window.sedal.rel") != skipped and js(
            "return window.sedal.ready === true"), what="the next recording after a skip")
        assert session.statuses.get(skipped) == "skipped"
        row = d.find_element(By.CSS_SELECTOR, f'#queue tbody tr[data-rel="{skipped}"]')
        assert "skipped" in row.text
        # save: the next recording opened is neither the saved nor the skipped one, at once
        saved = js("return window.sedal.rel")
        body.send_keys(Keys.ENTER)
        _wait(lambda: js("return window.sedal.rel") not in (saved, None) and js(
            "return window.sedal.ready === true"), what="the next recording after a save")
        assert js("return window.sedal.rel") != skipped
        assert "predicted (confidence)" in d.find_element(By.ID, "queue").text
        shot = os.environ.get("SEDAL_SCREENSHOT_VIEW")
        if shot:
            d.save_screenshot(shot)


def test_review_mode_lists_detections_by_confidence_and_keeps_each_decision(server,
                                                                            collection,
                                                                            yamnet_model):
    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.clip_state import REVIEW_DIR
    from sedal.sed.annotations import read_label_file

    base, token, session = server
    hdr = {"X-Sedal-Token": token, "Content-Type": "application/json"}
    status, out = _req(f"{base}/api/review", headers=hdr)
    items = json.loads(out)["items"]
    assert status == 200 and items, "the model detects nothing to review"
    conf = [e["confidence"] for e in items]
    assert conf == sorted(conf, reverse=True)
    assert all(e["rel"] not in session.events and e["decision"] is None for e in items)

    def put(body):
        return _req(f"{base}/api/review", method="PUT", headers=hdr,
                    data=json.dumps(body).encode())

    first = items[0]
    other = next(c for c in CLASSES if c != first["label"])
    assert put({**first, "decision": "accept"})[0] == 200
    assert put({**items[-1], "decision": "reject"})[0] == 200
    assert put({**first, "decision": "relabel", "final_label": other})[0] == 200  # replaces
    status, out = _req(f"{base}/api/review", headers=hdr)
    got = {(e["rel"], e["onset"]): e for e in json.loads(out)["items"]}
    assert got[(first["rel"], first["onset"])]["decision"] == "relabel"
    assert got[(first["rel"], first["onset"])]["final_label"] == other
    # kept: a JSON of decisions and one Raven table sedal's reader reads back
    rows = read_label_file(session.labels / REVIEW_DIR / "reviewed.selections.txt")
    assert len(rows) == (2 if len(items) > 1 else 1)
    assert {r.label for r in rows} <= set(CLASSES)
    again = AnnotationSession(session.audio, session.labels, classes=CLASSES,
                              detector=PRESETS["paper"], model=yamnet_model)
    assert len(again.decisions) == len(rows)
    # the decisions do not make a recording labelled (a reviewed box says nothing about the
    # rest of its recording): the labelled set is unchanged
    assert sorted(again.events) == sorted(session.events)
    # refused with one line
    for bad in ({**first, "decision": "maybe"}, {**first, "decision": "relabel"},
                {**first, "confidence": 2, "decision": "accept"},
                {**first, "label": "cat", "decision": "accept"}):
        _one_line_json_error(put(bad), 400)
    assert put({**first, "rel": "../x.wav", "decision": "accept"})[0] == 404


@pytest.mark.browser
def test_review_mode_in_the_browser(server):
    """v opens review mode on the most confident detection; a accepts it and moves on to the
    next, x rejects; each decision is kept."""
    from selenium.webdriver.common.by import By

    base, token, session = server
    with _app_page(server) as (d, js, body):
        body.send_keys("v")
        _wait(lambda: js("return window.sedal.reviewMode === true && "
                         "window.sedal.reviewIndex === 0 && window.sedal.ready === true"),
              what="review mode on the first detection")
        first = js("return window.sedal.reviewItems[0]")
        _wait(lambda: js("return window.sedal.rel") == first["rel"] and js(
            "return window.sedal.ready === true"), what="the first detection's recording")
        assert "Review mode" in d.find_element(By.ID, "review-panel").text
        body.send_keys("a")
        _wait(lambda: len(session.decisions) == 1, what="the first decision")
        assert session.decisions[0]["decision"] == "accept"
        if js("return window.sedal.reviewItems.length") > 1:
            _wait(lambda: js("return window.sedal.reviewIndex") == 1 and js(
                "return window.sedal.ready === true"), what="the next detection")
            body.send_keys("x")
            _wait(lambda: len(session.decisions) == 2, what="the second decision")
            assert {x["decision"] for x in session.decisions} == {"accept", "reject"}
        body.send_keys("v")
        assert js("return window.sedal.reviewMode") is False
