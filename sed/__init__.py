"""The detector: YAMNet features on the segment grid, the :class:`Detector` estimator
(classifier, median filter, events, scores), metrics and post-processing."""

from __future__ import annotations

from sedal.core.lazy import lazy_api

#: Public name -> the module that defines it.
_API = {
    "Detector": "sedal.sed.estimator",
    "DetectionScore": "sedal.sed.detections",
    "Event": "sedal.sed.detections",
    "DetectorSpec": "sedal.sed.detector",
    "PRESETS": "sedal.sed.detector",
    "DetectorSettings": "sedal.sed.evaluate",
    "SEGMENT_S": "sedal.sed.grid",
    "HOP_S": "sedal.sed.grid",
    "FeatureParams": "sedal.sed.features",
    "FeatureStore": "sedal.sed.features",
    "ensure_store": "sedal.sed.features",
    "load_dataset_manifest": "sedal.sed.features",
    "fit_on_files": "sedal.sed.evaluate",
    "score": "sedal.sed.evaluate",
    "supervised": "sedal.sed.evaluate",
    "entropy": "sedal.sed.uncertainty",
    "event_f1": "sedal.sed.event_metrics",
    "event_and_segment_f1": "sedal.sed.event_metrics",
    "total_iou": "sedal.sed.metrics",
    "load_yamnet": "sedal.sed.yamnet",
}
__all__ = sorted(_API)

__getattr__, __dir__ = lazy_api(__name__, _API)
