"""sedal: reproducible bioacoustic soundscape datasets and an active-learning benchmark for
sound event detection.

One distribution, one import namespace over the project's three folders:

- :mod:`sedal.generator` (``generator/``): source libraries, dataset specs, Scaper rendering,
  manifests; the ``sedgen`` command;
- :mod:`sedal.sed` (``sed/``): YAMNet features, labels, the segment classifier, metrics,
  post-processing;
- :mod:`sedal.benchmark` (``benchmark/``): aggregation strategies, the active-learning loop,
  the runner, statistics, reports, ``query`` / ``detect``; the ``sedbench`` command;

and :mod:`sedal.core`, what all three share: errors, seeded RNG derivation, atomic writes,
path confinement and the command-line plumbing.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sedal")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
