"""scripts/world_table.py: the claim x world table from several reports' claims.json,
without re-deciding anything (issue 25, worlds)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sedal.benchmark.stats.family import ClaimResult
from sedal.benchmark.stats.verdicts import write_claims_json
from tests.helpers import load_script


def _module():
    return load_script("world_table")


def _report(tmp_path: Path, world: str, verdict_b: str) -> Path:
    claims = [ClaimResult(id="a", text="reaches", world=world, cell="c", effect=0.03,
                          ci=(0.01, 0.05)),
              ClaimResult(id="b", text="beats Random", world=world, cell="c",
                          verdict=verdict_b, effect=0.06, ci=(0.04, 0.08), p=0.001),
              ClaimResult(id="s-margin_mean", text="Top-10 beats margin", world=world,
                          cell="c")]
    path = tmp_path / world / "claims.json"
    path.parent.mkdir()
    return write_claims_json(claims, path)


def test_claims_json_round_trips_through_from_dict(tmp_path):
    path = _report(tmp_path, "w1", "HOLDS")
    back = [ClaimResult.from_dict(c) for c in json.loads(path.read_text())["claims"]]
    assert back[1].verdict == "HOLDS" and back[1].ci == (0.04, 0.08)
    assert [r.to_dict() for r in back] == json.loads(path.read_text())["claims"]
    assert math.isnan(back[0].p)  # None in the file -> nan, as before writing


def test_table_puts_each_world_in_a_column_and_keeps_only_claims_a_to_j(tmp_path):
    mod = _module()
    out = tmp_path / "out"
    rc = mod.main([str(_report(tmp_path, "clean", "HOLDS")),
                   str(_report(tmp_path, "real", "FAILS")), "--out", str(out)])
    assert rc == 0
    table = (out / "verdicts.md").read_text()
    assert "`clean` | `real`" in table and "s-margin" not in table
    row_b = next(line for line in table.splitlines() if line.startswith("| (b)"))
    assert "HOLDS" in row_b.split("|")[2] and "FAILS" in row_b.split("|")[3]
    worlds = {c["world"] for c in json.loads((out / "claims.json").read_text())["claims"]}
    assert worlds == {"clean", "real"} and (out / "forest.png").is_file()


def test_a_world_in_two_inputs_is_a_one_line_error(tmp_path, capsys):
    mod = _module()
    a = _report(tmp_path, "clean", "HOLDS")
    (tmp_path / "again").mkdir()
    b = tmp_path / "again" / "claims.json"
    b.write_bytes(a.read_bytes())
    assert mod.main([str(a), str(b), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: claim (a) of world 'clean' is in both") and "\n" not in err
    assert mod.main([str(a), str(a), "--out", str(tmp_path / "out")]) == 2
    assert "given twice" in capsys.readouterr().err


def test_damaged_claims_are_a_one_line_error_naming_the_file(tmp_path, capsys):
    mod = _module()
    bad = tmp_path / "claims.json"
    for text in ('{"claims": null}', '{"claims": [1]}', '{"claims": [{"id": "a"}]}',
                 '{"claims": [{"id": "a", "text": "t", "world": "w", "cell": "c", '
                 '"ci": [1, 2, 3]}]}', "not json"):
        bad.write_text(text)
        assert mod.main([str(bad), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {bad} is not a claims.json") and "\n" not in err


def test_a_committed_claims_json_reads_back_to_the_same_objects_parts_included():
    path = Path(__file__).resolve().parents[1] / "docs" / "results" / "claims.json"
    claims = json.loads(path.read_text())["claims"]
    back = [ClaimResult.from_dict(c) for c in claims]
    assert any(r.parts for r in back) and all(type(p).__name__ == "Part"
                                              for r in back for p in r.parts)
    assert [r.to_dict() for r in back] == claims
