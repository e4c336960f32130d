"""Measure what ``detect``'s post-processing does to the tables people correct (issue 13).

Builds a dataset from a source library (default ``../shared/real-sources``), labels half of
its recordings (every other one by name; Raven tables with two views, as Raven exports
them), runs ``sedbench detect`` on the whole folder without post-processing ("before") and with
the defaults chosen by cross-validation ("after"), and reports on the *unlabelled* half: events, the
median predicted event length, false events per background-only recording, and event F1
against the truth (collar 0.2 s). A third run uses the fixed defaults (what ``detect`` uses
with fewer than 20 labelled events).

    python scripts/measure_postprocess.py --out /tmp/pp [--sources DIR] [--n-files 200]
        [--detector field|paper]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _raven(events) -> str:
    rows = ["Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
            "High Freq (Hz)\tAnnotation"]
    for i, (a, b, lab) in enumerate(events, 1):
        for view in ("Waveform 1", "Spectrogram 1"):
            rows.append(f"{i}\t{view}\t1\t{a:.3f}\t{b:.3f}\t0\t8000\t{lab}")
    return "\n".join(rows) + "\n"


def measure(sources: Path, out: Path, n_files: int, snr: float, ratio: float, seed: int,
            detector: str = "field") -> dict:
    from sedal.benchmark.practice.detect import run_detect
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.annotations import read_labels
    from sedal.sed.detector import PRESETS
    from sedal.sed.event_metrics import event_f1

    ds = out / "dataset"
    if not (ds / "manifest.json").exists():
        make_dataset(DatasetSpec(n_files=n_files, snr=snr, event_ratio=ratio, seed=seed), ds,
                     sources=sources, jobs=2)
    doc = json.loads((ds / "manifest.json").read_text())
    files = sorted(doc["files"], key=lambda f: f["id"])
    truth = {f"{f['split']}/{f['id']}.wav": sorted(
        (round(e["event_time"], 6), round(e["event_time"] + e["event_duration"], 6), e["label"])
        for e in f["events"]) for f in files}
    keys = sorted(truth)
    labelled, held = keys[::2], keys[1::2]
    labels = out / "labels"
    for k in labelled:
        p = labels / (k[:-4] + ".Table.1.selections.txt")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(_raven(truth[k]))
    result = {"sources": str(sources), "n_files": n_files, "snr": snr, "ratio": ratio,
              "seed": seed, "detector": detector, "labelled": len(labelled),
              "held_out": len(held)}
    from sedal.benchmark.practice.query import POSTPROCESS

    for name, kw in (("before", {"merge_gap": 0.0, "min_duration": 0.0, "min_confidence": 0.0}),
                     ("fixed", dict(POSTPROCESS)), ("after", {})):
        res = run_detect(ds / "audio", out / f"detect-{name}", labels=labels,
                         cache_root=out / "cache", detector=PRESETS[detector], **kw)
        est = {k: read_labels(out / f"detect-{name}" / "raven" /
                              (k[:-4] + ".Table.1.selections.txt")) for k in held}
        lengths = [b - a for k in held for a, b, _ in est[k]]
        background_only = [k for k in held if not truth[k]]
        result[name] = {
            "postprocess": res["postprocess"],
            "events": len(lengths),
            "median_event_s": float(np.median(lengths)) if lengths else None,
            "false_events_per_background_only_file": (
                float(np.mean([len(est[k]) for k in background_only]))
                if background_only else None),
            "background_only_files": len(background_only),
            "event_f1": event_f1({k: truth[k] for k in held}, est),
            "reference_events": sum(len(truth[k]) for k in held),
            "reference_median_event_s": float(np.median(
                [b - a for k in held for a, b, _ in truth[k]])),
            "cv_event_f1": res.get("cv_event_f1"), "cv_event_f1_raw": res.get("cv_event_f1_raw"),
        }
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "real-sources")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-files", type=int, default=200)
    ap.add_argument("--snr", type=float, default=0.0)
    ap.add_argument("--ratio", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detector", choices=("field", "paper"), default="field")
    args = ap.parse_args()
    res = measure(args.sources, args.out, args.n_files, args.snr, args.ratio, args.seed,
                  args.detector)
    (args.out / "postprocess.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
