"""What the annotation app keeps about recordings besides their labels: the frequency bands
of boxes, clip statuses and review-mode decisions (pure functions and their files; the
session, :mod:`sedal.benchmark.practice.annotate`, holds the state and the lock)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.practice.query import detect_events
from sedal.core.errors import SedalError
from sedal.core.fsutil import write_bytes_atomic

#: The clip statuses a person sets (beside "labelled", which saved labels make): stored in
#: :data:`STATUS_FILE` below the labels folder.
CLIP_STATUSES = ("skipped", "unsure", "needs review")
STATUS_FILE = ".sedal-status.json"
#: Review mode's decisions on the model's detections (below the labels folder): the
#: decisions (JSON) and the same as one Raven table of every reviewed detection.
REVIEW_DIR = ".sedal-review"
REVIEW_DECISIONS = ("accept", "reject", "relabel")
_DECISION_KEYS = ("rel", "onset", "offset", "label", "confidence", "decision", "final_label")


# -- frequency bands -------------------------------------------------------------------
def box_json(box) -> dict:
    """A box ``(onset_s, offset_s, label, low_hz, high_hz)`` as the page's JSON."""
    a, b, c, lo, hi = box
    return {"onset": a, "offset": b, "label": c, "low_hz": lo, "high_hz": hi}


def check_band(event: dict, full: tuple[float, float], sr: int) -> tuple[float, float]:
    """The validated ``(low_hz, high_hz)`` of an event from the page (``full`` if it has
    none): both or neither, JSON numbers, ``0 <= low < high <= sr / 2``, rounded to 0.1 Hz."""
    lo, hi = event.get("low_hz"), event.get("high_hz")
    if lo is None and hi is None:
        return full
    if not all(type(v) in (int, float) for v in (lo, hi)):
        raise BenchmarkError("low_hz and high_hz must both be numbers (or both left out)")
    try:
        lo, hi = round(float(lo), 1), round(float(hi), 1)
    except OverflowError:
        lo = hi = math.inf
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 0.0 <= lo < hi <= sr / 2:
        raise BenchmarkError(f"band {lo:g}-{hi:g} Hz is not inside 0-{sr / 2:g} Hz or "
                             "narrower than 0.1 Hz")
    return lo, hi


def bands_from_table(source: str | None, name: str, events, full: tuple[float, float],
                     nyquist: float):
    """``events`` ``(onset_s, offset_s, label)`` with the bands their label file gives
    (Raven Low/High Freq matched by time and class, case-insensitively; rows for the
    recording named ``name`` or for the file's own), clipped to 0-``nyquist`` Hz (a BirdNET
    table's 15 kHz on a 16 kHz recording), else ``full``."""
    from sedal.sed.annotations import normalise_label, read_label_file

    bands = {}
    try:
        for row in read_label_file(Path(source)) if source else []:
            if row.low_hz is None or row.recording not in (None, name, Path(name).stem):
                continue
            lo, hi = round(min(row.low_hz, nyquist), 1), round(min(row.high_hz, nyquist), 1)
            if lo < hi:
                bands.setdefault((round(row.onset, 6), round(row.offset, 6),
                                  normalise_label(row.label)), (lo, hi))
    except (OSError, SedalError):  # read already at start; a file changed since: no bands
        bands = {}
    return [(a, b, c, *bands.get((round(a, 6), round(b, 6), normalise_label(c)), full))
            for a, b, c in events]


# -- clip statuses -----------------------------------------------------------------------
def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BenchmarkError(f"{path} is not a sedal {what} file ({exc}); move it away") \
            from None


def read_statuses(labels: Path, known) -> dict[str, str]:
    """The statuses kept in :data:`STATUS_FILE` of recordings in ``known`` (others, no
    longer scanned, are dropped); a file that is not a status file is refused."""
    path = labels / STATUS_FILE
    doc = _read_json(path, "status")
    if doc is None:
        return {}
    st = doc.get("statuses") if isinstance(doc, dict) else None
    if not isinstance(st, dict) or not all(
            isinstance(k, str) and v in CLIP_STATUSES for k, v in st.items()):
        raise BenchmarkError(f"{path} is not a sedal status file (expected "
                             f"{{\"statuses\": {{recording: one of {CLIP_STATUSES}}}}}); "
                             "move it away")
    return {k: v for k, v in st.items() if k in known}


