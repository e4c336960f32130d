"""The tables people really have read to the right events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sedal.benchmark.cli import main
from sedal.benchmark.practice.collection import scan_audio
from sedal.benchmark.practice.labelled import collect_annotations
from sedal.sed.annotations import merge_classes, read_label_file, recording_key
from sedal.sed.errors import SedError
from sedal.sed.events_io import BIRDNET_CSV_COLUMNS, BIRDNET_RAVEN_COLUMNS

RAVEN_HEAD = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
              "High Freq (Hz)\tAnnotation")


@pytest.fixture
def audio(tmp_path):
    root = tmp_path / "audio"
    (root / "siteA").mkdir(parents=True)
    for name in ("siteA/rec1.wav", "siteA/rec2.wav", "rec3.wav"):
        sf.write(root / name, np.zeros(16000 * 10, np.float32), 16000)
    return root


def _write(path, text: str, *, bom=False, crlf=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def test_raven_with_two_views_counts_each_selection_once(tmp_path):
    p = _write(tmp_path / "x.Table.1.selections.txt", RAVEN_HEAD + "\n"
               "1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
               "1\tSpectrogram 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
               "2\tWaveform 1\t1\t3.04\t3.08\t0\t8000\tbaby\n"
               "2\tSpectrogram 1\t1\t3.04\t3.08\t0\t8000\tbaby\n", bom=True, crlf=True)
    rows = read_label_file(p)
    assert [(r.onset, r.offset, r.label) for r in rows] == [(1.0, 2.0, "dog"),
                                                            (3.04, 3.08, "baby")]


def test_birdnet_table_name_and_columns(audio, tmp_path):
    labels = tmp_path / "labels"
    _write(labels / "siteA" / "rec1.BirdNET.selection.table.txt",
           "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
           "High Freq (Hz)\tSpecies Code\tCommon Name\tConfidence\n"
           "1\tSpectrogram 1\t1\t0\t3.0\t150\t12000\tdog\tDog\t0.8\n")
    assert recording_key(labels / "siteA" / "rec1.BirdNET.selection.table.txt", labels) == \
        "siteA/rec1"
    ann = collect_annotations(labels, scan_audio(audio)[0])
    assert ann.events == {"siteA/rec1": [(0.0, 3.0, "Dog")]}


def test_raven_table_spanning_several_recordings(audio, tmp_path):
    labels = tmp_path / "labels"
    _write(labels / "all.selections.txt",
           "Selection\tView\tBegin Time (s)\tEnd Time (s)\tBegin Path\tFile Offset (s)\t"
           "Annotation\n"
           "1\tSpectrogram 1\t1.5\t2.5\tC:\\\\data\\\\siteA\\\\rec1.wav\t1.5\tdog\n"
           "2\tSpectrogram 1\t12.0\t13.0\tC:\\\\data\\\\siteA\\\\rec2.wav\t2.0\tbaby\n"
           "2\tWaveform 1\t12.0\t13.0\tC:\\\\data\\\\siteA\\\\rec2.wav\t2.0\tbaby\n")
    ann = collect_annotations(labels, scan_audio(audio)[0])
    assert ann.events == {"siteA/rec1": [(1.5, 2.5, "dog")], "siteA/rec2": [(2.0, 3.0, "baby")]}


def test_dcase_table_for_many_recordings(audio, tmp_path):
    labels = tmp_path / "labels"
    _write(labels / "train.tsv", "filename\tonset\toffset\tevent_label\n"
           "rec1.wav\t0.5\t1.0\tdog\nrec3.wav\t2.0\t4.0\tbaby\nrec1.wav\t5.0\t6.0\tdog\n",
           crlf=True)
    ann = collect_annotations(labels, scan_audio(audio)[0])
    assert ann.events == {"siteA/rec1": [(0.5, 1.0, "dog"), (5.0, 6.0, "dog")],
                          "rec3": [(2.0, 4.0, "baby")]}


def test_csv_with_a_header(audio, tmp_path):
    labels = tmp_path / "labels"
    _write(labels / "rec3.csv", "Start,End,Class\n0.25,0.75,meerkat\n1,2,Meerkat\n", bom=True)
    ann = collect_annotations(labels, scan_audio(audio)[0])
    assert ann.events == {"rec3": [(0.25, 0.75, "meerkat"), (1.0, 2.0, "meerkat")]}
    assert ann.warnings == ["merged 'Meerkat', 'meerkat' into 'meerkat'"]


def test_mixed_case_classes_merge_or_map_onto_given_classes():
    mapping, warnings = merge_classes(["Dog", "dog", "dog ", "Baby"])
    assert mapping == {"Dog": "dog", "dog": "dog", "dog ": "dog", "Baby": "Baby"}
    assert len(warnings) == 1 and "into 'dog'" in warnings[0]
    mapping, warnings = merge_classes(["DOG", "baby"], ["dog", "baby"])
    assert mapping == {"DOG": "dog", "baby": "baby"} and warnings == ["merged 'DOG' into 'dog'"]


def test_problems_name_file_and_line(audio, tmp_path, capsys):
    labels = tmp_path / "labels"
    _write(labels / "rec3.txt", "0.5\t1.0\tdog\n2.0\t99.0\tdog\n")
    _write(labels / "nope.txt", "1\t2\tdog\n")
    _write(labels / "siteA" / "rec1.csv", "onset,offset,label\n1,x,dog\n")
    recs = scan_audio(audio)[0]
    with pytest.raises(SedError):
        collect_annotations(labels, recs)
    ann = collect_annotations(labels, recs, strict=False)
    text = "\n".join(ann.problems)
    assert "rec3.txt, line 2: time 99.0 s is past the end" in text
    assert "nope.txt: label file for a recording that does not exist" in text
    assert "rec1.csv, line 2: offset 'x' is not a number" in text
    assert main(["labels", "check", str(audio), "--labels", str(labels)]) == 1
    out = capsys.readouterr().out
    assert "rec3.wav: dog 1" in out and out.count("problem: ") == 3


def test_labels_check_ok(audio, tmp_path, capsys):
    labels = tmp_path / "labels"
    _write(labels / "rec3.txt", "0.5\t1.0\tDog\n2.0\t3.0\tdog\n")
    assert main(["labels", "check", str(audio), "--labels", str(labels)]) == 0
    cap = capsys.readouterr()
    assert "rec3.wav: dog 2" in cap.out and "merged 'Dog', 'dog' into 'dog'" in cap.err


def test_raven_batch_tables_respect_nyquist(tmp_path):
    from sedal.sed.events_io import to_raven

    text = to_raven([(0.0, 1.0, "dog")], high_hz=min(8000.0, 8000 / 2))
    assert "\t4000.0\tdog" in text


def test_detect_on_real_recordings_writes_tables_that_read_back(real_sources, tmp_path,
                                                                 yamnet_model, monkeypatch):
    """detect on a small real-source collection; formats, confidence in [0, 1]."""
    import csv
    import shutil

    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.annotations import read_labels

    ds = tmp_path / "ds"
    make_dataset(DatasetSpec(n_files=30, event_ratio=0.6, seed=4), ds, sources=real_sources)
    audio, labels = tmp_path / "audio", tmp_path / "labels"
    shutil.copytree(ds / "audio", audio)
    labels.mkdir()
    shutil.copy(ds / "metadata" / "train.tsv", labels / "train.tsv")  # many recordings
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    out = tmp_path / "det"
    assert main(["detect", str(audio), "--labels", str(labels), "--out", str(out),
                 "--save-model", str(tmp_path / "model"), "--cache", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    ravens = sorted((out / "raven").rglob("*.txt"))
    assert len(ravens) == 30 and len(list((out / "audacity").rglob("*.txt"))) == 30
    head = ravens[0].read_text().splitlines()[0].split("\t")
    assert tuple(head) == BIRDNET_RAVEN_COLUMNS + ("Annotation", "Review")
    with open(out / "detections.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == BIRDNET_CSV_COLUMNS
    assert rows and all(0.0 <= float(r["Confidence"]) <= 1.0 for r in rows)
    assert all(Path(r["File"]).is_absolute() and Path(r["File"]).is_file() for r in rows)
    assert (out / "detections.tsv").read_text().startswith("filename\tonset\toffset\tevent_label")
    by_file: dict[str, list] = {}
    for r in rows:
        by_file.setdefault(Path(r["File"]).name, []).append(
            (round(float(r["Start (s)"]), 6), round(float(r["End (s)"]), 6), r["Common name"]))
    for rp in ravens:  # a table written by sedal reads back to the same events
        name = rp.name[:-len(".Table.1.selections.txt")] + ".wav"
        assert read_labels(rp) == by_file.get(name, [])
    # the combined table: the recordings end to end, each row naming its recording and its
    # onset in it (File Offset), read back to the same events
    combined = read_label_file(out / "detections.selections.txt")
    got: dict[str, list] = {}
    for row in combined:
        got.setdefault(row.recording, []).append((row.onset, row.offset, row.label))
    assert got.keys() == by_file.keys()
    for name, evs in by_file.items():
        assert np.allclose([e[:2] for e in got[name]], [e[:2] for e in evs], atol=2e-6)
        assert [e[2] for e in got[name]] == [e[2] for e in evs]
    # the CSV reads back (our reader takes BirdNET's columns)
    csv_rows = read_label_file(out / "detections.csv")
    assert sorted((r.recording, r.onset, r.offset, r.label) for r in csv_rows) == sorted(
        (f, *e) for f, evs in by_file.items() for e in evs)
    # the saved model gives the same detections without retraining
    out2 = tmp_path / "det2"
    assert main(["detect", str(audio), "--model", str(tmp_path / "model"),
                 "--out", str(out2), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    assert (out2 / "detections.csv").read_text() == (out / "detections.csv").read_text()
    # the post-processing was chosen by cross-validation on the labels, said so, and saved
    summary = (out / "summary.md").read_text()
    assert "chosen by 5-fold cross-validation over the labelled recordings" in summary
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    post = meta["postprocess"]
    assert set(post) - {"onset", "offset"} == {"merge_gap", "min_duration", "min_confidence"}
    if "onset" in post:  # hysteresis won the cross-validation: said so, both thresholds kept
        assert 0 <= post["offset"] <= post["onset"] <= 1
        assert f"hysteresis (onset {post['onset']:g}, offset {post['offset']:g})" in summary
    assert "the saved model's" in (out2 / "summary.md").read_text()


def test_saved_model_refuses_other_formats(tmp_path):
    from sedal.sed.savedmodel import load_model

    with pytest.raises(SedError, match="not a saved sedal model"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"format": "other"}')
    np.savez(tmp_path / "model.npz", x=np.zeros(1))
    with pytest.raises(SedError, match="is not a sedal-detector file"):
        load_model(tmp_path)


@pytest.mark.parametrize("name, text", [
    ("x.Table.1.selections.txt", RAVEN_HEAD + "\n1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\t\n"),
    ("x.txt", "1.0\t2.0\n"),  # an Audacity label without text
    ("x.tsv", "onset\toffset\tevent_label\n1.0\t2.0\t\n"),
    ("x.csv", "onset,offset,label\n1.0,2.0,\"\"\n"),
])
def test_an_empty_class_name_is_refused_with_its_line(tmp_path, name, text):
    p = _write(tmp_path / name, text)
    with pytest.raises(SedError, match=r"line 2: empty class name|line 1: empty class name"):
        read_label_file(p)


@pytest.mark.parametrize("label", ["dog\x00", "do\u200bg", "cat\u2028evil"])
def test_control_characters_in_a_class_name_are_refused(tmp_path, label):
    p = _write(tmp_path / "x.Table.1.selections.txt",
               RAVEN_HEAD + f"\n1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\t{label}\n")
    with pytest.raises(SedError, match="line 2: class name .* control character"):
        read_label_file(p)
    q = _write(tmp_path / "y.csv", 'onset,offset,label\n1.0,2.0,"cat\nevil"\n')
    with pytest.raises(SedError, match="control character"):
        read_label_file(q)


def test_one_selection_with_two_different_events_is_refused(tmp_path):
    p = _write(tmp_path / "x.Table.1.selections.txt", RAVEN_HEAD + "\n"
               "1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
               "1\tWaveform 1\t1\t3.0\t4.0\t0\t8000\tbaby\n")
    with pytest.raises(SedError, match=r"line 3: selection 1 is baby 3-4 s here but dog 1-2 s "
                                       r"on line 2"):
        read_label_file(p)


def test_a_latin_1_table_is_refused_with_the_line_not_read_with_replacements(tmp_path):
    p = tmp_path / "x.Table.1.selections.txt"
    p.write_bytes((RAVEN_HEAD + "\n1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
                   "2\tWaveform 1\t1\t3.0\t4.0\t0\t8000\tH\u00e4ndin\n").encode("latin-1"))
    with pytest.raises(SedError, match=r"line 3: not UTF-8 text \(byte 0xE4\)"):
        read_label_file(p)


def test_classes_option_refuses_empty_and_repeated_names(audio, tmp_path, capsys):
    for bad in ("dog,,baby", "dog,Dog", "dog,ba\tby"):
        assert main(["labels", "check", str(audio), "--labels", str(tmp_path),
                     "--classes", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "--classes" in err[0]


def test_two_recordings_that_differ_only_in_extension_are_refused(tmp_path):
    from sedal.benchmark.errors import BenchmarkError

    root = tmp_path / "audio"
    root.mkdir()
    sf.write(root / "a.flac", np.zeros(16000, np.float32), 16000)
    sf.write(root / "a.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(BenchmarkError, match="a.flac and a.wav differ only in their extension"):
        scan_audio(root)


def _saved(tmp_path):
    from sedal.sed.model import SegmentClassifier
    from sedal.sed.savedmodel import save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 16)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 1.0).astype(int)
    clf = SegmentClassifier(3).fit(X, y)
    return save_model(tmp_path / "m", clf, ["background", "dog", "baby"], features={},
                      detector={}, postprocess={"merge_gap": 0.06}, weights_sha256="x")


def _tamper_npz(path, **changes):
    with np.load(path / "model.npz") as z:
        a = {k: z[k] for k in z.files}
    a.update(changes)
    np.savez(path / "model.npz", **a)


def _tamper_json(path, **changes):
    meta = json.loads((path / "model.json").read_text())
    meta.update(changes)
    meta.pop("arrays_sha256", None) if "keep_sha" not in changes else None
    (path / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, match", [
    ("truncate", "sha256"),
    ("truncate_unsealed", "cannot read the model"),
    ("shape", "do not fit together"),
    ("zero_d_mean", "mean must be a 1-d numeric array"),
    ("nan_coef", "NaN or infinite"),
    ("post_text", "post-processing 'merge_gap'"),
    ("int_classes", "'classes' must be a list"),
    ("newline_class", "control character"),
    ("classifier_C", "classifier C"),
    ("classifier_name", "'classifier' must be an object"),
    ("class_weight", "class_weight 'heavy'"),
])
def test_a_tampered_saved_model_is_one_error(tmp_path, damage, match):
    from sedal.sed.savedmodel import load_model

    m = _saved(tmp_path)
    load_model(m)  # the untouched model loads
    with np.load(m / "model.npz") as z:
        coef, mean = z["coef"], z["mean"]
    if damage == "truncate":
        (m / "model.npz").write_bytes((m / "model.npz").read_bytes()[:300])
    elif damage == "truncate_unsealed":
        (m / "model.npz").write_bytes((m / "model.npz").read_bytes()[:300])
        _tamper_json(m)
    elif damage == "shape":
        _tamper_npz(m, coef=coef[:, :-1])
        _tamper_json(m)
    elif damage == "zero_d_mean":
        _tamper_npz(m, mean=np.float32(0.0))
        _tamper_json(m)
    elif damage == "nan_coef":
        _tamper_npz(m, coef=np.full_like(coef, np.nan))
        _tamper_json(m)
    elif damage == "post_text":
        _tamper_json(m, postprocess={"merge_gap": "wide"})
    elif damage == "int_classes":
        _tamper_json(m, classes=[0, 1, 2])
    elif damage == "newline_class":
        _tamper_json(m, classes=["background", "cat\nevil", "baby"])
    elif damage == "classifier_C":
        _tamper_json(m, classifier={"C": "x"})
    elif damage == "classifier_name":  # a classifier given by a name, not its settings
        _tamper_json(m, classifier="no-such-classifier")
    elif damage == "class_weight":
        _tamper_json(m, classifier={"class_weight": "heavy"})
    assert mean.ndim == 1
    with pytest.raises(SedError, match=match):
        load_model(m)


def test_a_saved_model_for_wider_features_is_one_error_naming_it(tmp_path):
    """A model whose arrays fit together but read a column the features lack (saved for
    other features, or tampered) is refused when it meets the features, naming its folder
    (was an IndexError traceback in detect)."""
    from sedal.sed.estimator import Detector

    m = _saved(tmp_path)
    det, _ = Detector.load(m)
    assert det.predict_proba(np.zeros((5, 16), np.float32)).shape == (5, 3)
    with pytest.raises(SedError, match=f"{m}: the model reads feature column 15 but the "
                                       "features have 8 columns"):
        det.predict_proba(np.zeros((5, 8), np.float32))


def test_the_same_box_under_two_selection_numbers_is_counted_once_with_a_warning(audio,
                                                                                   tmp_path):
    labels = tmp_path / "labels"
    _write(labels / "siteA" / "rec1.Table.1.selections.txt", RAVEN_HEAD + "\n"
           "1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
           "2\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\n"
           "3\tWaveform 1\t1\t3.0\t4.0\t0\t8000\tdog\n")
    ann = collect_annotations(labels, scan_audio(audio)[0])
    assert ann.events == {"siteA/rec1": [(1.0, 2.0, "dog"), (3.0, 4.0, "dog")]}
    assert len(ann.warnings) == 1
    assert "line 3: the same event as line 2 (dog 1-2 s); counted once" in ann.warnings[0]


def test_birdnet_tables_name_classes_from_the_class_map_and_read_back(tmp_path):
    from sedal.sed.classmap import class_names, read_class_map
    from sedal.sed.events_io import to_birdnet_csv, to_birdnet_raven

    cmap = _write(tmp_path / "map.csv", "class,common_name,scientific_name,species_code\n"
                  "dog,Domestic dog,Canis familiaris,domdog\nbaby,,,\n")
    names = class_names(["baby", "dog", "Meerkat call 2"], read_class_map(cmap))
    assert names["dog"].common == "Domestic dog" and names["dog"].code == "domdog"
    # defaults: the class name for both names (no invented taxonomy), the stated code rule
    assert (names["baby"].common, names["baby"].scientific, names["baby"].code) == \
        ("baby", "baby", "baby")
    assert names["Meerkat call 2"].code == "meerkatcall2"
    assert class_names(["蛙"])["蛙"].code == "u86d9"
    evs = [(0.5, 1.25, "dog", 0.9), (2.0, 3.0, "Meerkat call 2", 0.5)]
    table = _write(tmp_path / "a.Table.1.selections.txt",
                   to_birdnet_raven([("/data/a.wav", 0.0, evs, 8000.0)], names))
    head, first = table.read_text().splitlines()[:2]
    assert tuple(head.split("\t")) == BIRDNET_RAVEN_COLUMNS + ("Annotation",)
    cells = dict(zip(head.split("\t"), first.split("\t")))
    assert (cells["Common Name"], cells["Species Code"], cells["Annotation"],
            cells["Begin Path"], cells["File Offset (s)"]) == \
        ("Domestic dog", "domdog", "dog", "/data/a.wav", "0.500000")
    # the class column is read first; BirdNET's columns on request
    assert [r.label for r in read_label_file(table)] == ["dog", "Meerkat call 2"]
    assert [r.label for r in read_label_file(table, label_column="Species Code")] == \
        ["domdog", "meerkatcall2"]
    csv_text = to_birdnet_csv({"/data/a.wav": evs}, names)
    assert csv_text.splitlines()[1] == "0.500000,1.250000,Canis familiaris,Domestic dog,0.9000," \
        "/data/a.wav"
    # a header-only table (a recording without detections) is valid Raven and reads as empty
    empty = _write(tmp_path / "b.Table.1.selections.txt", to_birdnet_raven(
        [("/data/b.wav", 0.0, [], 8000.0)], names))
    assert read_label_file(empty) == []


@pytest.mark.parametrize("text, match", [
    ("common_name\nDog\n", "'class' required"),
    ("class,colour\ndog,brown\n", "'class' required"),
    ("class,species_code\ndog,d\ndog,e\n", "line 3: class 'dog' is listed twice"),
    ("class,species_code\ndog,do g\n", "line 2: species code 'do g' holds a space"),
    ("class,species_code\ndog,x\nbaby,x\n", "both have the species code 'x'"),
    ("class\n\n", None),
])
def test_a_bad_class_map_is_refused_with_its_line(tmp_path, text, match):
    from sedal.sed.classmap import class_names, read_class_map

    p = _write(tmp_path / "map.csv", text)
    if match is None:
        assert class_names(["dog"], read_class_map(p))["dog"].code == "dog"
        return
    with pytest.raises(SedError, match=match):
        class_names(["dog", "baby"], read_class_map(p))


def test_class_names_that_code_alike_are_refused_without_a_map():
    from sedal.sed.classmap import class_names

    with pytest.raises(SedError, match="give them codes in a --class-map file"):
        class_names(["dog-1", "dog 1"])
