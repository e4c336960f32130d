"""The committed manifests of the study grid regenerate bit-identically."""

from pathlib import Path

import pytest

from sedal.generator.manifest import load_manifest
from sedal.generator.regenerate import regenerate_dataset
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


@pytest.mark.parametrize("path", sorted(MANIFESTS.rglob("*.manifest.json.gz")),
                         ids=lambda p: p.relative_to(MANIFESTS).as_posix())
def test_committed_manifest_regenerates_on_a_simulated_other_machine(path, tmp_path):
    """``sedgen regenerate`` with numpy's AVX2 kernels off, another OpenBLAS core and one
    thread reproduces the manifest's hashes (a sample: two files of each split)."""
    import os
    import subprocess
    import sys

    from tests.test_machine_independence import OTHER_MACHINE

    doc = load_manifest(path)
    ids = []
    for split in ("train", "test"):
        files = [f for f in doc["files"] if f["split"] == split]
        ids.append(next(f["id"] for f in files[7:] if f["events"]))
        ids += [f["id"] for f in files[3:] if not f["events"]][:1]  # none at ratio 1
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, **OTHER_MACHINE, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-m", "sedal.generator.cli", "regenerate", str(path),
                           "--out", str(tmp_path / "out"), "--files", *ids, "-q"],
                          capture_output=True, text=True, env=env, cwd=root, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every file matches the manifest" in proc.stdout


def test_format_1_manifests_are_still_read(tmp_path):
    """A manifest written before format 2 loads (its id hashed `versions` too)."""
    import gzip
    import json

    from sedal.generator.manifest import _body_hash

    doc = load_manifest(MANIFESTS / "snr0_r0.2_n2500_seed0.manifest.json.gz")
    old = {k: v for k, v in doc.items() if k != "manifest_sha256"} | {"format_version": 1}
    old["manifest_sha256"] = _body_hash(old)
    p = tmp_path / "old.manifest.json.gz"
    p.write_bytes(gzip.compress(json.dumps(old).encode()))
    assert load_manifest(p)["format_version"] == 1
    # the two hashes differ in what they cover: format 2 leaves `versions` out
    changed = dict(old, versions={"numpy": "0"})
    assert _body_hash(changed) != _body_hash(old)
    new = dict(doc, versions={"numpy": "0"})
    assert _body_hash(new) == doc["manifest_sha256"]
