"""Issue 14 (in part): every declared dependency is used, every import is declared."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("generator", "sed", "benchmark")
#: Declared on purpose without a direct import, with the reason.
DECLARED_UNIMPORTED = {
    "jams": "the design card's record format; written through Scaper, its version is recorded "
            "in every manifest",
}
#: Import names provided by another declared distribution (or its extra).
PROVIDED_BY = {"distributed": "dask"}


def _imports() -> set[str]:
    mods: set[str] = set()
    for pkg in PACKAGES:
        for p in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    mods |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods.add(node.module.split(".")[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m not in PACKAGES}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_norm(re.split(r"[<>=!~\[; ]", d)[0]) for d in deps}


def test_every_import_is_declared_and_every_dependency_used():
    dist_of = packages_distributions()
    declared = _declared()
    used = set()
    for mod in _imports():
        if mod in PROVIDED_BY:
            used.add(PROVIDED_BY[mod])
            continue
        dists = {_norm(d) for d in dist_of.get(mod, [mod])}
        assert dists & declared, f"{mod} is imported but {sorted(dists)} is not declared"
        used |= dists & declared
    unused = declared - used - set(DECLARED_UNIMPORTED)
    assert not unused, f"declared but never imported: {sorted(unused)}"
