"""The built-in (synthetic) source library: build it once into a cache dir.

Layout is Scaper's: ``foreground/<label>/<label>_NNN.wav`` and
``background/park/park_NN.wav``, 16-bit PCM mono at
:data:`sedal.generator.synth.SYNTH_SR`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from sedal.core.fsutil import build_dir_once, cache_dir

from .errors import GeneratorError
from .synth import BUILTIN_CLASSES, SYNTH_SR

#: The built-in libraries. ``field`` is the field-realistic one
#: (:mod:`sedal.generator.synth_field`); ``clean`` is the first, easily separable one
#: (:mod:`sedal.generator.synth`), kept for tests and comparison. ``version`` is bumped whenever
#: a library's synthesis changes, so that caches are rebuilt.
BUILTINS: dict[str, dict] = {
    "field": {"version": 6, "n_foreground": 240, "n_background": 24, "bg_seconds": 75.0},
    "clean": {"version": 1, "n_foreground": 40, "n_background": 10, "bg_seconds": 60.0},
}
#: The default built-in library: the field-realistic one. ``--builtin clean`` selects the
#: first one (tests, comparison; its grid results are in docs/results/builtin-clean/).
DEFAULT_BUILTIN = "field"
#: Version of the clean library (the name older manifests use).
BUILTIN_VERSION = BUILTINS["clean"]["version"]
#: Clips per foreground class / background ambiences / their length in s (clean library).
N_FOREGROUND = BUILTINS["clean"]["n_foreground"]
N_BACKGROUND = BUILTINS["clean"]["n_background"]
BACKGROUND_SECONDS = BUILTINS["clean"]["bg_seconds"]


def check_builtin(library: str) -> str:
    """``library`` if it names a built-in library, else a one-line error."""
    if library not in BUILTINS:
        raise GeneratorError(f"unknown built-in library {library!r}; choose "
                             + " or ".join(sorted(BUILTINS)))
    return library


def builtin_classes(library: str) -> dict:
    """label -> (kind, synthesizer) of a built-in library."""
    if check_builtin(library) == "field":
        from .synth_field import FIELD_CLASSES

        return FIELD_CLASSES
    return BUILTIN_CLASSES


def builtin_name(seed: int, library: str = "clean") -> str:
    """Name identifying a built-in library build: ``builtin-v1-seed0`` for the clean library
    (as older manifests record it), ``builtin-field-v1-seed0`` for the field library."""
    version = BUILTINS[check_builtin(library)]["version"]
    if library == "clean":
        return f"builtin-v{version}-seed{seed}"
    return f"builtin-{library}-v{version}-seed{seed}"


def write_builtin(out: str | os.PathLike, seed: int = 0, *, library: str = DEFAULT_BUILTIN,
                  progress: bool = False) -> Path:
    """Synthesize a built-in library into ``out`` (created atomically).

    Parameters
    ----------
    out : path
        Destination folder; must not exist or be empty.
    seed : int
        Seed of the synthesis; the same seed gives the same bytes.
    library : {'field', 'clean'}
        Which built-in library.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Path
        ``out``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GeneratorError(f"the built-in library's seed must be an integer >= 0, got {seed!r}")
    conf = BUILTINS[check_builtin(library)]
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GeneratorError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    jobs = []
    for label, (kind, fn) in sorted(builtin_classes(library).items()):
        n = conf["n_background"] if kind == "background" else conf["n_foreground"]
        for i in range(n):
            jobs.append((kind, label, fn, i))
    try:
        from sedal.core.progress import track

        prov = ["file,origin,site,license,processing"]
        for kind, label, fn, i in track(jobs, desc="synthesizing sources", unit="clip",
                                        enabled=progress):
            if kind == "background":
                audio = fn(seed, i, duration=conf["bg_seconds"])
            else:
                audio = fn(seed, i)
            rel = f"{kind}/{label}/{label}_{i:03d}.wav"
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            sf.write(dest, np.clip(audio, -1.0, 1.0), SYNTH_SR, subtype="PCM_16")
            prov.append(_provenance_row(library, kind, label, i, rel))
        if library != "clean":
            (tmp / "provenance.csv").write_text("\n".join(prov) + "\n")
        (tmp / "README.txt").write_text(
            f"sedal built-in source library '{library}': SYNTHETIC sounds (not recordings),\n"
            f"synthesized by sedal, version {conf['version']}, seed {seed}.\n"
        )
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _provenance_row(library: str, kind: str, label: str, i: int, rel: str) -> str:
    """Origin (individual or recording) and site of a synthesized clip, for grouped splits."""
    if kind == "background":
        from .synth_field import RECORDINGS_PER_SITE

        origin, site = f"{label} recording {i}", f"{label} site {i // RECORDINGS_PER_SITE}"
    else:
        from .synth_calls import N_INDIVIDUALS

        origin, site = f"{label} individual {i % N_INDIVIDUALS}", ""
    return (f"{rel},{origin},{site},CC0-1.0 (synthetic; sedal),"
            f"synthesized by sedal built-in library {library}")


def builtin_library(seed: int = 0, *, library: str = DEFAULT_BUILTIN,
                    progress: bool = False) -> Path:
    """Path of the cached built-in library for ``seed``, building it if needed.

    Safe under concurrency: any number of processes may ask for a library that is not built
    yet; one builds it (in a private folder, renamed into place under a file lock) and the
    others wait and use that result.
    """
    path = cache_dir() / "sources" / builtin_name(seed, library)
    if (path / "README.txt").exists():  # written last, inside the folder renamed into place
        return path
    return build_dir_once(path, lambda tmp: write_builtin(tmp, seed, library=library,
                                                          progress=progress),
                          lambda p: (p / "README.txt").is_file())
