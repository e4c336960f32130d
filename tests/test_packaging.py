"""Every declared dependency is used, every import is declared."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The source folders installed under the ``sedal`` namespace.
PACKAGES = ("sedal", "generator", "sed", "benchmark")
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


@pytest.mark.slow
def test_installs_beside_pypi_sed_under_its_own_namespace(tmp_path):
    """`pip install .` into a fresh venv that also has PyPI's `sed` (which brings
    its own top-level `sed` package): sedgen, sedbench and `import sedal.sed` work, and
    `import sed` is still the other project's."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    site = subprocess.check_output([py, "-c", "import site; print(site.getsitepackages()[0])"],
                                   text=True).strip()
    # The heavy third-party dependencies are read from this environment (a .pth line; its
    # own .pth files, e.g. an editable sedal, are not processed), so only sedal itself and
    # PyPI's sed are installed into the new venv.
    here = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    Path(site, "_deps.pth").write_text("\n".join(here) + "\n")
    pip = [py, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed"]
    subprocess.run(pip + ["sed==0.3.1"], check=True, cwd=tmp_path)
    src = tmp_path / "src"  # a copy: pip's in-tree build writes build/ into the source
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "sedal", "generator", "sed",
                 "benchmark"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, src / name)
    # built with this environment's setuptools (a dev dependency; ahead of the new venv's
    # older bundled one): no isolated build env to create
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(here)}
    build = subprocess.run([py, "-m", "pip", "install", "-v", "--no-deps", "--ignore-installed",
                            "--no-build-isolation", str(src)],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    # every installed folder is a declared package (setuptools warns otherwise)
    assert "is absent from the `packages` configuration" not in build.stdout + build.stderr
    static = Path(site) / "sedal" / "benchmark" / "practice" / "static"
    assert (static / "annotate.html").is_file()
    assert (static / "vendor" / "wavesurfer" / "wavesurfer.min.js").is_file()
    probe = ("import sed, sedal, sedal.sed.features, sedal.generator.spec, sedal.benchmark.al.loop;"
             "print(sed.__file__); print(sedal.sed.__file__)")
    out = subprocess.run([py, "-c", probe], check=True, cwd=tmp_path, capture_output=True,
                         text=True).stdout.split()
    assert out[0] == str(Path(site) / "sed" / "__init__.py")  # PyPI's sed, untouched
    assert out[1] == str(Path(site) / "sedal" / "sed" / "__init__.py")
    for tool in ("sedgen", "sedbench"):
        res = subprocess.run([str(venv / "bin" / tool), "--help"], cwd=tmp_path,
                             capture_output=True, text=True)
        assert res.returncode == 0 and f"usage: {tool}" in res.stdout, res.stderr
