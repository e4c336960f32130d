"""Compare two ``sedbench run`` results folders value by value (a refactor must not move them).

Usage::

    python scripts/compare_results.py BEFORE/results AFTER/results

Rows of ``results.csv`` are matched by (dataset_id, label, seed, iteration) and every column
is compared exactly, except wall times (``fit_seconds``) and keys derived from the RunConfig
layout (``run_key``, ``settings_key``), which a refactor may change. The fully supervised
references (``references/*.json``) are matched by (manifest_sha256, features) and compared
the same way (``fit_seconds`` and ``reference_key`` left out). Prints one line per
difference and a summary; exit status 0 when identical, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

IGNORED_COLUMNS = {"fit_seconds", "run_key", "settings_key"}
IGNORED_REFERENCE_FIELDS = {"fit_seconds", "reference_key"}
ROW_KEY = ("dataset_id", "label", "seed", "iteration")


def read_rows(results: Path) -> dict[tuple, dict]:
    """``results.csv`` as {row key: row}."""
    with open(results / "results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {tuple(r[k] for k in ROW_KEY): r for r in rows}
    if len(out) != len(rows):
        raise ValueError(f"{results}/results.csv has duplicate rows for {ROW_KEY}")
    return out


def read_references(results: Path) -> dict[tuple, dict]:
    """The references as {(manifest_sha256, features): record}."""
    out = {}
    for path in sorted((results / "references").glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        out[(rec["manifest_sha256"], rec["features"])] = rec
    return out


def compare(before: Path, after: Path) -> list[str]:
    """Every difference between the two folders, one line each."""
    diffs = []
    a, b = read_rows(before), read_rows(after)
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            diffs.append(f"row {key}: only in {'after' if key in b else 'before'}")
            continue
        cols = (set(a[key]) | set(b[key])) - IGNORED_COLUMNS
        for c in sorted(cols):
            if a[key].get(c) != b[key].get(c):
                diffs.append(f"row {key} {c}: {a[key].get(c)!r} -> {b[key].get(c)!r}")
    ra, rb = read_references(before), read_references(after)
    for key in sorted(set(ra) | set(rb)):
        if key not in ra or key not in rb:
            diffs.append(f"reference {key}: only in {'after' if key in rb else 'before'}")
            continue
        for f in sorted((set(ra[key]) | set(rb[key])) - IGNORED_REFERENCE_FIELDS):
            if ra[key].get(f) != rb[key].get(f):
                diffs.append(f"reference {key[0][:12]} {f}: {ra[key].get(f)!r} -> "
                             f"{rb[key].get(f)!r}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python scripts/compare_results.py BEFORE AFTER", file=sys.stderr)
        return 2
    before, after = Path(argv[0]), Path(argv[1])
    try:
        diffs = compare(before, after)
        n_rows, n_refs = len(read_rows(before)), len(read_references(before))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for d in diffs:
        print(d)
    print(f"{n_rows} result rows and {n_refs} references compared "
          f"(ignoring {', '.join(sorted(IGNORED_COLUMNS | IGNORED_REFERENCE_FIELDS))}): "
          + ("identical" if not diffs else f"{len(diffs)} difference(s)"))
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
