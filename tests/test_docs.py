"""The API pages build without warnings and their examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "api"


def test_api_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                          "html", str(DOCS), str(tmp_path / "html")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "html" / "api.html").read_text().count("sedal.sed.evaluate") > 0


def _blocks(rst: str) -> list[str]:
    """The literal blocks (after ``::``) of an rst page, dedented, in order."""
    out = []
    for m in re.finditer(r"::\n\n((?:(?:    .*)?\n)+)", rst):
        out.append("\n".join(line[4:] for line in m.group(1).splitlines()))
    return out


@pytest.mark.slow
def test_scripting_examples_run_in_order(tmp_path, monkeypatch, yamnet_model):
    blocks = _blocks((DOCS / "scripting.rst").read_text())
    assert len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    env: dict = {}
    for code in blocks:
        exec(compile(code.replace("n_files=40", "n_files=30"), "scripting.rst", "exec"), env)
    assert env["result"]["total_iou"] is not None and (tmp_path / "round1" / "ranking.csv").exists()
    assert len(env["ResultsStore"]("results").records()) == 2


def _pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
            REPO / "data_manifests" / "README.md"]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_of_a_page_resolves(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}: link to {target} does not resolve"
        if anchor and dest.suffix == ".md":
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                     for h in re.findall(r"^#+ (.*)$", dest.read_text(), flags=re.M)}
            assert anchor in slugs, f"{page.name}: no heading #{anchor} in {dest.name}"


def test_readme_starts_with_the_two_commands_and_stays_short():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    first = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    cmds = [x for x in first.splitlines() if x and not x.startswith("#")]
    assert cmds == ["bash scripts/setup.sh && .venv/bin/sedbench run --all --jobs 2 && "
                    ".venv/bin/sedbench report results",
                    "bash scripts/setup.sh && .venv/bin/python -m pytest"]
    assert "source .venv/bin/activate" in text
    assert not re.search(r"\bissue \d+|\(issue", text, flags=re.I)
    assert (REPO / ".ci" / "run").read_text().strip().endswith(cmds[1])


@pytest.mark.slow
def test_the_readmes_python_api_example_runs(tmp_path, monkeypatch, yamnet_model, capsys):
    text = (REPO / "README.md").read_text()
    code = re.search(r"## The Python API.*?```python\n(.*?)```", text, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sedal.sed.yamnet.load_yamnet", lambda *a, **k: yamnet_model)
    env: dict = {}
    exec(compile(code, "README.md", "exec"), env)
    out = capsys.readouterr().out
    assert "total_iou" in out and out.count("files labelled: total IoU") == 3
    assert env["detector"].converged_ and isinstance(env["detector"], env["sedal"].Detector)
