"""The package stays readable: small modules with one job, short functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("generator", "sed", "benchmark", "sedal")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return [p for d in PACKAGE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]


def test_no_module_is_over_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, "modules over 400 lines:\n" + "\n".join(long)


def test_no_function_is_over_80_lines():
    long = []
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}: {n}")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_benchmark_is_split_into_subpackages_by_concern():
    subpackages = {p.parent.name for p in (ROOT / "benchmark").glob("*/__init__.py")}
    assert {"al", "stats", "practice", "studies", "commands"} <= subpackages
    loose = sorted(p.name for p in (ROOT / "benchmark").glob("*.py"))
    assert loose == ["__init__.py", "cli.py", "errors.py"]
