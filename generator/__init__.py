"""Soundscape datasets: source libraries, dataset specs, Scaper rendering, manifests."""

from __future__ import annotations

from sedal.core.lazy import lazy_api

#: Public name -> the module that defines it.
_API = {
    "DatasetSpec": "sedal.generator.spec",
    "make_dataset": "sedal.generator.dataset",
    "read_manifest": "sedal.generator.manifest",
    "Manifest": "sedal.generator.manifest",
}
__all__ = sorted(_API)

__getattr__, __dir__ = lazy_api(__name__, _API)
