"""The segment grid (0.12 s segments every 0.06 s) is defined once, in sedal.sed.grid."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sedal.sed import grid
from sedal.sed.postprocess import segments_to_events

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("generator", "sed", "benchmark", "sedal")
GRID_VALUES = {grid.SEGMENT_S, grid.HOP_S}
#: Modules whose numbers are not the detector's grid: the synthetic sound designs of the
#: generator (call envelopes and pitch jitters that happen to be 0.12 or 0.06).
NOT_GRID_MODULES = {"generator/synth.py", "generator/synth_field.py", "generator/synth_calls.py",
                    "generator/synth_dsp.py"}


def _allowed(parents: list[ast.AST]) -> bool:
    """Contexts in which a 0.12 / 0.06 literal is not a segment length or hop."""
    for node in parents:
        # the AL budget schedule is a list of label fractions, not seconds
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DEFAULT_SCHEDULE" for t in node.targets):
            return True
        if isinstance(node, ast.keyword) and node.arg == "alpha":  # a plot's opacity
            return True
    return False


def _grid_literals(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def visit(node: ast.AST, parents: list[ast.AST]) -> None:
        if (isinstance(node, ast.Constant) and isinstance(node.value, float)
                and node.value in GRID_VALUES and not _allowed(parents)):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value}")
        for child in ast.iter_child_nodes(node):
            visit(child, parents + [node])

    visit(tree, [])
    return found


def test_no_segment_or_hop_literal_outside_the_grid_module():
    found = []
    for d in PACKAGE_DIRS:
        for path in sorted((ROOT / d).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if rel in NOT_GRID_MODULES or rel == "sed/grid.py":
                continue
            found += _grid_literals(path)
    assert not found, "grid literals outside sedal.sed.grid:\n" + "\n".join(found)


def test_the_literal_finder_flags_a_hop_literal(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text("def f(hop=0.06):\n    return plot(hop, alpha=0.12)\n", encoding="utf-8")
    assert _grid_literals(sample, tmp_path) == ["probe.py:1: 0.06"]


@pytest.mark.parametrize("i,j", [(0, 0), (1, 2), (10, 40)])
def test_segment_span_is_the_event_extent_of_a_run(i, j):
    labels = [0] * 50
    labels[i:j + 1] = [1] * (j - i + 1)
    (onset, offset, _), = segments_to_events(labels, ["bg", "dog"])
    assert (onset, offset) == grid.segment_span(i, j)
    assert offset - onset == pytest.approx((j - i + 1) * grid.HOP_S)
