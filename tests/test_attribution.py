"""A dataset carries its sources' licences and citations (SOURCES.csv,
``sedgen license``, ``sedgen cite``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sedal.generator.attribution import SOURCES_CSV, clips_used, obligations
from sedal.generator.cli import main
from sedal.generator.dataset import make_dataset
from sedal.generator.manifest import read_manifest
from sedal.generator.regenerate import verify_dataset
from sedal.generator.spec import DatasetSpec

MANIFESTS = Path(__file__).resolve().parents[1] / "data_manifests"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_builtin_dataset_cites_and_licenses(tmp_path, capsys):
    out = tmp_path / "ds"
    make_dataset(DatasetSpec(n_files=20, event_ratio=0.5, seed=1), out, builtin="clean")
    doc = read_manifest(out / "manifest.json")
    assert SOURCES_CSV in doc.tables and verify_dataset(out) == []
    rows = _rows(out / SOURCES_CSV)
    assert {r["clip"]: int(r["uses"]) for r in rows} == dict(clips_used(f.plan for f in doc.files))
    assert all(r["licence"].startswith("CC0-1.0") for r in rows)
    assert main(["license", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{len(rows)} source clips" in text and "CC0-1.0" in text and "| none" in text
    assert main(["cite", str(out)]) == 0
    bib = capsys.readouterr().out
    assert "@software{sedal," in bib and "@misc{lindholm2025aggregation," in bib
    assert doc.manifest_sha256 in bib and "@inproceedings{salamon2017scaper," in bib
    # the dataset's own entry comes first and is complete
    entry = bib.split("\n\n")[0]
    assert entry.startswith(f"@misc{{sedal_dataset_{doc.dataset_id},")
    for key in ("title", "author", "year", "howpublished", "note"):
        assert f"  {key}" in entry, key
    assert "SNR 0 dB, event ratio 0.5, 20 files of 10 s, seed 1" in entry
    assert entry.count("{") == entry.count("}")
    # and the same as a Citation File Format document
    import yaml

    assert main(["cite", str(out), "--format", "cff"]) == 0
    doc_cff = yaml.safe_load(capsys.readouterr().out)
    assert doc_cff["cff-version"] == "1.2.0" and doc_cff["type"] == "dataset"
    assert doc_cff["identifiers"][0]["value"] == doc.manifest_sha256
    assert doc_cff["authors"] and doc_cff["title"].startswith("sedal soundscape dataset")
    assert [r["type"] for r in doc_cff["references"][:3]] == ["software", "article",
                                                              "conference-paper"]
    # info names the id to cite
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert f"manifest_sha256 {doc.manifest_sha256}" in info and entry in info


def test_real_source_dataset_carries_licences_and_obligations(real_sources, tmp_path, capsys):
    out = tmp_path / "ds"
    make_dataset(DatasetSpec(n_files=30, event_ratio=0.6, seed=2), out, sources=real_sources)
    rows = _rows(out / SOURCES_CSV)
    assert rows and all(r["licence"] and r["origin"] for r in rows)  # every clip attributed
    assert main(["license", str(out)]) == 0
    text = capsys.readouterr().out
    for r in rows:
        assert r["clip"] in text
    lics = {r["licence"] for r in rows}
    assert any("share-alike" in obligations(lic) or "copyleft" in obligations(lic)
               for lic in lics) or len(lics) >= 2
    assert main(["cite", str(out)]) == 0
    assert "@software{sedal," in capsys.readouterr().out


def test_older_manifests_without_sources_csv(tmp_path, capsys):
    """The committed clean-library manifests predate SOURCES.csv: built-in, so licensed."""
    path = MANIFESTS / "builtin-clean" / "snr0_r1_n2500_seed0.manifest.json.gz"
    assert main(["license", str(path)]) == 0
    assert "CC0-1.0" in capsys.readouterr().out


def test_folder_dataset_without_sources_csv_needs_the_library(real_sources, tmp_path, capsys):
    out = tmp_path / "ds"
    make_dataset(DatasetSpec(n_files=20, event_ratio=0.5, seed=3), out, sources=real_sources)
    (out / SOURCES_CSV).unlink()
    assert main(["license", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --sources LIBRARY" in err
    assert main(["license", str(out), "--sources", str(real_sources)]) == 0


@pytest.mark.parametrize("licence, words", [("CC0-1.0", "none"), ("CC-BY-NC 3.0", "non-commercial"),
                                            ("CC BY-SA 4.0", "share-alike"), ("GPL-3", "copyleft"),
                                            ("", "unknown")])
def test_obligations(licence, words):
    assert words in obligations(licence)
