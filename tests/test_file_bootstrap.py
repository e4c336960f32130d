"""Per-test-file intersections and unions: stored with every run, equal to the study's total
IoU when summed, and resampled by the hierarchical bootstrap (library -> realisation -> seed
-> test file) with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from sedal.benchmark.al.metrics import decode_test_iu, encode_test_iu
from sedal.benchmark.stats.hierarchy import file_bootstrap
from sedal.sed.metrics import file_intersections_unions, intersections_unions, total_iou

F = np.array([0.005, 0.01, 0.02, 0.05, 0.10])


def test_per_file_counts_sum_to_the_total_iou():
    rng = np.random.default_rng(0)
    ref, est = rng.integers(0, 4, 990), rng.integers(0, 4, 990)
    offsets = np.array([0, 165, 330, 495, 660, 825, 990])
    inter, union = file_intersections_unions(ref, est, offsets, 4)
    assert inter.shape == (6, 4)
    i_all, u_all = intersections_unions(ref, est, 4)
    np.testing.assert_array_equal(inter.sum(axis=0), i_all)
    np.testing.assert_array_equal(union.sum(axis=0), u_all)
    assert inter[:, 1:].sum() / union[:, 1:].sum() == pytest.approx(total_iou(ref, est, 4))
    # file 2 alone
    a, b = offsets[2], offsets[3]
    i2, u2 = intersections_unions(ref[a:b], est[a:b], 4)
    np.testing.assert_array_equal(inter[2], i2)
    np.testing.assert_array_equal(union[2], u2)


def test_the_record_field_round_trips_and_a_damaged_one_is_an_error():
    arrays = [np.arange(24, dtype=np.int32).reshape(4, 3, 2) * k for k in range(3)]
    d = encode_test_iu(arrays, ["f1", "f2", "f3", "f4"])
    assert d["shape"] == [3, 4, 3, 2] and d["unit"] == "segments"
    np.testing.assert_array_equal(decode_test_iu(d), np.stack(arrays))
    with pytest.raises(ValueError, match="damaged"):
        decode_test_iu({**d, "data": "!!!"})


def _iu(rng, n_files, quality):
    """[n_iter, n_files, 3, 2]: each file's union 20 segments per class; the intersection
    ``quality`` of it on average, rising with the budget."""
    union = np.full((len(F), n_files, 3), 20)
    p = np.clip(quality + 0.3 * np.log10(F / F[0])[:, None, None] / 1.3, 0, 1)
    inter = rng.binomial(20, np.broadcast_to(p, union.shape))
    return np.stack([inter, union], axis=-1)


def test_the_bootstrap_finds_a_real_gain_and_covers_no_gain():
    rng = np.random.default_rng(1)
    units = [{"library": "L", "a": {s: _iu(rng, 200, 0.45) for s in range(3)},
              "b": {s: _iu(rng, 200, 0.35) for s in range(3)}} for _ in range(5)]
    est, (lo, hi) = file_bootstrap(units, F, (0.005, 0.10), n_boot=300)
    assert est == pytest.approx(0.10, abs=0.01) and 0.08 < lo < est < hi < 0.12
    same = [{"library": "L", "a": {s: _iu(rng, 200, 0.4) for s in range(3)},
             "b": {s: _iu(rng, 200, 0.4) for s in range(3)}} for _ in range(5)]
    est, (lo, hi) = file_bootstrap(same, F, (0.005, 0.10), n_boot=300)
    assert lo < 0 < hi and abs(est) < 0.01


def test_fewer_test_files_give_a_wider_interval():
    rng = np.random.default_rng(2)

    def units(n):
        return [{"library": "L", "a": {0: _iu(rng, n, 0.45)}, "b": {0: _iu(rng, n, 0.35)}}
                for _ in range(4)]

    _, (lo_few, hi_few) = file_bootstrap(units(20), F, (0.005, 0.10), n_boot=300)
    _, (lo_many, hi_many) = file_bootstrap(units(500), F, (0.005, 0.10), n_boot=300)
    assert hi_few - lo_few > 2 * (hi_many - lo_many)


def test_the_report_table_resamples_files_only_when_every_run_has_its_counts():
    from sedal.benchmark.stats import filesample
    from sedal.benchmark.stats.results import Group

    rng = np.random.default_rng(3)
    groups = []
    for ds in range(3):
        g = Group({"library": "builtin-field-v6-seed0", "manifest_sha256": f"{ds:02d}" * 32,
                   "spec": {"seed": ds}}, "s", "r")
        for lab, q in (("top_k(K=10)", 0.45), ("mean", 0.35)):
            for seed in range(2):
                iu = _iu(rng, 100, q)
                y = iu[..., 0].sum(axis=(1, 2)) / iu[..., 1].sum(axis=(1, 2))
                g.curves[lab][seed] = (F, y)
                g.test_iu[lab][seed] = encode_test_iu(list(iu.astype(np.int32)), ["x"] * 100)
        groups.append(g)
    lines = filesample.table(groups, (0.005, 0.10), [])
    row = next(line for line in lines if line.startswith("| (c)"))
    assert "| 3 | n/a |" in row and float(row.split("|")[4].split()[0]) == pytest.approx(
        0.10, abs=0.015)
    del groups[1].test_iu["mean"][0]  # one run made before the counts were stored
    assert filesample.table(groups, (0.005, 0.10), []) == []
