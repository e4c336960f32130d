"""Datasets without repeats, grouped splits, the field library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sedal.generator.dataset import check_unique, make_dataset
from sedal.generator.errors import GeneratorError
from sedal.generator.library import clip_groups, scan_library
from sedal.generator.manifest import load_manifest
from sedal.generator.plan import FilePlan
from sedal.generator.regenerate import regenerate_dataset, verify_dataset
from sedal.generator.spec import DatasetSpec


def _sources_by_split(doc: dict) -> dict[str, set[str]]:
    """Every library clip each split uses (events, background windows and bed pieces)."""
    out: dict[str, set[str]] = {"train": set(), "test": set()}
    for f in doc["files"]:
        used = out[f["split"]]
        used.update(e["source"] for e in f["events"])
        if "bg_bed" in f:
            used.update(b["source"] for b in f["bg_bed"])
        else:
            used.add(f["bg_source"])
    return out


@pytest.fixture(scope="module")
def real_dataset(real_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "R"
    make_dataset(DatasetSpec(n_files=60, event_ratio=0.5, seed=77), out, sources=real_sources)
    return out


def test_real_source_dataset_has_no_identical_files(real_dataset):
    doc = load_manifest(real_dataset / "manifest.json")
    hashes = [f["audio_sha256"] for f in doc["files"]]
    assert len(set(hashes)) == len(hashes) == 60
    # short recordings became crossfaded beds of several pieces
    beds = [f for f in doc["files"] if "bg_bed" in f]
    assert beds and any(len(f["bg_bed"]) >= 2 for f in beds)


def test_real_source_splits_are_grouped_by_recording(real_dataset, real_sources):
    doc = load_manifest(real_dataset / "manifest.json")
    groups = clip_groups(scan_library(real_sources))

    def origin(prepared_rel: str) -> str:
        stem = prepared_rel.rsplit(".", 1)[0]
        return next(g for rel, g in groups.items() if rel.rsplit(".", 1)[0] == stem)

    used = _sources_by_split(doc)
    train = {origin(s) for s in used["train"]}
    test = {origin(s) for s in used["test"]}
    assert train.isdisjoint(test)
    test_bgs = {s for s in used["test"] if s.startswith("background/")}
    assert len({origin(s) for s in test_bgs}) >= 2  # not the whole test split on one background
    # the manifest records the recordings of each split for classes cut from shared ones
    assert "foreground/dog" in doc["split_groups"]
    assert set(doc["split_groups"]["foreground/dog"]) == {"train", "test"}


def test_beds_regenerate_bit_identically(real_dataset, real_sources, tmp_path):
    bad = regenerate_dataset(real_dataset / "manifest.json", tmp_path / "copy",
                             sources=real_sources)
    assert bad == [] and verify_dataset(tmp_path / "copy") == []


def test_a_bed_name_is_bound_to_its_pieces(real_dataset, real_sources, tmp_path):
    from sedal.generator.render import ensure_bed

    doc = load_manifest(real_dataset / "manifest.json")
    f = next(f for f in doc["files"] if "bg_bed" in f)
    plan = FilePlan.from_dict({**f, "bg_source": "background/park/bed-" + "0" * 20 + ".wav"})
    with pytest.raises(GeneratorError, match="does not match its pieces"):
        ensure_bed(plan, str(tmp_path), 16000)


def test_identical_files_are_refused():
    plans = [FilePlan(f"train_{i:05d}", "train", "park", "background/park/a.wav", 0.0, ())
             for i in range(3)]
    hashes = {"train_00000": {"audio_sha256": "a"}, "train_00001": {"audio_sha256": "b"},
              "train_00002": {"audio_sha256": "a"}}
    with pytest.raises(GeneratorError, match="train_00000 and train_00002 are identical"):
        check_unique(plans, hashes)


def test_field_clips_are_deterministic_and_individuals_keep_their_voice():
    from sedal.generator import synth_calls as C
    from sedal.generator import synth_field as F

    for cls in ("dog", "baby", "meerkat"):
        fn = F.FIELD_CLASSES[cls][1]
        a, b = fn(3, 5), fn(3, 5)
        assert np.array_equal(a, b) and np.all(np.abs(a) <= 1.0)
        assert not np.array_equal(a, fn(3, 6))
        v1 = C.individual(3, cls, 5 % C.N_INDIVIDUALS)
        v2 = C.individual(3, cls, (5 + C.N_INDIVIDUALS) % C.N_INDIVIDUALS)
        assert v1["f0"] == v2["f0"]  # clip 5 and clip 5 + 24 are the same individual
    park = F.park(0, 3, duration=5.0)
    assert len(park) == 5 * 16000 and np.array_equal(park, F.park(0, 3, duration=5.0))


@pytest.mark.slow
def test_field_dataset_splits_by_individual_and_has_no_repeats(tmp_path):
    out = tmp_path / "F"
    make_dataset(DatasetSpec(n_files=40, event_ratio=0.5, seed=2), out, builtin="field")
    doc = load_manifest(out / "manifest.json")
    assert doc["sources"]["builtin_library"] == "field"
    assert len({f["audio_sha256"] for f in doc["files"]}) == 40
    root = Path(doc["sources"]["name"])
    from sedal.generator.builtin import builtin_library

    lib = scan_library(builtin_library(0, library="field"))
    groups = clip_groups(lib)
    used = _sources_by_split(doc)
    train = {groups[s] for s in used["train"] if s in groups}
    test = {groups[s] for s in used["test"] if s in groups}
    assert train and test and train.isdisjoint(test)
    assert any(g.endswith("individual 0") or "individual" in g for g in test)
    assert str(root).startswith("builtin-field")
    assert json.loads(json.dumps(doc["split_groups"]))  # the grouping is recorded


#: sha256 of a few field-library clips (seed 0) as the library writes them (16 kHz PCM16 wav).
#: The library is a pure function of its seed: a change here must come with a version bump
#: (``sedal.generator.builtin.BUILTINS['field']['version']``), since built datasets cite it.
FIELD_V6_SHA256 = {
    "dog": "029e7016ab799cd65e8902075585ee6648896247d0b6781ff0a6480cc64c97c7",
    "baby": "06bcf2585b5188f770a448f9ec6acdbf007ab19200672d8efe824557b6beab41",
    "meerkat": "9e1d77d64991aff8cc6ecd75a4af5953748605272a4eb0c280fb2129837d1e85",
    "park": "806837c9afdc98b84cc9fda8d1135ce3ba1fb64a5f0e815d8442bc6585af6505",
}


def test_field_library_is_a_pinned_function_of_its_seed():
    import hashlib
    import io

    import soundfile as sf

    from sedal.generator import synth_field as F
    from sedal.generator.builtin import BUILTINS

    assert BUILTINS["field"]["version"] == 6, "version bumped: re-pin FIELD_V6_SHA256"
    clips = {"dog": F.dog(0, 0), "baby": F.baby(0, 1), "meerkat": F.meerkat(0, 2),
             "park": F.park(0, 0, duration=5.0)}
    for name, x in clips.items():
        buf = io.BytesIO()
        sf.write(buf, np.clip(x, -1.0, 1.0), 16000, subtype="PCM_16", format="WAV")
        assert hashlib.sha256(buf.getvalue()).hexdigest() == FIELD_V6_SHA256[name], name
