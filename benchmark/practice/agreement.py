"""``sedbench labels agreement``: how far annotators agree, on the recordings more than one
of them labelled.

Each annotator's labels are one sub-folder of the labels folder (what ``sedbench annotate
--annotator NAME`` writes: ``LABELS/NAME/``), read as ``query`` reads a labels folder. For
every pair of annotators (A, B) and the recordings both labelled, the event-based F1 with A
as the reference and B as the estimate — onset collar ``t_collar`` s, offset collar
``max(t_collar, 20 % of A's event length)``, one-to-one matching as sed_eval's
(:func:`sedal.sed.event_metrics.event_hits`), micro-averaged over the recordings — overall
and per class. The offset collar depends on the reference's lengths, so (A, B) and (B, A)
can differ slightly; both orders are reported.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.collection import scan_audio
from sedal.benchmark.practice.labelled import collect_annotations
from sedal.sed.event_metrics import event_hits


def _f1(hits: int, n_ref: int, n_est: int) -> float | None:
    return 2.0 * hits / (n_ref + n_est) if n_ref + n_est else None


def pair_agreement(ref: dict, est: dict, classes: list[str], t_collar: float = 0.2) -> dict:
    """Event F1 of ``est`` against ``ref`` (``{recording: [(onset_s, offset_s, label)]}``)
    on the recordings both hold: ``recordings``, ``events_ref``, ``events_est``, ``hits``,
    ``f1`` (``None`` when neither has an event) and ``per_class`` F1."""
    common = sorted(set(ref) & set(est))
    hits = sum(event_hits(ref[k], est[k], t_collar=t_collar) for k in common)
    n_ref = sum(len(ref[k]) for k in common)
    n_est = sum(len(est[k]) for k in common)
    per_class = {}
    for c in classes:
        r = {k: [e for e in ref[k] if e[2] == c] for k in common}
        s = {k: [e for e in est[k] if e[2] == c] for k in common}
        h = sum(event_hits(r[k], s[k], t_collar=t_collar) for k in common)
        per_class[c] = _f1(h, sum(map(len, r.values())), sum(map(len, s.values())))
    return {"recordings": len(common), "events_ref": n_ref, "events_est": n_est, "hits": hits,
            "f1": _f1(hits, n_ref, n_est), "per_class": per_class}


def annotator_agreement(audio: str | os.PathLike, labels: str | os.PathLike, *,
                        label_column: str = "Annotation", classes: list[str] | None = None,
                        t_collar: float = 0.2) -> dict:
    """Every annotator pair's agreement (see the module docstring).

    Returns
    -------
    dict
        ``annotators`` (name -> labelled recordings), ``classes`` and ``pairs`` (one per
        ordered pair, :func:`pair_agreement` plus ``reference`` and ``estimate``).
    """
    root = Path(labels)
    if not root.is_dir():
        raise BenchmarkError(f"no labels folder {labels}")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(names) < 2:
        raise BenchmarkError(f"{labels} holds {len(names)} annotator folder(s); agreement needs "
                             "two or more (sedbench annotate --annotator NAME writes "
                             f"{labels}/NAME/)")
    recs, _ = scan_audio(audio)
    if not recs:
        raise BenchmarkError(f"no readable recording in {audio}")
    events = {n: collect_annotations(root / n, recs, label_column=label_column,
                                     classes=classes).events for n in names}
    # one spelling per class across annotators ("Dog" and "dog" are one class), as within
    # one annotator's folder
    from sedal.sed.annotations import merge_classes

    mapping, _ = merge_classes(sorted({e[2] for evs in events.values() for v in evs.values()
                                       for e in v}), classes)
    events = {n: {k: [(a, b, mapping.get(c, c)) for a, b, c, *_ in v] for k, v in evs.items()}
              for n, evs in events.items()}
    cls = sorted({e[2] for evs in events.values() for v in evs.values() for e in v})
    pairs = []
    for a, b in itertools.permutations(names, 2):
        pairs.append({"reference": a, "estimate": b,
                      **pair_agreement(events[a], events[b], cls, t_collar)})
    return {"annotators": {n: len(events[n]) for n in names}, "classes": cls, "pairs": pairs,
            "t_collar": t_collar}


def format_agreement(res: dict) -> str:
    """The agreement as a Markdown table."""
    def fmt(v):
        return "-" if v is None else f"{v:.3f}"

    lines = ["annotators: " + ", ".join(f"{n} ({k} recordings)"
                                         for n, k in res["annotators"].items()),
             "", "| reference | estimate | recordings | events (ref / est) | event F1 | "
             + " | ".join(res["classes"]) + " |",
             "|---|---|---|---|---|" + "---|" * len(res["classes"])]
    for p in res["pairs"]:
        lines.append(f"| {p['reference']} | {p['estimate']} | {p['recordings']} | "
                     f"{p['events_ref']} / {p['events_est']} | {fmt(p['f1'])} | "
                     + " | ".join(fmt(p["per_class"][c]) for c in res["classes"]) + " |")
    lines.append("")
    lines.append(f"event F1: onset collar {res['t_collar']:g} s, offset collar max("
                 f"{res['t_collar']:g} s, 20 % of the reference event), on the recordings "
                 "both labelled; '-': neither has an event")
    return "\n".join(lines) + "\n"
