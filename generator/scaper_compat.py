"""Import Scaper safely on numpy 2.

Scaper 1.6.5 uses ``np.Inf`` (removed in numpy 2.0) in ``_instantiate_event``,
which every ``generate()`` goes through. Rather than pin numpy < 2 (which
TensorFlow >= 2.18 does not need), :func:`import_scaper` restores the alias
``np.Inf = np.inf`` before importing Scaper; it changes no numpy behaviour
(``np.Inf`` was always exactly ``np.inf``). Every Scaper code path sedal uses
(``Scaper.generate`` and ``generate_from_jams``) is exercised by the tests.
"""

from __future__ import annotations

import warnings

import numpy as np


def import_scaper():
    """Return the ``scaper`` module, with the numpy-2 shim applied."""
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # noqa: NPY201 - the shim itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import scaper
    return scaper
