"""scripts/detector_fresh.py's summary: paired over realisations, verdicts by the stated
smallest effect, error kinds summed (issue 27)."""

from __future__ import annotations

import numpy as np

from tests.helpers import load_script


def _module():
    return load_script("detector_fresh")


def _cells(mod, shift: dict[str, float], n: int = 5):
    rng = np.random.default_rng(0)
    cells = []
    for r in range(n):
        base = float(rng.uniform(0.1, 0.4))  # realisations differ a lot ...
        for arm in mod.ARMS:
            v = base + shift.get(arm, 0.0) + float(rng.normal(0, 0.002))  # ... arms little
            errs = {"dog": {"hit": 1, "fragmented": 2, "mislocated": 0, "confused": 0,
                            "missed": 1, "false_alarm": 3, "n_reference": 4, "n_estimated": 6}}
            cells.append({"dataset": f"d{r}", "arm": arm, "fit_seconds": 1.0,
                          "event_errors": errs, "postprocess": {"merge_gap": 0.06},
                          **{m: v for m in mod.METRICS}})
    return cells


def test_a_paired_gain_above_the_smallest_effect_pays_and_a_null_one_is_inconclusive():
    mod = _module()
    s = mod.summarize(_cells(mod, {"field": 0.10, "field+cv": 0.13, "mlp": 0.10, "tconv": 0.0}))
    arms = s["arms"]
    assert s["n_realisations"] == 5
    assert arms["field"]["total_iou"]["vs_paper"]["verdict"] == "pays"
    assert arms["field+cv"]["event_f1"]["vs_field"]["verdict"] == "pays"
    assert arms["mlp"]["total_iou"]["vs_field"]["verdict"] == "INCONCLUSIVE"
    assert arms["tconv"]["total_iou"]["vs_field"]["verdict"] == "costs"
    # unpaired, the realisation spread would hide the 0.03 gain; paired, it is clear
    lo, hi = arms["field+cv"]["total_iou"]["ci"]
    assert hi - lo > 0.1
    assert arms["field"]["event_errors"]["dog"]["fragmented"] == 10
    assert "| field+cv | event_f1 |" in mod.markdown(s)


def test_a_realisation_missing_an_arm_is_left_out_of_every_comparison():
    mod = _module()
    cells = [c for c in _cells(mod, {}) if not (c["dataset"] == "d0" and c["arm"] == "mlp")]
    s = mod.summarize(cells)
    assert s["realisations"] == ["d1", "d2", "d3", "d4"]


def test_files_sharing_a_source_clip_transitively_are_one_group():
    mod = _module()

    def f(split, bg, *srcs):
        return {"split": split, "bg_source": bg, "events": [{"source": s} for s in srcs]}

    doc = {"files": [f("train", "bgA", "dog1"), f("train", "bgB", "dog1", "baby1"),
                     f("train", "bgA", "baby1"), f("train", "bgA", "dog2"),
                     f("train", "bgA"), f("train", "bgC"), f("test", "bgA", "dog2")]}
    # dog1-baby1 link three files; dog2 alone; background-only files by their background
    assert mod.source_components(doc) == [3, 1, 1, 1]


def test_the_mlp_arm_is_a_detector_with_the_field_decision_and_every_class_column():
    mod = _module()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    y = (X[:, 0] > 0.8).astype(int) + 2 * (X[:, 1] > 1.2).astype(int) * (X[:, 0] <= 0.8)
    det = mod._detector("mlp").set_params(classes=["background", "dog", "baby", "owl"])
    det.fit(X, y)
    p = det.predict_proba(X)
    assert p.shape == (400, 4) and np.allclose(p.sum(axis=1), 1) and np.all(p[:, 3] == 0)
    assert det.name == "mlp" and det.median_kernel == 9 and det.bg_prior == 0.25
    assert det.decide(X, offsets=[0, 200, 400]).shape == (400,)
