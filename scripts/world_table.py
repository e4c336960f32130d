"""The claim x world verdict table from the claims.json of several reports.

Each world's claims (a)-(j) form their own Holm family, so reports made from different
results dirs can be put side by side without re-deciding anything: this reads their
``claims.json`` files, keeps the claim family (a)-(j) of every world, and writes

- ``claims.json``: those claims of every world (schema: docs/benchmark.md),
- ``verdicts.md``: the verdict table (claim x world, marks readable without colour),
- ``forest.png`` / ``forest.svg``: every claim's effect and 95 % CI per world.

Usage::

    python scripts/world_table.py docs/results/claims.json docs/results/worlds/report/claims.json \\
        --out docs/results/worlds

A world that appears in two inputs is an error (one line, exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FAMILY = tuple("abcdefghij")


def load_claims(paths: list[Path]) -> list:
    """The claim family (a)-(j) of every world in ``paths``, as ClaimResults; ValueError
    (naming the file) on anything else, a file given twice or a claim of one world in two
    inputs."""
    from sedal.benchmark.stats.family import ClaimResult

    out, seen = [], {}
    if len({p.resolve() for p in paths}) < len(paths):
        raise ValueError("a claims.json is given twice")
    for path in paths:
        try:
            claims = json.loads(path.read_text(encoding="utf-8"))["claims"]
            if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
                raise TypeError("claims is not a list of objects")
            mine = [ClaimResult.from_dict(c) for c in claims if c.get("id") in FAMILY]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a claims.json ({type(exc).__name__}: "
                             f"{exc})") from None
        for r in mine:
            if (r.world, r.id) in seen:
                raise ValueError(f"claim ({r.id}) of world {r.world!r} is in both "
                                 f"{seen[r.world, r.id]} and {path}")
            seen[r.world, r.id] = path
        out += mine
    if not out:
        raise ValueError("no claim (a)-(j) in the inputs")
    return out


def main(argv: list[str] | None = None) -> int:
    from sedal.benchmark.stats.verdicts import forest_plot, verdict_table, write_claims_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("claims", type=Path, nargs="+", help="claims.json files")
    ap.add_argument("--out", type=Path, required=True, help="folder for the three outputs")
    args = ap.parse_args(argv)
    try:
        results = load_claims(args.claims)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    table = "\n".join(verdict_table(results))
    write_claims_json(results, args.out / "claims.json")
    (args.out / "verdicts.md").write_text(table + "\n", encoding="utf-8")
    forest_plot(results, args.out, "forest")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
