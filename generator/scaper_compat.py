"""Import Scaper safely on numpy 2.

Scaper 1.6.5 uses ``np.Inf`` (removed in numpy 2.0) in ``_instantiate_event``,
which every ``generate()`` goes through. Rather than pin numpy < 2 (which
TensorFlow >= 2.18 does not need), :func:`import_scaper` restores the alias
``np.Inf = np.inf`` before importing Scaper; it changes no numpy behaviour
(``np.Inf`` was always exactly ``np.inf``). Every Scaper code path sedal uses
(``Scaper.generate`` and ``generate_from_jams``) is exercised by the tests.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np


def import_scaper():
    """Return the ``scaper`` module, with the numpy-2 shim and the loudness memo applied."""
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # noqa: NPY201 - the shim itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import scaper
        import scaper.core
    if not getattr(scaper.core.get_integrated_lufs, "_sedal_memo", False):
        scaper.core.get_integrated_lufs = _memoized_lufs(scaper.core.get_integrated_lufs)
    return scaper


def _memoized_lufs(fn, maxsize: int = 4096):
    """Wrap Scaper's ``get_integrated_lufs`` with an exact-input memo.

    A foreground event cut from the same clip at the same times is the same
    array in every soundscape that uses it, so its loudness (pyloudnorm's
    K-weighted gated loudness, the costliest step of a mix) is computed once
    per process. The key is a digest of the array's bytes, shape, dtype and
    the sample rate, so the value returned is exactly what ``fn`` returns.
    """
    memo: dict[tuple, float] = {}

    def wrapper(audio_array, samplerate, *args, **kwargs):
        arr = np.ascontiguousarray(audio_array)
        key = (hashlib.blake2b(arr.tobytes(), digest_size=16).digest(), arr.shape,
               arr.dtype.str, samplerate, args, tuple(sorted(kwargs.items())))
        if key not in memo:
            if len(memo) >= maxsize:
                memo.clear()
            memo[key] = fn(audio_array, samplerate, *args, **kwargs)
        return memo[key]

    wrapper._sedal_memo = True
    return wrapper
