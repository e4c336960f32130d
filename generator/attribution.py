"""Attribution of a dataset: which source clips it uses, under which licences, and what to cite.

A source library may carry a ``provenance.csv`` (the built-in field library, libraries
fetched by ``sedgen sources fetch``, ``../shared/real-sources``): one row per clip with at
least its path (``path`` or ``file``) and usually ``origin``, ``licence``/``license``,
``citation`` and ``corpus``. :func:`sources_rows` joins it with the clips a dataset's
manifest says were used; ``make`` writes the result as the dataset's ``SOURCES.csv``, and
``sedgen license`` / ``sedgen cite`` read it back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GeneratorError

if TYPE_CHECKING:  # the manifest module imports this one's writer through dataset
    from .manifest import Manifest
    from .plan import FilePlan

#: The dataset file listing every source clip used (clip, uses, origin, licence, citation).
SOURCES_CSV = "SOURCES.csv"
SOURCES_FIELDS = ("clip", "kind", "label", "uses", "origin", "licence", "citation", "corpus")
#: Licence of the built-in libraries' clips (synthesized by sedal).
BUILTIN_LICENCE = "CC0-1.0 (synthetic; sedal built-in library)"
#: Obligations of common licences, for the summary (by prefix, case-insensitive).
OBLIGATIONS = (
    ("cc0", "none"),
    ("cc-by-nc-sa", "attribution, non-commercial use only, share-alike"),
    ("cc by-nc-sa", "attribution, non-commercial use only, share-alike"),
    ("cc-by-nc", "attribution, non-commercial use only"),
    ("cc by-nc", "attribution, non-commercial use only"),
    ("cc-by-sa", "attribution, share-alike"),
    ("cc by-sa", "attribution, share-alike"),
    ("cc-by", "attribution"),
    ("cc by", "attribution"),
    ("gpl", "copyleft: ship the licence text, share-alike"),
    ("odbl", "attribution, share-alike for derived databases"),
    ("free art", "attribution, copyleft"),
    ("tut", "academic (non-commercial) use only"),
)

STUDY_TITLE = ("Aggregation Strategies for Efficient Annotation of Bioacoustic Sound Events "
               "Using Active Learning")
#: The year in sedal's and its datasets' citations.
CITATION_YEAR = 2026

SEDAL_BIBTEX = """@software{sedal,
  title   = {sedal: reproducible bioacoustic soundscape datasets and an active-learning
             benchmark for sound event detection},
  author  = {{sedal developers}},
  year    = {%(year)s},
  version = {%(version)s},
  note    = {%(note)s}
}"""

STUDY_BIBTEX = """@misc{lindholm2025aggregation,
  title         = {Aggregation Strategies for Efficient Annotation of Bioacoustic Sound Events
                   Using Active Learning},
  author        = {Lindholm, Richard and Marklund, Oscar and Mogren, Olof and
                   Martinsson, John},
  year          = {2025},
  eprint        = {2503.02422},
  archivePrefix = {arXiv},
  url           = {https://arxiv.org/abs/2503.02422}
}"""

SCAPER_BIBTEX = """@inproceedings{salamon2017scaper,
  title     = {Scaper: A Library for Soundscape Synthesis and Augmentation},
  author    = {Salamon, Justin and MacConnell, Duncan and Cartwright, Mark and Li, Peter
               and Bello, Juan Pablo},
  booktitle = {IEEE Workshop on Applications of Signal Processing to Audio and Acoustics
               (WASPAA)},
  pages     = {344--348},
  year      = {2017},
  doi       = {10.1109/WASPAA.2017.8170052}
}"""


def read_provenance(root: str | os.PathLike) -> dict[str, dict[str, str]] | None:
    """``provenance.csv`` of a library as ``{clip path: {origin, licence, citation, corpus}}``
    (``None`` when the library has none)."""
    from .library import read_provenance_rows

    rows = read_provenance_rows(root)
    if rows is None:
        return None
    out = {}
    for i, row in enumerate(rows, start=2):
        clip = row.get("path") or row.get("file")
        if not clip:
            raise GeneratorError(f"{Path(root) / 'provenance.csv'}:{i}: no 'path' or 'file' "
                                 "column value")
        out[clip] = {"origin": row.get("origin", ""),
                     "licence": row.get("licence") or row.get("license", ""),
                     "citation": row.get("citation", ""), "corpus": row.get("corpus", "")}
    return out


def clips_used(plans: Iterable[FilePlan]) -> Counter:
    """How many times each source clip (library-relative path) is used by the files
    ``plans``: events, background windows and background-bed pieces."""
    uses: Counter = Counter()
    for p in plans:
        for e in p.events:
            uses[e.source] += 1
        if p.bg_bed:
            for piece in p.bg_bed:
                uses[piece.source] += 1
        else:
            uses[p.bg_source] += 1
    return uses


def _stem(path: str) -> str:
    return path.rsplit(".", 1)[0]


def sources_rows(plans: Iterable[FilePlan], provenance: dict[str, dict] | None, *,
                 builtin: bool) -> list[dict[str, str]]:
    """One row per source clip the files ``plans`` use (see :data:`SOURCES_FIELDS`).

    Clips of a ``builtin`` library get :data:`BUILTIN_LICENCE`; clips of a folder library
    without a provenance row get an empty licence (reported as *unknown*).
    """
    provenance = provenance or {}
    # prepared clips are .wav whatever the original's format: match by stem otherwise
    by_stem: dict[str, dict] = {}
    for path, row in provenance.items():
        by_stem.setdefault(_stem(path), row)
    rows = []
    for clip, n in sorted(clips_used(plans).items()):
        parts = clip.split("/")
        kind, label = (parts[0], parts[1]) if len(parts) >= 3 else ("", "")
        row = provenance.get(clip) or by_stem.get(_stem(clip), {})
        rows.append({"clip": clip, "kind": kind, "label": label, "uses": str(n),
                     "origin": row.get("origin", ""),
                     "licence": row.get("licence") or (BUILTIN_LICENCE if builtin else ""),
                     "citation": row.get("citation", ""), "corpus": row.get("corpus", "")})
    return rows


def sources_csv(rows: list[dict[str, str]]) -> str:
    """The text of ``SOURCES.csv``."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SOURCES_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def read_sources_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a dataset's ``SOURCES.csv``."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and set(SOURCES_FIELDS) - set(rows[0]):
        raise GeneratorError(f"{path}: not a sedal SOURCES.csv (columns "
                             f"{', '.join(SOURCES_FIELDS)} expected)")
    return rows


def obligations(licence: str) -> str:
    """What a licence asks of a redistributor, in a few words (or *check the licence*)."""
    low = licence.lower()
    if not low:
        return "unknown licence: do not redistribute before checking"
    return next((o for prefix, o in OBLIGATIONS if low.startswith(prefix) or prefix in low),
                "check the licence")


def licence_summary(rows: list[dict[str, str]]) -> list[tuple[str, int, str]]:
    """``(licence, clips, obligations)``, most clips first."""
    counts = Counter(r["licence"] or "" for r in rows)
    return [(lic or "unknown", n, obligations(lic))
            for lic, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _bibkey(text: str, used: set[str]) -> str:
    words = re.findall(r"[A-Za-z]+", text)
    year = (re.findall(r"(?:19|20)\d\d", text) or [""])[0]
    key = (words[0].lower() if words else "source") + year
    base, k = key, 2
    while key in used:
        key, k = f"{base}{chr(ord('a') + k - 2)}", k + 1
    used.add(key)
    return key


def dataset_title(doc: Manifest) -> str:
    """A dataset's descriptive title: world, SNR, event ratio, size and seed."""
    sp = doc.spec
    snr = f"{sp.snr:g} dB" if sp.snr_range is None else "{:g} to {:g} dB".format(*sp.snr_range)
    return (f"sedal soundscape dataset {doc.dataset_id}: {doc.sources.name}, SNR {snr}, "
            f"event ratio {sp.event_ratio:g}, {sp.n_files} files of {sp.duration:g} s, "
            f"seed {sp.seed}")


def dataset_bibtex(doc: Manifest, version: str) -> str:
    """The BibTeX entry of one dataset: its title, its id (``manifest_sha256``, what a paper
    cites), the manifest format and how to rebuild it byte for byte."""
    fields = [
        ("title", dataset_title(doc)),
        ("author", "{sedal developers}"),
        ("year", str(CITATION_YEAR)),
        ("howpublished", "Synthetic dataset, regenerated byte for byte from its manifest "
                         f"with `sedgen regenerate` (sedal {version})"),
        ("note", f"manifest\\_sha256 {doc.manifest_sha256}; manifest format "
                 f"{doc.document.get('format_version')}; sources {doc.sources.name}"),
    ]
    body = ",\n".join(f"  {k:<12} = {{{v}}}" for k, v in fields)
    return f"@misc{{sedal_dataset_{doc.dataset_id},\n{body}\n}}"


def bibtex(doc: Manifest, rows: list[dict[str, str]], version: str) -> str:
    """BibTeX for a dataset: the dataset itself, sedal, the study, Scaper, and one
    ``@misc`` per distinct citation of the source clips (corpora, recordings)."""
    note = (f"dataset {doc.dataset_id}, manifest_sha256 {doc.manifest_sha256}, "
            f"sources {doc.sources.name}")
    sedal = SEDAL_BIBTEX % {"version": version, "note": note, "year": CITATION_YEAR}
    entries = [dataset_bibtex(doc, version), sedal, STUDY_BIBTEX, SCAPER_BIBTEX]
    used: set[str] = set()
    for cite in sorted({r["citation"] for r in rows if r["citation"]}):
        note = cite.replace("{", "(").replace("}", ")")
        entries.append(f"@misc{{{_bibkey(cite, used)},\n  note = {{{note}}}\n}}")
    return "\n\n".join(entries) + "\n"


def cff(doc: Manifest, rows: list[dict[str, str]], version: str) -> str:
    """A ``CITATION.cff`` (Citation File Format 1.2.0) for a dataset: type dataset, its id
    as an identifier, and sedal, the study, Scaper and the source citations as references.
    Strings are JSON-quoted, which YAML reads as they are."""
    q = json.dumps
    fmt = doc.document.get("format_version")
    rebuilt = ("Regenerated byte for byte from its manifest with sedgen regenerate "
               f"(sedal {version}).")
    lines = ["cff-version: 1.2.0",
             f"message: {q('If you use this dataset, cite it as below, with its references.')}",
             "type: dataset", f"title: {q(dataset_title(doc))}",
             "authors:", f"  - name: {q('sedal developers')}",
             f"version: {q(doc.manifest_sha256)}",
             "identifiers:", "  - type: other", f"    value: {q(doc.manifest_sha256)}",
             f"    description: {q(f'manifest_sha256 (manifest format {fmt})')}",
             f"abstract: {q(rebuilt)}",
             "references:",
             "  - type: software", f"    title: {q('sedal')}", f"    version: {q(version)}",
             "    authors:", f"      - name: {q('sedal developers')}",
             "  - type: article",
             f"    title: {q(STUDY_TITLE)}",
             "    authors:"]
    for family, given in (("Lindholm", "Richard"), ("Marklund", "Oscar"), ("Mogren", "Olof"),
                          ("Martinsson", "John")):
        lines += [f"      - family-names: {q(family)}", f"        given-names: {q(given)}"]
    lines += ["    year: 2025", "    identifiers:", "      - type: url",
              f"        value: {q('https://arxiv.org/abs/2503.02422')}",
              "  - type: conference-paper",
              f"    title: {q('Scaper: A Library for Soundscape Synthesis and Augmentation')}",
              "    authors:"]
    for family, given in (("Salamon", "Justin"), ("MacConnell", "Duncan"),
                          ("Cartwright", "Mark"), ("Li", "Peter"), ("Bello", "Juan Pablo")):
        lines += [f"      - family-names: {q(family)}", f"        given-names: {q(given)}"]
    lines += ["    year: 2017", f"    doi: {q('10.1109/WASPAA.2017.8170052')}"]
    for cite in sorted({r["citation"] for r in rows if r["citation"]}):
        lines += ["  - type: generic", f"    title: {q(cite)}", "    authors:",
                  f"      - name: {q('see title')}"]
    return "\n".join(lines) + "\n"


def dataset_sources(dataset: str | os.PathLike, sources: str | os.PathLike | None = None
                    ) -> tuple[Manifest, list[dict[str, str]]]:
    """(manifest, rows): the source clips a dataset dir uses, with their provenance.

    Read from the dataset's ``SOURCES.csv`` when it has one; otherwise (datasets made before
    it existed) computed from the manifest and the provenance of ``sources`` (a library
    folder) or, for built-in datasets, the built-in licence.
    """
    from .manifest import read_manifest

    root = Path(dataset)
    mpath = root / "manifest.json" if root.is_dir() else root
    if not mpath.is_file():
        raise GeneratorError(f"{dataset} has no manifest.json (is it a sedgen dataset dir?)")
    doc = read_manifest(mpath)
    plans = [f.plan for f in doc.files]
    builtin = doc.sources.kind == "builtin"
    table = mpath.parent / SOURCES_CSV
    if sources is None and SOURCES_CSV in doc.tables and table.is_file():
        return doc, read_sources_csv(table)
    if sources is not None:
        provenance = read_provenance(sources)
        if provenance is None:
            raise GeneratorError(f"{sources} has no provenance.csv")
        return doc, sources_rows(plans, provenance, builtin=builtin)
    if not builtin:
        raise GeneratorError(
            f"{dataset} has no {SOURCES_CSV} (older sedal, or deleted) and was made from the "
            f"folder library {doc.sources.name!r}: pass --sources LIBRARY to read its "
            "provenance.csv")
    return doc, sources_rows(plans, None, builtin=True)


def licence_text(doc: Manifest, rows: list[dict[str, str]]) -> str:
    """What ``sedgen license`` prints: a summary by licence, then every clip."""
    lines = [f"dataset {doc.dataset_id} from {doc.sources.name}: "
             f"{len(rows)} source clips", "", "licence | clips | obligations",
             "--- | --- | ---"]
    lines += [f"{lic} | {n} | {ob}" for lic, n, ob in licence_summary(rows)]
    lines += ["", "clip | uses | licence | origin | citation", "--- | --- | --- | --- | ---"]
    lines += [f"{r['clip']} | {r['uses']} | {r['licence'] or 'unknown'} | {r['origin']} | "
              f"{r['citation']}" for r in rows]
    return "\n".join(lines) + "\n"