def check_status(status: object) -> str | None:
    if status is not None and status not in CLIP_STATUSES:
        raise BenchmarkError(f"status must be one of {', '.join(CLIP_STATUSES)} or null")
    return status


def write_statuses(labels: Path, statuses: dict[str, str]) -> None:
    write_bytes_atomic(labels / STATUS_FILE, json.dumps(
        {"statuses": dict(sorted(statuses.items()))}, indent=1).encode())


# -- review decisions ------------------------------------------------------------------
def read_decisions(labels: Path) -> list[dict]:
    """The decisions kept in ``REVIEW_DIR/decisions.json``; anything else is refused."""
    path = labels / REVIEW_DIR / "decisions.json"
    doc = _read_json(path, "review")
    if doc is None:
        return []
    ds = doc.get("decisions") if isinstance(doc, dict) else None
    if not isinstance(ds, list) or not all(
            isinstance(d, dict) and set(d) == set(_DECISION_KEYS)
            and d["decision"] in REVIEW_DECISIONS for d in ds):
        raise BenchmarkError(f"{path} is not a sedal review file; move it away")
    return ds


def _key(d: dict) -> tuple:
    return d["rel"], d["onset"], d["offset"], d["label"]


def decision_entry(body: object, check_event, classes: list[str]) -> dict:
    """A decision sent by the page, validated: ``{rel, onset, offset, label, confidence,
    decision, final_label}`` (``final_label`` only for relabel); ``check_event(rel, event)``
    validates the detection (and raises for a recording outside the session)."""
    if not isinstance(body, dict):
        raise BenchmarkError("expected a JSON object")
    rel = body.get("rel")
    a, b, lab = check_event(rel, {k: body.get(k) for k in ("onset", "offset", "label")})
    decision = body.get("decision")
    if decision not in REVIEW_DECISIONS:
        raise BenchmarkError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
    conf = body.get("confidence")
    if type(conf) not in (int, float) or not 0.0 <= conf <= 1.0:
        raise BenchmarkError("confidence must be a number in [0, 1]")
    final = body.get("final_label") if decision == "relabel" else (
        None if decision == "reject" else lab)
    if decision == "relabel" and final not in classes:
        raise BenchmarkError(f"final_label must be one of {', '.join(classes)}")
    return {"rel": rel, "onset": a, "offset": b, "label": lab,
            "confidence": round(float(conf), 4), "decision": decision, "final_label": final}


def record_decision(labels: Path, decisions: list[dict], entry: dict) -> list[dict]:
    """``decisions`` with ``entry`` (replacing an earlier decision on the same detection),
    written atomically as JSON and as :func:`review_table`."""
    out = sorted([d for d in decisions if _key(d) != _key(entry)] + [entry], key=_key)
    root = labels / REVIEW_DIR
    write_bytes_atomic(root / "decisions.json", json.dumps({"decisions": out},
                                                           indent=1).encode())
    write_bytes_atomic(root / "reviewed.selections.txt", review_table(out).encode())
    return out


def review_table(decisions: list[dict]) -> str:
    """Every reviewed detection as one Raven table (rows name their recording): the final
    class, the model's class and confidence, Review = the decision."""
    head = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Begin File",
            "File Offset (s)", "Annotation", "Predicted", "Confidence", "Review"]
    rows = ["\t".join(head)]
    for i, d in enumerate(decisions, 1):
        rows.append("\t".join([str(i), "Spectrogram 1", "1", f"{d['onset']:.6f}",
                               f"{d['offset']:.6f}", d["rel"], f"{d['onset']:.6f}",
                               d["final_label"] or d["label"], d["label"],
                               f"{d['confidence']:.4f}", d["decision"]]))
    return "\n".join(rows) + "\n"


def with_decisions(items: list[dict], decisions: list[dict]) -> list[dict]:
    """Each detection with the decision made on it so far (``None``: not reviewed)."""
    done = {_key(d): d for d in decisions}
    return [{**e, "decision": done.get(_key(e), {}).get("decision"),
             "final_label": done.get(_key(e), {}).get("final_label")} for e in items]


