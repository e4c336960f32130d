"""The report's opening: the claim x world verdict table, the forest plot of every claim's
effect with its CI against the SESOI band and zero, and ``claims.json`` (schema:
docs/benchmark.md, "claims.json")."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sedal.benchmark.stats.family import ClaimResult

#: Marks that keep the table readable without colour.
MARK = {"HOLDS": "✔ HOLDS", "FAILS": "✘ FAILS", "INCONCLUSIVE": "? INCONCLUSIVE",
        "FRAGILE": "~ FRAGILE"}
COLOUR = {"HOLDS": "#1a7f37", "FAILS": "#b42318", "INCONCLUSIVE": "#6e7781",
          "FRAGILE": "#b08800"}


def _num(x, nd=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) \
        else f"{x:+.{nd}f}"


def _p(x) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def verdict_table(results: list[ClaimResult]) -> list[str]:
    """Markdown: one row per claim, one verdict column per world (marks + colour)."""
    worlds = sorted({r.world for r in results})
    by = {(r.id, r.world): r for r in results}
    ids = sorted({r.id for r in results})
    head = "| claim | " + " | ".join(f"`{w}`" for w in worlds) + " |"
    out = [head, "|---|" + "---|" * len(worlds)]
    for cid in ids:
        text = next(r.text for r in results if r.id == cid)
        cells = []
        for w in worlds:
            r = by.get((cid, w))
            if r is None:
                cells.append("—")
                continue
            v = r.verdict
            cells.append(f'<span style="color:{COLOUR[v]}">**{MARK[v]}**</span> '
                         f"{_num(r.effect)} {_ci(r.ci)}")
        out.append(f"| ({cid}) {text} | " + " | ".join(cells) + " |")
    return out


def _ci(ci) -> str:
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"[{lo:+.3f}, {hi:+.3f}]"


def detail_table(results: list[ClaimResult]) -> list[str]:
    """Markdown: every claim's effect, tests, p-values, power and note, then its parts."""
    out = ["| claim | world | verdict | effect [95 % CI] | p (Holm) | confirming p (Holm) "
           "| realisations x seeds | power at SESOI | 80 % needs |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        need = "n/a" if r.needed_realisations is None else f"{r.needed_realisations} real."
        out.append(f"| ({r.id}) | `{r.world}` | {MARK[r.verdict]} | {_num(r.effect)} "
                   f"{_ci(r.ci)} | {_p(r.p)} ({_p(r.p_adj)}) | {_p(r.confirming_p)} "
                   f"({_p(r.confirming_p_adj)}) | {r.n_realisations} x {r.n_seeds} | "
                   + ("n/a" if not math.isfinite(r.power_at_sesoi)
                      else f"{r.power_at_sesoi:.0%}") + f" | {need} |")
    out.append("")
    for r in results:
        out.append(f"- **({r.id}) `{r.world}`: {MARK[r.verdict]}** — {r.text} ({r.cell}; "
                   f"test: {r.test}; SESOI {r.sesoi:g})" + (f". {r.note}" if r.note else ""))
        for p in r.parts:
            out.append(f"    - {p.name}: {_num(p.effect, 4)} {_ci(p.ci)}, p {_p(p.p)}, "
                       f"sign-flip p {_p(p.confirm_p)}, SD between realisations "
                       f"{_num(p.sd_realisation, 4)}, between seeds {_num(p.sd_seed, 4)}, "
                       f"ICC {_num(p.icc, 2)}, {p.n_realisations} x {p.n_seeds}")
    return out


def forest_plot(results: list[ClaimResult], out: Path, stem: str) -> None:
    """Every claim's headline effect with its 95 % CI, the SESOI band and zero, one row per
    claim and world (marker shape = verdict, so it reads without colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if math.isfinite(r.effect) and r.id != "i"]
    shapes = {"HOLDS": "o", "FAILS": "x", "INCONCLUSIVE": "s", "FRAGILE": "D"}
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(len(rows), 3) + 1.2))
    sesoi = max((r.sesoi for r in rows), default=0.0)
    ax.axvspan(-sesoi, sesoi, color="#dddddd", label=f"± SESOI ({sesoi:g})")
    ax.axvline(0, color="k", lw=0.8)
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        lo, hi = r.ci
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=COLOUR[r.verdict], lw=2)
        ax.plot(r.effect, y, marker=shapes[r.verdict], color=COLOUR[r.verdict], ms=7, ls="")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"({r.id}) {r.world}: {r.verdict}" for r in rows][::-1], fontsize=8)
    ax.set_xlabel("effect (total IoU; (a): 0.08 − stay fraction)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Claims: effect and 95 % CI (realisation as the unit)")
    fig.tight_layout()
    fig.savefig(out / f"{stem}.png", dpi=110)
    fig.savefig(out / f"{stem}.svg", metadata={"Date": None})  # same bytes per run
    plt.close(fig)


def write_claims_json(results: list[ClaimResult], path: Path) -> Path:
    """``claims.json``: one object per claim and world (see docs/benchmark.md)."""
    from sedal.core.fsutil import write_bytes_atomic

    doc = {"schema": "sedal-claims-1", "claims": [r.to_dict() for r in results]}
    write_bytes_atomic(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())
    return path
