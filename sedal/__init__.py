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

from sedal.core.lazy import lazy_api

try:
    __version__ = version("sedal")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: The public API (see the README's "The Python API"): name -> the module defining it.
_API = {
    "DatasetSpec": "sedal.generator.spec",
    "make_dataset": "sedal.generator.dataset",
    "Detector": "sedal.sed.estimator",
    "DetectorSpec": "sedal.sed.detector",
    "SEGMENT_S": "sedal.sed.grid",
    "HOP_S": "sedal.sed.grid",
    "ensure_store": "sedal.sed.features",
    "load_dataset_manifest": "sedal.sed.features",
    "fit_on_files": "sedal.sed.evaluate",
    "score": "sedal.sed.evaluate",
    "RunConfig": "sedal.benchmark.al.loop",
    "run_al": "sedal.benchmark.al.loop",
    "load_run_data": "sedal.benchmark.al.loop",
}
__all__ = sorted(_API) + ["__version__"]

__getattr__, __dir__ = lazy_api(__name__, _API)
