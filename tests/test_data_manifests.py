"""The committed manifests of the study grid regenerate bit-identically."""

from pathlib import Path

import pytest

from sedal.generator.dataset import regenerate_dataset
from sedal.generator.manifest import load_manifest
from sedal.generator.spec import STUDY_GRID, DatasetSpec

MANIFESTS = Path(__file__).resolve().parents[1] / "data_manifests"


@pytest.mark.parametrize("folder, library", [(MANIFESTS, "field"),
                                             (MANIFESTS / "builtin-clean", "clean")])
def test_the_grid_is_committed(folder, library):
    """The default library's grid at the top, the clean library's in builtin-clean/."""
    names = {p.name for p in folder.glob("*.manifest.json.gz")}
    for snr, ratio in STUDY_GRID:
        name = f"{DatasetSpec(snr=snr, event_ratio=ratio).default_dirname()}_n2500_seed0"
        assert f"{name}.manifest.json.gz" in names
        doc = load_manifest(folder / f"{name}.manifest.json.gz")
        assert doc["sources"].get("builtin_library", "clean") == library


@pytest.mark.parametrize("path", sorted(MANIFESTS.rglob("*.manifest.json.gz")),
                         ids=lambda p: p.relative_to(MANIFESTS).as_posix())
def test_committed_manifest_regenerates_a_few_files(path, tmp_path):
    doc = load_manifest(path)
    assert len(doc["files"]) == 2500
    # one file with events and one without, from each split
    ids = []
    for split in ("train", "test"):
        files = [f for f in doc["files"] if f["split"] == split]
        ids.append(next(f["id"] for f in files if f["events"]))
        ids.extend(f["id"] for f in files[:1] if not f["events"])
    bad = regenerate_dataset(path, tmp_path / "out", ids=ids)
    assert bad == []
    assert len(list((tmp_path / "out" / "audio").rglob("*.wav"))) == len(ids)
