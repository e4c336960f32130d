"""The report's tables say what the runs say: built from hand-made curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sedal.benchmark.stats import claims as C
from sedal.benchmark.stats.results import Group, aulc
from sedal.benchmark.stats.tables import dataset_table, end_check, stay_fractions

F = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2])


def _group(curves: dict[str, dict[int, np.ndarray]], full: float | None = 0.5) -> Group:
    g = Group({"spec": {"n_files": 300, "snr": 0.0, "event_ratio": 0.2, "seed": 0},
               "library": "builtin-field-v6-seed0", "name": "t"}, "s" * 8, "r" * 20,
              name="t (abcd1234)")
    for label, per_seed in curves.items():
        for seed, y in per_seed.items():
            g.curves[label][seed] = (F, np.asarray(y, float))
            g.fits += len(F)
    if full is not None:
        g.reference = {"total_iou": full, "solver_iterations": 42, "converged": True}
    return g


def _row(lines: list[str], label: str) -> list[str]:
    row = next(line for line in lines if line.startswith(f"| {label} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_each_strategy_row_shows_its_seeds_aulcs_and_paired_difference_to_random():
    rng = np.random.default_rng(0)
    base = {s: np.linspace(0.1, 0.45, len(F)) + rng.normal(0, 0.01, len(F)) for s in range(5)}
    lift = {0: 0.045, 1: 0.05, 2: 0.055, 3: 0.048, 4: 0.052}  # +0.05 on average
    better = {s: y + lift[s] for s, y in base.items()}
    g = _group({"random": base, "top_k(K=10)": better})
    lines = dataset_table(g)
    assert "Fully supervised total IoU: **0.500**" in "\n".join(lines)
    assert f"Classifier fits: {g.fits}, not converged: 0." in lines
    top, rand = _row(lines, "top_k(K=10)"), _row(lines, "random")
    assert top[1] == rand[1] == "5"
    whole = np.mean([aulc(F, y) for y in better.values()])
    assert top[2].startswith(f"{whole:.3f}")
    low = np.mean([aulc(F, y, 0.005, 0.10) for y in better.values()])
    assert top[3].startswith(f"{low:.3f}")
    diffs = [aulc(F, better[s], 0.005, 0.10) - aulc(F, base[s], 0.005, 0.10) for s in base]
    assert top[4].startswith(f"{np.mean(diffs):+.4f}")  # the paired difference
    assert top[5] == "< 0.001"  # five seeds, all about +0.05: clearly positive
    assert rand[4] == "—"  # random is not compared with itself


def test_a_curve_ending_above_the_reference_beyond_its_ci_is_flagged():
    over = {s: np.linspace(0.1, 0.6, len(F)) for s in range(3)}  # ends at 0.6, no spread
    assert "ends +0.100 above" in end_check(_group({"random": over}, full=0.5))
    under = {s: np.linspace(0.1, 0.49, len(F)) for s in range(3)}
    assert end_check(_group({"random": under}, full=0.5)).startswith("No mean curve")
    assert end_check(_group({"random": under}, full=None)) is None


def test_stay_fraction_is_where_a_curve_stays_within_tolerance_of_full():
    y = np.array([0.1, 0.2, 0.495, 0.3, 0.492, 0.5])  # dips below 0.49 at 5 %, back at 10 %
    g = _group({"random": {0: y}}, full=0.5)
    assert stay_fractions(g, "random") == {0: pytest.approx(0.1)}
    assert C.stay_fraction(F, y, 0.49) == pytest.approx(0.1)


def test_a_missing_reference_is_said_not_hidden():
    g = _group({"random": {0: np.linspace(0.1, 0.4, len(F))}}, full=None)
    lines = dataset_table(g)
    assert "Fully supervised reference: **missing**." in lines
    assert _row(lines, "random")[-1] == "n/a"


def test_per_class_reach_uses_each_class_iou_against_the_reference_of_that_class():
    from sedal.benchmark.stats.figures import MAIN
    from sedal.benchmark.stats.reach import class_reach_table

    top, rnd = MAIN[0], "random"
    g = _group({top: {}, rnd: {}}, full=0.5)
    g.reference.update({"iou_dog": 0.4, "iou_baby": 0.6})
    g.ceiling = {"total_iou": 0.55, "iou_dog": 0.5, "iou_baby": 0.7}

    def rows(dog, baby):
        return [{"fraction": f, "total_iou": 0.3, "iou_dog": d, "iou_baby": b}
                for f, d, b in zip(F, dog, baby)]

    # top: dog reaches the study's 0.4 - 0.01 at 5 % and stays; baby never reaches 0.59
    for seed in range(3):
        g.rows[top][seed] = rows([0.1, 0.2, 0.3, 0.395, 0.41, 0.45], [0.1] * 6)
        g.rows[rnd][seed] = rows([0.1, 0.2, 0.3, 0.3, 0.35, 0.395], [0.2, 0.3, 0.4, 0.5, 0.59,
                                                                     0.6])
    lines = class_reach_table([g])
    assert _row(lines, "dog")[1:] == [top, "3 of 3", "5.0%", "0 of 3", "> end"]
    baby = [r for r in lines if r.startswith("| baby |")]
    cells = {c[1]: c for c in ([x.strip() for x in r.strip("|").split("|")] for r in baby)}
    assert cells[top][2:4] == ["0 of 3", "> end"]
    assert cells[rnd][2:4] == ["3 of 3", "10.0%"]


def test_the_hours_figure_puts_each_iteration_at_its_annotator_hours(tmp_path):
    from sedal.benchmark.stats.cost import COST_MODELS
    from sedal.benchmark.stats.figures import hours_curves, mean_hours_curve

    g = _group({"random": {}}, full=0.5)
    for seed in range(2):
        g.rows["random"][seed] = [
            {"fraction": f, "total_iou": 0.1 * i, "n_labelled": 10 * (i + 1),
             "labelled_seconds": 100.0 * (i + 1), "labelled_events": 3 * i}
            for i, f in enumerate(F)]
    assert hours_curves(g, ["random"], tmp_path, "hours_t", "t")
    assert (tmp_path / "hours_t.png").stat().st_size > 0 and (tmp_path / "hours_t.svg").exists()
    m = COST_MODELS[0]
    h, y, n = mean_hours_curve(g, "random", m)
    # iteration i: 100 (i + 1) s of audio, 3 i boxes, 10 (i + 1) files
    want = [(100 * (i + 1) * m.listen + 3 * i * m.per_box + 10 * (i + 1) * m.per_file) / 3600
            for i in range(len(F))]
    assert n == 2 and np.allclose(h, want) and np.allclose(y, 0.1 * np.arange(len(F)))
    assert not hours_curves(_group({"mean": {}}), ["random"], tmp_path, "none", "t")


def test_the_stopping_signal_is_drawn_beside_each_strategys_test_curve(tmp_path):
    from sedal.benchmark.stats import reviewer

    g = _group({"random": {0: F * 2}, "top_k(K=10)": {0: F * 3}})
    for label, per_seed in g.curves.items():
        for seed, (f, y) in per_seed.items():
            g.rows[label][seed] = [{"fraction": a, "total_iou": b, "stop_kappa": None if i == 0
                                    else 0.5 + 0.05 * i} for i, (a, b) in enumerate(zip(f, y))]
    g.info["manifest_sha256"] = "a" * 64
    assert reviewer.column_curve([g], "random", "stop_kappa", 0.1)[1] == pytest.approx(
        [0.55, 0.6, 0.65, 0.7])
    reviewer.stopping_panels([g], tmp_path, "stop", "t")
    assert (tmp_path / "stop.png").stat().st_size > 0 and (tmp_path / "stop.svg").exists()


def test_confirm_floor_counts_only_the_claims_holm_adjusts_over():
    import math

    from sedal.benchmark.stats.family import ClaimResult
    from sedal.benchmark.stats.report import _confirm_floor

    found = [ClaimResult(id=c, text=c, world="w", cell="m", n_realisations=12,
                         p=(0.01 if c in "abcdef" else math.nan)) for c in "abcdefghij"]
    text = " ".join(_confirm_floor(found, 0.05))
    assert "2^-12" in text and "after Holm over 6 claims" in text
    assert _confirm_floor([ClaimResult(id="a", text="a", world="w", cell="m")], 0.05) == []


def test_side_by_side_cell_panels_share_the_budgets_every_cell_ran(tmp_path, monkeypatch):
    from sedal.benchmark.stats import figures

    whole = _group({"random": {0: np.linspace(0.1, 0.9, len(F))}})
    cut = _group({"random": {0: np.linspace(0.1, 0.3, 5)}})
    cut.curves["random"][0] = (F[:5], cut.curves["random"][0][1])
    seen = []
    monkeypatch.setattr(figures, "_save", lambda fig, out, stem: seen.append(fig))
    figures._plot_panel([whole, cut], ["random"], tmp_path, "panel", "t")
    (fig,) = seen
    rights = [ax.get_xlim()[1] for ax in fig.axes]
    # both panels stop just past 10 %, and the zoom reads only the budgets shown there
    assert all(10 < r < 20 for r in rights)
    assert fig.axes[0].get_ylim()[1] < 0.9


def test_the_dataset_table_names_the_span_its_runs_cover():
    cut = _group({"random": {0: np.linspace(0.1, 0.3, 5)}, "mean": {0: np.linspace(0.1, 0.3, 5)}})
    for per in cut.curves.values():
        per[0] = (F[:5], per[0][1])
    assert "| AULC, to 10 % | AULC, 0.5-10 % |" in "\n".join(dataset_table(cut))
    whole = _group({"random": {0: np.linspace(0.1, 0.3, len(F))}})
    assert "| AULC, to 20 % |" in "\n".join(dataset_table(whole))
