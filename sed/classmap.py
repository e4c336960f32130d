"""Class names as BirdNET-Analyzer's tables spell them: common name, scientific name and
species code of each class (``--class-map``).

A class map is a UTF-8 CSV with a header row and the columns ``class`` (required),
``common_name``, ``scientific_name`` and ``species_code`` (each optional; an empty cell or a
missing column takes the default). Without a map, or for a class the map leaves out:

- the common name and the scientific name are the class name itself (sedal never invents a
  taxonomy);
- the species code is :func:`default_code` of the class name: its ASCII letters and digits,
  lower-cased (``"Meerkat call 2"`` -> ``meerkatcall2``); a name without any is coded by its
  code points in hex (``"蛙"`` -> ``u86d9``).

Two classes with one species code are refused (a code must name one class). A map may list
classes the detector does not know (one map can serve several projects); they are unused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .annotations import _lines, check_class_name
from .errors import SedError

#: The columns of a class-map file (``class`` required).
COLUMNS = ("class", "common_name", "scientific_name", "species_code")


@dataclass(frozen=True)
class ClassNames:
    """How one class is named in BirdNET-style tables."""

    common: str
    scientific: str
    code: str


def default_code(name: str) -> str:
    """The species code of a class the map leaves out (see the module docstring)."""
    ascii_alnum = "".join(c for c in name.lower() if c.isascii() and c.isalnum())
    if ascii_alnum:
        return ascii_alnum
    return "u" + "".join(f"{ord(c):x}" for c in name)


def read_class_map(path: str | Path) -> dict[str, dict[str, str]]:
    """The rows of a class-map file: class -> the names it gives (only non-empty cells).

    Raises
    ------
    SedError
        Naming the file and line: not UTF-8, no ``class`` column, an unknown column, a class
        listed twice, a bad name or code.
    """
    path = Path(path)
    try:
        lines = _lines(path)
    except OSError as exc:
        raise SedError(f"cannot read the class map {path} ({exc.strerror or exc})") from None
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows or not any(c.strip() for c in rows[0]):
        raise SedError(f"{path}: empty class map (expected a header: {', '.join(COLUMNS)})")
    head = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in head if h not in COLUMNS]
    if "class" not in head or unknown or len(set(head)) != len(head):
        raise SedError(f"{path}, line 1: the header must name the columns "
                       f"{', '.join(COLUMNS)} ('class' required, each once); got "
                       f"{', '.join(head)}")
    out: dict[str, dict[str, str]] = {}
    for n, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(head):
            raise SedError(f"{path}, line {n}: {len(cells)} cells, the header has {len(head)}")
        row = {h: c.strip() for h, c in zip(head, cells)}
        where = f"{path}, line {n}"
        cls = check_class_name(row.pop("class"), where)
        if cls in out:
            raise SedError(f"{where}: class {cls!r} is listed twice")
        for key, value in row.items():
            if value:
                check_class_name(value, f"{where}, {key}")
                if key == "species_code" and any(c.isspace() for c in value):
                    raise SedError(f"{where}: species code {value!r} holds a space")
        out[cls] = {k: v for k, v in row.items() if v}
    return out


def class_names(classes, mapping: dict[str, dict[str, str]] | None = None
                ) -> dict[str, ClassNames]:
    """The names of every class in ``classes`` (the map's where it has them, else the
    defaults of the module docstring).

    Raises
    ------
    SedError
        When two classes end up with one species code.
    """
    mapping = mapping or {}
    out = {}
    for c in classes:
        m = mapping.get(c, {})
        out[c] = ClassNames(common=m.get("common_name", c), scientific=m.get("scientific_name", c),
                            code=m.get("species_code", default_code(c)))
    by_code: dict[str, str] = {}
    for c, names in out.items():
        if names.code in by_code:
            raise SedError(f"classes {by_code[names.code]!r} and {c!r} both have the species "
                           f"code {names.code!r}; give them codes in a --class-map file")
        by_code[names.code] = c
    return out
