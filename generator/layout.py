"""A dataset dir's layout and identity: where each file's audio and annotations go, the key
that identifies a dataset, and the source library it is rendered from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sedal.core.fsutil import (
    canonical_json,
    check_component,
    sha256_bytes,
)

from .attribution import read_provenance
from .builtin import BUILTINS, DEFAULT_BUILTIN, builtin_library, builtin_name
from .library import (
    PREPARE_VERSION,
    PreparedLibrary,
    hash_library,
    prepare_library,
    scan_library,
)
from .manifest import (
    FORMAT_VERSION,
)
from .plan import FilePlan
from .spec import DatasetSpec


@dataclass(frozen=True)
class Sources:
    """A resolved source library and how to describe it in a manifest."""

    prepared: PreparedLibrary
    meta: dict
    provenance: dict | None = None  # the library's provenance.csv rows, by clip path


def resolve_sources(sources: str | os.PathLike | None, sr: int, *, builtin_seed: int = 0,
                    builtin: str = DEFAULT_BUILTIN, progress: bool = False) -> Sources:
    """Scan, hash and prepare a library (``None`` means the built-in one named ``builtin``)."""
    if sources is None:
        root = builtin_library(builtin_seed, library=builtin, progress=progress)
        meta = {"kind": "builtin", "name": builtin_name(builtin_seed, builtin),
                "builtin_version": BUILTINS[builtin]["version"], "builtin_seed": builtin_seed}
        if builtin != "clean":  # the clean library's manifests predate this key
            meta["builtin_library"] = builtin
    else:
        root = Path(sources)
        meta = {"kind": "folder", "name": root.resolve().name}
    lib = scan_library(root)
    hashes = hash_library(lib)
    prepared = prepare_library(lib, sr, hashes=hashes)
    meta.update({"library_sha256": prepared.library_sha256, "prepare_version": PREPARE_VERSION,
                 "clips": hashes})
    return Sources(prepared, meta, read_provenance(root))


def dataset_key(spec: DatasetSpec, sources_meta: dict,
                format_version: int = FORMAT_VERSION) -> str:
    """Identity of a dataset: hash of its spec, its source library and its format."""
    return sha256_bytes(canonical_json(
        {"spec": spec.to_dict(), "library": sources_meta["library_sha256"],
         "format_version": format_version}).encode())


def audio_rel(plan: FilePlan) -> str:
    """``audio/<split>/<id>.wav`` (split and id checked to be plain names)."""
    return f"audio/{_safe(plan.split)}/{_safe(plan.id)}.wav"


def jams_rel(plan: FilePlan) -> str:
    """``annotations/<split>/<id>.jams`` (split and id checked to be plain names)."""
    return f"annotations/{_safe(plan.split)}/{_safe(plan.id)}.jams"


def _safe(name: str) -> str:
    return check_component(name, what="file id or split")
