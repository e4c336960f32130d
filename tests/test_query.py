"""sedbench query: rank a collection, write batch files, round-trip the labels."""

import csv
import shutil

import numpy as np
import pytest
import soundfile as sf

from sedal.benchmark.cli import main
from sedal.benchmark.practice.collection import scan_audio
from sedal.benchmark.practice.labelled import load_annotations
from sedal.benchmark.practice.query import run_query
from sedal.generator.manifest import load_manifest
from sedal.sed.annotations import read_labels
from sedal.sed.detector import PRESETS
from sedal.sed.errors import SedError
from sedal.sed.events_io import BIRDNET_RAVEN_COLUMNS, to_audacity, to_raven

PAPER = PRESETS["paper"]  # patch embeddings only: these tests are not about the detector


@pytest.fixture(scope="module")
def collection(small_dataset, tmp_path_factory):
    """Audio of a generated dataset, nested, without labels; some files as FLAC at 22.05 kHz."""
    root = tmp_path_factory.mktemp("coll")
    audio = root / "audio"
    doc = load_manifest(small_dataset / "manifest.json")
    files = doc["files"][:40]
    for i, f in enumerate(files):
        src = small_dataset / f["audio"]
        dest = audio / f"site{i % 3}" / f"{f['id']}.wav"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if i % 7 == 0:
            from scipy.signal import resample_poly

            x, sr = sf.read(src)
            sf.write(dest.with_suffix(".flac"), resample_poly(x, 441, 320), 22050)
        else:
            shutil.copy(src, dest)
    return root, files


def _annotate(collection, tmp_path, n_raven=4, n_audacity=4):
    root, files = collection
    labels = tmp_path / "labels"
    with_events = [f for f in files if f["events"]]
    without = [f for f in files if not f["events"]]
    chosen = with_events[:n_raven + n_audacity - 2] + without[:2]
    recs = {r.key.rsplit("/", 1)[-1]: r for r in scan_audio(root / "audio")[0]}
    for j, f in enumerate(chosen):
        events = [(round(e["event_time"], 6), round(e["event_time"] + e["event_duration"], 6),
                   e["label"]) for e in f["events"]]
        key = recs[f["id"]].key
        if j % 2 == 0:
            p = labels / f"{key}.Table.1.selections.txt"
            text = to_raven(events)
        else:
            p = labels / f"{key}.txt"
            text = to_audacity(events)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return labels, chosen


