"""Write the CLI grammar and exit-code tables into docs/cli.md (between their markers).

    python scripts/cli_grammar.py          # rewrite docs/cli.md
    python scripts/cli_grammar.py --check  # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
START, END = "<!-- cli-grammar:start -->", "<!-- cli-grammar:end -->"


def block() -> str:
    from sedal.benchmark.cli import build_parser as sedbench
    from sedal.core.cli import exit_code_table, grammar_table
    from sedal.generator.cli import build_parser as sedgen

    return (f"{START}\n{grammar_table({'sedgen': sedgen(), 'sedbench': sedbench()})}\n"
            f"{exit_code_table()}{END}")


def main() -> int:
    text = PAGE.read_text()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), block(), text, flags=re.S)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    PAGE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