# -- the events the page sends ---------------------------------------------------------
def validate_boxes(events: object, classes: list[str], duration: float, sr: int,
                   full: tuple[float, float]) -> list[tuple[float, float, str, float, float]]:
    """Boxes sent by the page, validated: a list of ``{onset, offset, label}`` (seconds;
    JSON numbers, not booleans or strings) inside ``0``-``duration`` s, at least 1 us long
    after rounding to 1 us, with a class of ``classes``, and optionally ``low_hz`` and
    ``high_hz`` (:func:`check_band`; ``full`` without them); sorted."""
    if not isinstance(events, list) or len(events) > 10_000:
        raise BenchmarkError("events must be a list")
    out = []
    for e in events:
        vals = (e.get("onset"), e.get("offset"), e.get("label")) if isinstance(e, dict) \
            else (None, None, None)
        if not (all(type(v) in (int, float) for v in vals[:2]) and isinstance(vals[2], str)):
            raise BenchmarkError("every event needs a numeric onset and offset and a label")
        try:
            a, b, lab = round(float(vals[0]), 6), round(float(vals[1]), 6), vals[2]
        except OverflowError:
            a = b = math.inf
        # an offset up to 1 ms past the end is the end (browsers round); the onset must
        # still come before it
        if not (math.isfinite(a) and math.isfinite(b)) or not (
                0.0 <= a < b <= duration + 1e-3 and a < round(min(b, duration), 6)):
            raise BenchmarkError(f"event {a:g}-{b:g} s is not inside the recording "
                                 f"(0-{duration:g} s) or shorter than 1 us")
        if lab not in classes:
            raise BenchmarkError(f"unknown class {lab!r}; the classes are {', '.join(classes)}")
        out.append((a, round(min(b, duration), 6), lab, *check_band(e, full, sr)))
    return sorted(out)


class ClipStateMixin:
    """The session's clip statuses and review mode (for
    :class:`~sedal.benchmark.practice.annotate.AnnotationSession`, whose lock, recordings,
    labels, model and features they use)."""

    def set_status(self, rel: str, status: object) -> dict:
        """Set the clip status of ``rel`` (one of ``CLIP_STATUSES``, or ``None`` to clear
        it), kept atomically beside the labels."""
        self.recording(rel)
        status = check_status(status)
        with self._lock:
            if status is None:
                self.statuses.pop(rel, None)
            else:
                self.statuses[rel] = status
            write_statuses(self.labels, self.statuses)
            return {"rel": rel, "status": self.statuses.get(rel)}

    def review_items(self, limit: int = 500) -> dict:
        """The current model's detections in unlabelled recordings, most confident first (at
        most ``limit``), each with the decision made on it so far. Computed once per model
        version."""
        with self._lock:
            version, det, post, cached = self.model_version, self.det, dict(self.post), \
                self._review
        if cached is None or cached[0] != version:
            items = []
            d = copy.copy(det).with_postprocess(post) if det is not None else None
            for rel in sorted(set(self.recordings) - set(self.events)) if d else []:
                dur = self.recordings[rel].duration
                items += [{"rel": rel, "onset": round(float(a), 6),
                           "offset": round(min(float(b), dur), 6), "label": c,
                           "confidence": round(float(p), 4)}
                          for a, b, c, p in detect_events(d, self.features(rel), dur)]
            items.sort(key=lambda e: (-e["confidence"], e["rel"], e["onset"]))
            with self._lock:
                self._review = cached = (version, items)
        with self._lock:
            decisions = list(self.decisions)
        return {"items": with_decisions(cached[1][:limit], decisions), "total": len(cached[1]),
                "model_version": cached[0], "reviewed": len(decisions)}

    def review(self, body: object) -> dict:
        """Record a decision on one detection
        (:func:`~sedal.benchmark.practice.clip_state.decision_entry`), kept atomically in
        ``labels/.sedal-review/`` (decisions.json and reviewed.selections.txt); a later
        decision on the same detection replaces the earlier one. Decisions do not label a
        recording (a reviewed box says nothing about the rest of it)."""
        entry = decision_entry(body, lambda rel, e: self.check_events(rel, [e])[0],
                               self.classes[1:])
        with self._lock:
            self.decisions = record_decision(self.labels, self.decisions, entry)
            return {"reviewed": len(self.decisions), "decision": entry}

