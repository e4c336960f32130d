"""A preset's selection is recorded, and its test results on data the selection saw are
refused (issue 27): by ``sedbench report`` and ``sedbench detectors``."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sedal.benchmark.cli import main
from sedal.sed.detector import PRESETS, DetectorSpec
from sedal.sed.errors import SedError
from sedal.sed.provenance import PROVENANCE, check_unseen, seen_by


def _presets(det: DetectorSpec) -> list[str]:
    return seen_by(det.recipe(), dataclasses.asdict(det.settings))


def test_every_preset_states_its_provenance():
    assert set(PROVENANCE) == set(PRESETS)
    for name, prov in PROVENANCE.items():
        d = prov.to_dict()
        assert d["preset"] == name and d["rule"] and d["date"] and d["record"]
    field = PROVENANCE["field"].to_dict()["touched"][0]
    assert field["library"] == "real-sources" and "test" in field["splits"]
    assert PROVENANCE["paper"].touched == ()  # the study's settings: nothing tuned here


def test_a_detector_is_its_preset_by_content_whatever_its_name():
    field = PRESETS["field"]
    assert "field" in _presets(field)
    assert "field" in _presets(dataclasses.replace(field, name="my-copy"))
    other = dataclasses.replace(field, settings=dataclasses.replace(field.settings, C=1.0))
    assert "field" not in _presets(other)
    assert "field" not in _presets(PRESETS["paper"])


def test_a_preset_is_refused_on_the_test_split_that_chose_it():
    with pytest.raises(SedError, match=r"'field' preset was selected on the test splits of "
                                       r"library 'real-sources' dataset seeds 0, 1, 2, 3, 4"):
        check_unseen([(["field"], "real-sources", 3, None, "run x")])
    # the seed-0 datasets reported in docs/results/real-sources, by content
    known = PROVENANCE["field"].touched[0].manifest_sha256[0]
    with pytest.raises(SedError, match="and 1 more"):
        check_unseen([(["field"], "elsewhere", None, known, "run a"),
                      (["field"], "real-sources", 0, None, "run b")])
    # fresh seeds, another library, or the paper preset: reported
    check_unseen([(["field"], "real-sources", 5, "0" * 64, "run c"),
                  (["field"], "builtin-field-v6-seed0", 0, None, "run d"),
                  (["paper"], "real-sources", 0, None, "run e")])


def _run_record(root, *, library: str, seed: int, detector: DetectorSpec, key: str):
    s = detector.settings
    rec = {"key": key, "settings_key": "s1", "reference_key": "r1",
           "config": {"strategy": "random", "seed": 0, "C": s.C, "tol": s.tol,
                      "max_iter": s.max_iter, "kernel": s.kernel, "bg_prior": s.bg_prior,
                      "recipe": detector.recipe()},
           "dataset_info": {"name": f"snr0_r0.2_n500_seed{seed}", "manifest_sha256": "ab" * 32,
                            "dataset_id": "0" * 16, "library": library,
                            "spec": {"seed": seed, "snr": 0.0, "event_ratio": 0.2}},
           "rows": [{"iteration": i, "label": "random", "seed": 0, "fraction": f,
                     "total_iou": 0.1 * i} for i, f in enumerate((0.005, 0.01, 0.02))]}
    (root / "runs").mkdir(parents=True, exist_ok=True)
    (root / "runs" / f"{key}.json").write_text(json.dumps(rec))


def test_report_refuses_a_preset_on_its_selection_data(tmp_path, capsys):
    res = tmp_path / "results"
    _run_record(res, library="real-sources", seed=2, detector=PRESETS["field"], key="k1")
    assert main(["report", str(res), "--out", str(tmp_path / "rep"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: run k1 on snr0_r0.2_n500_seed2: the 'field' preset")
    assert len(err.splitlines()) == 1 and "other dataset seeds" in err
    assert not (tmp_path / "rep" / "report.md").exists()


def test_report_reads_runs_the_provenance_does_not_cover(tmp_path):
    from sedal.benchmark.al.runner import ResultsStore
    from sedal.benchmark.stats.results import Results

    res = tmp_path / "results"
    _run_record(res, library="real-sources", seed=7, detector=PRESETS["field"], key="k1")
    _run_record(res / "b", library="real-sources", seed=0, detector=PRESETS["paper"], key="k2")
    assert len(Results(ResultsStore(res)).groups) == 1
    assert len(Results(ResultsStore(res / "b")).groups) == 1


def test_detectors_refuses_the_preset_on_reserved_seeds_before_building(tmp_path, capsys,
                                                                        real_sources):
    out, data = tmp_path / "det", tmp_path / "data"
    assert main(["detectors", "--sources", str(real_sources), "--options", "paper,field",
                 "--seeds", "4-5", "--data", str(data), "--out", str(out),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: option 'field' on dataset seed 4: the 'field' preset")
    assert not data.exists()  # refused before any dataset was built


def test_detectors_allows_fresh_seeds_and_tuned_options():
    from sedal.benchmark.studies.detector_leaks import check_unseen as check_study

    check_study("real-sources", [("field", 5), ("cv+patch+context", 0), ("paper", 0)])
    with pytest.raises(Exception, match="stored cell of option 'field'"):
        check_study("real-sources", [], [{"option": "field", "spec": {"seed": 1},
                                          "dataset": "snr0_r1_n500_seed1"}])


def test_the_real_grid_defaults_to_evaluation_seeds_the_field_preset_never_saw(tmp_path):
    from sedal.benchmark.al.plan import REAL_DATASET_SEEDS, real_grid
    from sedal.sed.provenance import PROVENANCE

    touched = set(PROVENANCE["field"].touched[0].seeds)
    assert touched and not touched & set(REAL_DATASET_SEEDS)
    exps = real_grid(tmp_path)
    assert {e.spec["seed"] for e in exps} == set(REAL_DATASET_SEEDS)
    assert len(exps) == 6 * len(REAL_DATASET_SEEDS)
