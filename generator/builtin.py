"""The built-in (synthetic) source library: build it once into a cache dir.

Layout is Scaper's: ``foreground/<label>/<label>_NNN.wav`` and
``background/park/park_NN.wav``, 16-bit PCM mono at
:data:`generator.synth.SYNTH_SR`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import GeneratorError
from .fsutil import cache_dir
from .synth import BUILTIN_CLASSES, SYNTH_SR

#: Bumped whenever the synthesis changes, so that caches are rebuilt.
BUILTIN_VERSION = 1
#: Clips per foreground class.
N_FOREGROUND = 40
#: Number of background ambiences.
N_BACKGROUND = 10
#: Length of each background ambience, in seconds.
BACKGROUND_SECONDS = 60.0


def builtin_name(seed: int) -> str:
    """Name identifying a built-in library build (version and seed)."""
    return f"builtin-v{BUILTIN_VERSION}-seed{seed}"


def write_builtin(out: str | os.PathLike, seed: int = 0, *, progress: bool = False) -> Path:
    """Synthesize the built-in library into ``out`` (created atomically).

    Parameters
    ----------
    out : path
        Destination folder; must not exist or be empty.
    seed : int
        Seed of the synthesis; the same seed gives the same bytes.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Path
        ``out``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GeneratorError(f"the built-in library's seed must be an integer >= 0, got {seed!r}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GeneratorError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    jobs = []
    for label, (kind, fn) in sorted(BUILTIN_CLASSES.items()):
        n = N_BACKGROUND if kind == "background" else N_FOREGROUND
        for i in range(n):
            jobs.append((kind, label, fn, i))
    try:
        from tqdm import tqdm

        for kind, label, fn, i in tqdm(jobs, desc="synthesizing sources", disable=not progress):
            if kind == "background":
                audio = fn(seed, i, duration=BACKGROUND_SECONDS)
            else:
                audio = fn(seed, i)
            dest = tmp / kind / label / f"{label}_{i:03d}.wav"
            dest.parent.mkdir(parents=True, exist_ok=True)
            sf.write(dest, np.clip(audio, -1.0, 1.0), SYNTH_SR, subtype="PCM_16")
        (tmp / "README.txt").write_text(
            "sedal built-in source library: SYNTHETIC sounds (not recordings),\n"
            f"synthesized by generator.synth, version {BUILTIN_VERSION}, seed {seed}.\n"
        )
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def builtin_library(seed: int = 0, *, progress: bool = False) -> Path:
    """Path of the cached built-in library for ``seed``, building it if needed."""
    path = cache_dir() / "sources" / builtin_name(seed)
    if not (path / "README.txt").exists():
        if path.exists():
            shutil.rmtree(path)
        write_builtin(path, seed, progress=progress)
    return path
