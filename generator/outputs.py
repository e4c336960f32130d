"""What a dataset dir holds besides its audio: the annotation tables, the manifest and the
summary ``sedgen info`` prints."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from sedal.core.fsutil import (
    sha256_bytes,
)
from sedal.generator.layout import Sources, audio_rel, dataset_key, jams_rel

from .attribution import SOURCES_CSV, sources_csv, sources_rows
from .manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    load_manifest,
    package_versions,
)
from .plan import SPLITS, FilePlan
from .spec import DatasetSpec


# -- tables & manifest -------------------------------------------------------
def dcase_table(plans: list[FilePlan]) -> str:
    """DCASE tsv text: header, then one ``filename onset offset event_label`` row per event.

    Onsets and offsets in seconds (6 decimals), rows in file then time order.
    Files without events have no row (the manifest lists every file).
    """
    rows = ["filename\tonset\toffset\tevent_label"]
    for p in plans:
        for e in sorted(p.events, key=lambda e: e.event_time):
            rows.append(f"{p.id}.wav\t{e.event_time:.6f}\t{e.event_time + e.event_duration:.6f}"
                        f"\t{e.label}")
    return "\n".join(rows) + "\n"


def _write_tables(out: Path, plans: list[FilePlan], sources: str | None = None
                  ) -> dict[str, str]:
    """Write the DCASE tables (and ``SOURCES.csv`` when its text is given); their sha256."""
    from sedal.core.fsutil import write_bytes_atomic

    hashes = {}
    for split in SPLITS:
        rel = f"metadata/{split}.tsv"
        data = dcase_table([p for p in plans if p.split == split]).encode()
        write_bytes_atomic(out / rel, data)
        hashes[rel] = sha256_bytes(data)
    if sources is not None:
        write_bytes_atomic(out / SOURCES_CSV, sources.encode())
        hashes[SOURCES_CSV] = sha256_bytes(sources.encode())
    return hashes


def _sources_text(plans: list[FilePlan], src: Sources) -> str:
    """``SOURCES.csv`` of a dataset: every source clip used, with its provenance."""
    return sources_csv(sources_rows(plans, src.provenance,
                                    builtin=src.meta["kind"] == "builtin"))


def build_manifest(spec: DatasetSpec, sources_meta: dict, plans: list[FilePlan],
                   hashes: dict[str, dict], tables: dict[str, str],
                   groups: dict | None = None) -> dict:
    """Assemble the manifest document from the verified output hashes of every plan.

    ``groups`` (from :func:`sedal.generator.library.split_groups`) records which recordings each
    split holds, for classes whose clips were cut from shared recordings.
    """
    files = []
    for p in plans:
        d = p.to_dict()
        d["audio"] = audio_rel(p)
        d["audio_sha256"] = hashes[p.id]["audio_sha256"]
        d["jams"] = jams_rel(p)
        d["jams_sha256"] = hashes[p.id]["jams_sha256"]
        files.append(d)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dataset_id": dataset_key(spec, sources_meta)[:16],
        "spec": spec.to_dict(),
        "sources": sources_meta,
        "versions": package_versions(),
        "files": files,
        "tables": tables,
    } | ({"split_groups": groups} if groups else {})


# -- info / verify / regenerate ---------------------------------------------
def dataset_info(path: str | os.PathLike) -> dict:
    """Summary of a dataset dir (or manifest): files, events per class, ratios."""
    path = Path(path)
    doc = load_manifest(path / MANIFEST_NAME if path.is_dir() else path)
    spec = DatasetSpec.from_dict(doc["spec"])
    out = {"dataset_id": doc["dataset_id"], "manifest_sha256": doc["manifest_sha256"],
           "format_version": doc["format_version"], "sources": doc["sources"]["name"],
           "splits": {}}
    for split in SPLITS:
        files = [f for f in doc["files"] if f["split"] == split]
        events = [e for f in files for e in f["events"]]
        active = sum(e["event_duration"] for e in events)
        out["splits"][split] = {
            "files": len(files),
            "files_with_events": sum(1 for f in files if f["events"]),
            "event_ratio": (sum(1 for f in files if f["events"]) / len(files)) if files else 0.0,
            "events": len(events),
            "events_per_class": dict(sorted(Counter(e["label"] for e in events).items())),
            "active_fraction": active / (len(files) * spec.duration) if files else 0.0,
        }
    return out