def test_query_ranks_and_round_trips(collection, yamnet_model, tmp_path):
    root, files = collection
    labels, chosen = _annotate(collection, tmp_path)
    out = tmp_path / "out"
    res = run_query(root / "audio", labels, out, strategy="top_k", k=10, batch=5,
                    model=yamnet_model, cache_root=tmp_path / "cache")
    assert res["annotated"] == len(chosen) and res["ranked"] == 40 - len(chosen)
    assert "ranked by top_k (K=10)" in res["how"]
    with open(out / "ranking.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["rank"]) for r in rows] == list(range(1, 41 - len(chosen)))
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(r["uncertain_segments_s"].count("-") >= 1 for r in rows)
    assert (out / "summary.md").exists()
    # The batch files: one Raven table and one Audacity file per recording, which read back
    # (and write again) exactly.
    ravens = sorted((out / "batch" / "raven").rglob("*.txt"))
    auds = sorted((out / "batch" / "audacity").rglob("*.txt"))
    assert len(ravens) == len(auds) == 5
    for rp, ap in zip(ravens, auds):
        ev_r = read_labels(rp)
        ev_a = read_labels(ap)
        assert ev_r == ev_a
        assert to_audacity(ev_a) == ap.read_text()
        head, *body = rp.read_text().splitlines()
        cols = head.split("\t")
        assert tuple(cols) == BIRDNET_RAVEN_COLUMNS + ("Annotation", "Review")
        assert all(line.endswith("\tpredicted, unreviewed") for line in body)
        conf = cols.index("Confidence")
        assert all(0.0 <= float(line.split("\t")[conf]) <= 1.0 for line in body)
        assert all(b - a >= 0.12 - 1e-9 for a, b, _ in ev_r)  # post-processed: no 60 ms events
    # Move the Raven files into the labels: as they are (unreviewed), they are refused ...
    for rp in ravens:
        dest = labels / rp.relative_to(out / "batch" / "raven")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(rp, dest)
    recs, _ = scan_audio(root / "audio")
    if any(read_labels(rp) for rp in ravens):
        with pytest.raises(SedError, match="unreviewed prediction"):
            load_annotations(labels, recs)
    # ... and once reviewed (here: accepted by deleting the Review column) they are read
    for rp in ravens:
        dest = labels / rp.relative_to(out / "batch" / "raven")
        dest.write_text("\n".join("\t".join(line.split("\t")[:-1])
                                  for line in rp.read_text().splitlines()) + "\n")
    ann = load_annotations(labels, recs)
    for rp in ravens:
        key = rp.relative_to(out / "batch" / "raven").as_posix()[:-len(".Table.1.selections.txt")]
        assert ann[key] == read_labels(rp)
    res2 = run_query(root / "audio", labels, tmp_path / "out2", batch=5, model=yamnet_model,
                     cache_root=tmp_path / "cache", detector=PAPER)
    assert res2["annotated"] == len(chosen) + 5
    assert not set(res2["batch"]) & set(res["batch"])


def test_no_annotations_and_one_class_still_rank(collection, yamnet_model, tmp_path):
    root, files = collection
    res = run_query(root / "audio", None, tmp_path / "o1", batch=3, model=yamnet_model,
                    cache_root=tmp_path / "cache", detector=PAPER)
    assert res["ranked"] == 40 and "ranked at random" in res["how"]
    labels = tmp_path / "labels"
    labels.mkdir()
    recs, _ = scan_audio(root / "audio")
    for r in recs[:3]:
        (labels / f"{r.key.rsplit('/', 1)[-1]}.txt").write_text("")  # background only
    res = run_query(root / "audio", labels, tmp_path / "o2", batch=3, model=yamnet_model,
                    cache_root=tmp_path / "cache", detector=PAPER)
    assert res["annotated"] == 3 and "ranked by novelty" in res["how"]


def test_unreadable_audio_is_skipped_and_listed(collection, yamnet_model, tmp_path):
    root, _ = collection
    audio = tmp_path / "audio"
    shutil.copytree(root / "audio", audio)
    (audio / "site0" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    res = run_query(audio, None, tmp_path / "o", batch=2, model=yamnet_model,
                    cache_root=tmp_path / "cache", detector=PAPER)
    assert [s[0] for s in res["skipped"]] == ["site0/broken.wav"]
    assert "site0/broken.wav" in (tmp_path / "o" / "summary.md").read_text()


def _bad(collection, tmp_path, name, text, **kw):
    root, _ = collection
    labels = tmp_path / "labels"
    labels.mkdir(exist_ok=True)
    (labels / name).write_text(text)
    recs, _ = scan_audio(root / "audio")
    with pytest.raises(SedError) as err:
        load_annotations(labels, recs, **kw)
    return str(err.value)


def test_bad_labels_name_file_and_line(collection, tmp_path):
    root, files = collection
    rid = files[1]["id"]
    msg = _bad(collection, tmp_path, "nope_999.txt", "1.0\t2.0\tdog\n")
    assert "nope_999.txt" in msg and "does not exist" in msg
    shutil.rmtree(tmp_path / "labels")
    msg = _bad(collection, tmp_path, f"{rid}.txt", "1.0\t2.0\tdog\n3.0\t4.0\tcat\n",
               classes=["dog", "baby", "meerkat"])
    assert f"{rid}.txt, line 2: unknown class 'cat'" in msg
    shutil.rmtree(tmp_path / "labels")
    msg = _bad(collection, tmp_path, f"{rid}.txt", "1.0\t2.0\tdog\n-1.0\t0.5\tdog\n")
    assert "line 2: negative start time" in msg
    shutil.rmtree(tmp_path / "labels")
    msg = _bad(collection, tmp_path, f"{rid}.txt", "9.5\t12.0\tdog\n")
    assert "line 1: time 12.0 s is past the end" in msg
    shutil.rmtree(tmp_path / "labels")
    msg = _bad(collection, tmp_path, f"{rid}.Table.1.selections.txt",
               "Selection\tView\tBegin Time\tEnd Time (s)\tAnnotation\n1\tS\t1\t2\tdog\n")
    assert "line 1: malformed Raven header" in msg and "Begin Time (s)" in msg


def test_cli_query(collection, yamnet_model, tmp_path, capsys, monkeypatch):
    root, _ = collection
    import sedal.benchmark.practice.collection as q

    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    # nothing is labelled, so the ranking is random whatever the features: the paper
    # preset's patch embeddings are enough (the field default is run through the API above)
    assert main(["query", str(root / "audio"), "--out", str(tmp_path / "o"),
                 "--batch", "2", "--cache", str(tmp_path / "c"), "--detector", "paper",
                 "--no-progress"]) == 0
    assert "ranked at random" in capsys.readouterr().out
    ranked = (tmp_path / "o" / "ranking.csv").read_text().splitlines()[1:]
    files = [line.split(",")[1] for line in ranked]
    # every recording of the nested collection, WAV and FLAC alike, ranked once
    assert len(files) == len(set(files)) == 40
    assert any(f.endswith(".flac") for f in files) and all("/" in f for f in files)
    assert {f.rsplit(".", 1)[1] for f in files} <= {e.lstrip(".") for e in q.AUDIO_EXTENSIONS}
    assert main(["query", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_embedding_on_a_dask_cluster_fills_the_same_cache(collection, yamnet_model, tmp_path):
    import numpy as np
    from distributed import LocalCluster

    from sedal.benchmark.practice.collection import embed_collection
    from sedal.benchmark.practice.embedding_store import EmbeddingStore

    root, _ = collection
    recs, _ = scan_audio(root / "audio")
    recs = recs[:3]
    local = EmbeddingStore(tmp_path / "local", yamnet_model.provenance["weights_sha256"])
    embed_collection(recs, local, yamnet_model)
    remote = EmbeddingStore(tmp_path / "dask", yamnet_model.provenance["weights_sha256"])
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cluster:
        embed_collection(recs, remote, None, scheduler=cluster.scheduler_address)
    for r in recs:
        assert np.array_equal(remote.load(r.sha256), local.load(r.sha256))  # same bytes


def test_streamed_entropy_matches_probabilities():
    from sedal.benchmark.practice.query import entropy_streamed
    from sedal.sed.estimator import Detector
    from sedal.sed.uncertainty import entropy

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 30)).astype(np.float32)
    X[:, 20:] = 0
    y = rng.integers(0, 3, 3000)
    X[:, 0] += y
    clf = Detector.paper(classes=list("abcd")).fit(X, y)
    Xt = rng.normal(size=(1000, 30)).astype(np.float16)
    H, top = entropy_streamed(clf, Xt, chunk=128)
    p = clf.predict_proba(Xt.astype(np.float32))
    assert np.abs(H - entropy(p)).max() < 1e-4
    assert ((top != 0) == (p.argmax(1) != 0)).all()


def test_identical_recordings_are_ranked_once(tmp_path, yamnet_model):
    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    for name in ("a.wav", "b.wav", "c.wav"):
        sf.write(audio / name, x, 16000)
    sf.write(audio / "d.wav", (0.1 * rng.standard_normal(32000)).astype(np.float32), 16000)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "c.txt").write_text("")  # c is annotated (background only), a and b are c
    (labels / "d.txt").write_text("0.5\t1.0\tdog\n")
    res = run_query(audio, labels, tmp_path / "q", model=yamnet_model,
                    cache_root=tmp_path / "cache", detector=PAPER)
    assert res["ranked"] == 0 and res["duplicates"] == [("a.wav", "c.wav"), ("b.wav", "c.wav")]
    (labels / "c.txt").unlink()
    res = run_query(audio, labels, tmp_path / "q2", model=yamnet_model,
                    cache_root=tmp_path / "cache", detector=PAPER)
    assert res["ranked"] == 1 and res["duplicates"] == [("b.wav", "a.wav"), ("c.wav", "a.wav")]
    assert "b.wav = a.wav" in (tmp_path / "q2" / "summary.md").read_text()


def test_an_interrupted_detect_leaves_a_folder_marked_incomplete(tmp_path):
    from sedal.benchmark.practice.detect import INCOMPLETE, writing_marker

    out = tmp_path / "det"
    out.mkdir()
    (out / "summary.md").write_text("an earlier, finished run")
    with pytest.raises(KeyboardInterrupt):
        with writing_marker(out):
            (out / "detections.tsv").write_text("half")
            raise KeyboardInterrupt  # a kill between the tables and the summary
    assert (out / INCOMPLETE).is_file() and not (out / "summary.md").exists()
    with writing_marker(out):
        (out / "summary.md").write_text("done")
    assert not (out / INCOMPLETE).exists() and (out / "summary.md").read_text() == "done"
