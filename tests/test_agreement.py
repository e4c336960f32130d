"""sedbench labels agreement: inter-annotator event F1, and annotate --annotator keeping
each person's labels apart."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sedal.benchmark.cli import main
from sedal.sed.events_io import to_raven


@pytest.fixture
def folders(tmp_path):
    audio, labels = tmp_path / "audio", tmp_path / "labels"
    audio.mkdir()
    for name in ("a", "b", "c"):
        sf.write(audio / f"{name}.wav", np.zeros(16000 * 10, np.float32), 16000)

    def table(who, rec, events):
        p = labels / who / f"{rec}.Table.1.selections.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(to_raven(events))

    # alice and bob both label a and b; only alice labels c
    table("alice", "a", [(1.0, 2.0, "dog"), (4.0, 5.0, "baby")])
    table("bob", "a", [(1.1, 2.05, "dog"), (4.0, 5.0, "dog")])  # a hit, a class confusion
    table("alice", "b", [(6.0, 8.0, "dog")])
    table("bob", "b", [(6.5, 8.0, "dog")])  # onset 0.5 s off: no hit at a 0.2 s collar
    table("alice", "c", [(0.0, 1.0, "baby")])
    return audio, labels


def test_agreement_is_event_f1_on_the_recordings_both_labelled(folders):
    from sedal.benchmark.practice.agreement import annotator_agreement

    audio, labels = folders
    res = annotator_agreement(audio, labels)
    assert res["annotators"] == {"alice": 3, "bob": 2}
    ab = next(p for p in res["pairs"] if p["reference"] == "alice")
    # on a and b: alice 3 events, bob 3, one hit -> F1 = 2 * 1 / 6
    assert (ab["recordings"], ab["events_ref"], ab["events_est"], ab["hits"]) == (2, 3, 3, 1)
    assert ab["f1"] == pytest.approx(1 / 3)
    assert ab["per_class"]["dog"] == pytest.approx(2 * 1 / (2 + 3))
    assert ab["per_class"]["baby"] == 0.0
    # a wider collar counts b's late onset as a hit
    wide = annotator_agreement(audio, labels, t_collar=0.6)
    assert next(p for p in wide["pairs"] if p["reference"] == "alice")["hits"] == 2


def test_agreement_cli_prints_a_table_and_refuses_one_annotator(folders, capsys, tmp_path):
    audio, labels = folders
    assert main(["labels", "agreement", str(audio), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert "| alice | bob | 2 | 3 / 3 | 0.333 |" in out
    only = tmp_path / "one"
    (only / "alice").mkdir(parents=True)
    assert main(["labels", "agreement", str(audio), "--labels", str(only)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "agreement needs two or more" in err
    assert main(["labels", "agreement", str(audio), "--labels", str(labels),
                 "--collar", "-1"]) == 2


@pytest.mark.parametrize("name", ["../evil", ".hidden", "a/b", ""])
def test_annotate_refuses_an_annotator_name_that_is_not_a_plain_name(folders, name, capsys):
    audio, labels = folders
    assert main(["annotate", str(audio), "--labels", str(labels), "--out",
                 str(labels.parent / "out"), "--annotator", name, "--export",
                 "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert not (labels.parent / "evil").exists()


def test_annotate_keeps_each_annotators_labels_apart(folders, tmp_path, yamnet_model,
                                                     monkeypatch):
    audio, labels = folders
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    out = tmp_path / "out"
    assert main(["annotate", str(audio), "--labels", str(labels), "--out", str(out),
                 "--annotator", "bob", "--export", "--detector", "paper",
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    tsv = (out / "labels.tsv").read_text()
    assert "b.wav\t6.500000" in tsv and "c.wav" not in tsv  # bob's labels only
