"""The claim family decided under each noisy oracle (sedal.benchmark.stats.noise), on
hand-made realisations with a known answer."""

from __future__ import annotations

import numpy as np

from sedal.benchmark.stats import prereg
from sedal.benchmark.stats.noise import NOISE_CLAIMS, noise_verdicts, oracles_of, under_oracle
from sedal.benchmark.stats.results import Group

F = np.array([0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10])
BASE = np.linspace(0.10, 0.40, len(F))
# noisy: Top-10 0.10 above every other strategy; noisy-high: all five the same curve
GAIN = {"noisy": {"top_k(K=10)": 0.10}, "noisy-high": {}}
LABELS = ("top_k(K=10)", "mean", "median", "mean_event", "random")


def _groups(n_real: int = 8) -> list[Group]:
    rng = np.random.default_rng(0)
    out = []
    for ds in range(n_real):
        for oracle, gain in GAIN.items():
            g = Group({"spec": {"n_files": 2500, "snr": 0.0, "event_ratio": 0.2, "seed": ds},
                       "library": "builtin-field-v6-seed0", "name": f"d{ds}",
                       "manifest_sha256": f"{ds:02d}" + "0" * 62}, f"s-{oracle}", "r" * 20,
                      name=f"d{ds} {oracle}")
            shift = rng.normal(0, 0.01)  # a realisation effect shared by its strategies
            for lab in LABELS:
                for seed in range(3):
                    y = BASE + shift + gain.get(lab, 0.0) + rng.normal(0, 0.002, len(F))
                    g.curves[f"{lab}@{oracle}"][seed] = (F, y)
            out.append(g)
    return out


def test_groups_are_split_by_oracle_with_plain_labels():
    groups = _groups(2)
    assert oracles_of(groups) == ["noisy", "noisy-high"]
    sub = under_oracle(groups, "noisy")
    assert len(sub) == 2 and set(sub[0].curves) == set(LABELS)
    assert "top_k(K=10)@noisy" in groups[0].curves  # the originals are left as they were


def test_a_clear_gain_holds_and_no_gain_fails_under_each_oracle():
    found = noise_verdicts(_groups(), prereg.load(), "builtin-field-v6")
    by = {(r.world, r.id): r for r in found}
    assert {r.id for r in found} == set(NOISE_CLAIMS)
    assert {r.world for r in found} == {"builtin-field-v6 @ noisy",
                                        "builtin-field-v6 @ noisy-high"}
    assert by[("builtin-field-v6 @ noisy", "c")].verdict == "HOLDS"
    assert abs(by[("builtin-field-v6 @ noisy", "c")].effect - 0.10) < 0.01
    assert by[("builtin-field-v6 @ noisy-high", "c")].verdict == "FAILS"
    assert by[("builtin-field-v6 @ noisy-high", "e")].verdict in ("HOLDS", "FRAGILE")
