"""Import Scaper safely on numpy 2, with machine-independent arithmetic.

Scaper 1.6.5 uses ``np.Inf`` (removed in numpy 2.0) in ``_instantiate_event``,
which every ``generate()`` goes through. Rather than pin numpy < 2 (which
TensorFlow >= 2.18 does not need), :func:`import_scaper` restores the alias
``np.Inf = np.inf`` before importing Scaper; it changes no numpy behaviour
(``np.Inf`` was always exactly ``np.inf``). Every Scaper code path sedal uses
(``Scaper.generate`` and ``generate_from_jams``) is exercised by the tests.

Scaper's mix also calls numpy's transcendental functions (``np.exp`` and ``np.log`` for the
gains, ``np.sin`` for the fade windows, ``np.log10`` for the peak-normalisation dB) and
pyloudnorm for loudness; numpy picks CPU-specific kernels for these, so their last bits
differ between machines. :func:`import_scaper` therefore gives ``scaper.core`` a numpy
namespace whose ``exp``, ``log``, ``log10`` and ``sin`` are the correctly rounded ones of
:mod:`sedal.core.exactmath` (everything else is numpy itself), and replaces its loudness
function with :func:`sedal.generator.loudness.integrated_lufs` (same algorithm, exactly
rounded sums). The remaining steps of a mix (sample reads, SoX format conversion, ``*``,
``+``, ``max``) are exactly rounded IEEE operations in a fixed order, so a soundscape's
float samples, and so its bytes, are the same on any machine.
"""

from __future__ import annotations

import hashlib
import types
import warnings

import numpy as np

from sedal.core import exactmath


def import_scaper(exact: bool = True):
    """Return the ``scaper`` module, with the numpy-2 shim applied.

    Parameters
    ----------
    exact : bool
        True (manifest format 2 and later): Scaper mixes with machine-independent
        arithmetic (see the module docstring). False (format 1 manifests): Scaper's own
        numpy and pyloudnorm arithmetic, whose last bits depend on the CPU. Loudness is
        memoised either way.
    """
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # noqa: NPY201 - the shim itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import scaper
        import scaper.core
    core = scaper.core
    if not hasattr(core, "_sedal_arithmetic"):
        from .loudness import integrated_lufs

        core._sedal_arithmetic = {
            True: (exact_numpy(), _memoized_lufs(integrated_lufs)),
            False: (core.np, _memoized_lufs(core.get_integrated_lufs)),
        }
    core.np, core.get_integrated_lufs = core._sedal_arithmetic[bool(exact)]
    return scaper


def exact_numpy() -> types.ModuleType:
    """A stand-in for the ``numpy`` module whose ``exp``, ``log``, ``log10`` and ``sin`` are
    machine-independent (:mod:`sedal.core.exactmath`, elementwise); all else is numpy's."""
    mod = types.ModuleType("numpy_sedal_exact")
    mod.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    for name in ("exp", "log", "log10", "sin"):
        fn = getattr(exactmath, name)
        mod.__dict__[name] = (lambda f: lambda x: exactmath.elementwise(f, x))(fn)
    mod._sedal_exact = True
    return mod


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
