"""BirdNET v2.4 against YAMNet as the embedding of the study's detector (issue 27, item 5).

Pre-stated (2026-12-06, before any result): the estimand is the expected paired difference,
over dataset realisations of one library (SNR 0 dB, event ratio r, ``--n-files`` files, an
80/20 split), of held-out total IoU and event F1 (collar 0.2 s) between the paper detector
(linear softmax on one embedding per segment, C 1, median filter 3, same-class runs merged)
on BirdNET embeddings and on YAMNet patch embeddings. Each dataset realisation is the unit:
mean and 95 % t interval of the paired difference over realisations (df = n - 1); smallest
effect of interest 0.02 total IoU (benchmark/claims.toml's). BirdNET "wins" only when the
whole interval is above +0.02; "loses" when it is wholly below -0.02; else INCONCLUSIVE.
Evaluation seeds default to 201-205: never used by preset selection (real-sources seeds 0-4
are reserved for development, sedal.sed.provenance) and never used in development here.

Usage::

    SEDAL_CACHE=... python scripts/backbone_compare.py --sources ../shared/real-sources \
        --seeds 201-205 --data data-backbones --out docs/results/backbones
    python scripts/backbone_compare.py --builtin field --seeds 201-205 ...

Resumable: datasets, stores and each (realisation, backbone) result are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _seeds(text: str) -> list[int]:
    from sedal.benchmark.al.plan import parse_seeds

    return parse_seeds(text)


def evaluate_realisation(dataset: Path, backbone: str, window_hop: float, out: Path) -> dict:
    """Embed (or reuse) and score one dataset with one backbone; the result is kept in
    ``out/cells/<dataset>-<backbone>.json``."""
    from sedal.core.fsutil import write_json_atomic
    from sedal.sed.detector import DetectorSpec, detector_store
    from sedal.sed.estimator import Detector
    from sedal.sed.evaluate import supervised
    from sedal.sed.features import FeatureParams, load_dataset_manifest

    tag = f"birdnet-w{window_hop:g}" if backbone == "birdnet" else backbone
    cell = out / "cells" / f"{dataset.name}-{tag}.json"
    if cell.exists():
        return json.loads(cell.read_text())
    params = (FeatureParams(mode=f"w{window_hop:g}", backbone="birdnet") if backbone == "birdnet"
              else FeatureParams())
    doc, msha = load_dataset_manifest(dataset)
    t0 = time.perf_counter()
    store = detector_store(dataset, DetectorSpec(), params)
    embed_s = time.perf_counter() - t0
    res = supervised(store, doc, 1.0, random_state=0, detector=Detector.from_spec(DetectorSpec()),
                     threads=1)
    rec = {"dataset": dataset.name, "manifest_sha256": msha, "backbone": backbone,
           "features": params.name(), "embed_or_open_seconds": round(embed_s, 1),
           "total_iou": res["total_iou"], "event_f1": res.get("event_f1"),
           "per_class_iou": res["per_class_iou"], "n_train_files": res["n_train_files"],
           "licence": store.meta.get("weights", {}).get("licence")}
    write_json_atomic(cell, rec)
    return rec


def summarize(cells: list[dict], sesoi: float = 0.02) -> dict:
    """Per metric: each backbone's mean and the paired BirdNET - YAMNet difference over
    realisations with its 95 % t interval and verdict."""
    from sedal.benchmark.stats.claims import DIFFERENCE_RANGE, t_ci

    by = {}
    for c in cells:
        by.setdefault(c["dataset"], {})[c["backbone"]] = c
    pairs = [v for v in by.values() if {"yamnet", "birdnet"} <= set(v)]
    out = {"n_realisations": len(pairs), "sesoi": sesoi, "metrics": {}}
    for m in ("total_iou", "event_f1"):
        y = np.array([p["yamnet"][m] or 0.0 for p in pairs])
        b = np.array([p["birdnet"][m] or 0.0 for p in pairs])
        d = b - y
        lo, hi = t_ci(d, bounds=DIFFERENCE_RANGE) if len(d) > 1 else (np.nan, np.nan)
        verdict = ("BirdNET better" if lo > sesoi else "YAMNet better" if hi < -sesoi
                   else "INCONCLUSIVE")
        out["metrics"][m] = {"yamnet_mean": float(y.mean()) if len(y) else None,
                             "birdnet_mean": float(b.mean()) if len(b) else None,
                             "difference": float(d.mean()) if len(d) else None,
                             "ci": [float(lo), float(hi)], "verdict": verdict}
    return out


def library_name(args) -> str:
    """The name the datasets and the summary give the source library of ``args``."""
    return "real-sources" if args.sources else args.builtin


def dataset_path(args, seed: int) -> Path:
    """Where the realisation of dataset seed ``seed`` lives (``args``: this script's or
    ``detector_fresh.py``'s options, which share their datasets)."""
    return args.data / f"{library_name(args)}_snr0_r{args.ratio:g}_n{args.n_files}_seed{seed}"


def evaluation_dataset(args, seed: int) -> Path:
    """Build (or reuse) the realisation of dataset seed ``seed`` (SNR 0, ``args.ratio``,
    ``args.n_files`` files); refuse it, with one error, if the field preset's selection saw
    it."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.features import load_dataset_manifest
    from sedal.sed.provenance import check_unseen

    spec = DatasetSpec(n_files=args.n_files, snr=0.0, event_ratio=args.ratio, seed=seed)
    ds = dataset_path(args, seed)
    make_dataset(spec, ds, sources=args.sources, jobs=1,
                 **({} if args.sources else {"builtin": args.builtin}))
    doc, msha = load_dataset_manifest(ds)
    check_unseen([(["field"], doc.sources.name, seed, msha, ds.name)])
    return ds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=Path, default=None, help="a source library folder")
    ap.add_argument("--builtin", default="field", help="without --sources: a built-in library")
    ap.add_argument("--seeds", default="201-205", help="evaluation dataset seeds")
    ap.add_argument("--n-files", type=int, default=400)
    ap.add_argument("--ratio", type=float, default=0.2)
    ap.add_argument("--window-hop", type=float, default=0.5)
    ap.add_argument("--data", type=Path, default=Path("data-backbones"))
    ap.add_argument("--out", type=Path, default=Path("results-backbones"))
    args = ap.parse_args(argv)
    from sedal.core.fsutil import write_json_atomic

    cells = []
    for seed in _seeds(args.seeds):
        ds = evaluation_dataset(args, seed)
        for backbone in ("yamnet", "birdnet"):
            cells.append(evaluate_realisation(ds, backbone, args.window_hop, args.out))
            print(json.dumps(cells[-1]), flush=True)
    summary = {"library": library_name(args), "seeds": _seeds(args.seeds), "n_files": args.n_files,
               "ratio": args.ratio, "window_hop": args.window_hop, **summarize(cells)}
    write_json_atomic(args.out / "summary.json", summary)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    from sedal.core.errors import SedalError

    try:
        sys.exit(main())
    except SedalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
