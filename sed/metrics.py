"""Segment metrics: total IoU (the study's), per-class and macro IoU (event-based and
segment-based F1 are in :mod:`sedal.sed.event_metrics`).

All IoUs are computed on the concatenated test timeline at segment
resolution, from per-segment class indices (0 = background).
"""

from __future__ import annotations

import numpy as np


def validate(reference: np.ndarray, estimated: np.ndarray, n_classes: int) -> None:
    """Check that two label sequences are comparable.

    Raises
    ------
    ValueError
        Different lengths, non-integer labels, or labels outside ``[0, n_classes)``.
    """
    if reference.shape != estimated.shape or reference.ndim != 1:
        raise ValueError(f"label arrays differ in shape: {reference.shape} vs {estimated.shape}")
    for name, a in (("reference", reference), ("estimated", estimated)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0
                       or a.max() >= n_classes):
            raise ValueError(f"{name} labels must be integers in [0, {n_classes})")


def intersections_unions(reference, estimated, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class segment counts ``|pred ∩ ref|`` and ``|pred ∪ ref|`` (index 0 = background)."""
    reference = np.asarray(reference)
    estimated = np.asarray(estimated)
    validate(reference, estimated, n_classes)
    both = np.bincount(reference[reference == estimated], minlength=n_classes)
    ref_n = np.bincount(reference, minlength=n_classes)
    est_n = np.bincount(estimated, minlength=n_classes)
    return both, ref_n + est_n - both


def total_iou(reference, estimated, n_classes: int) -> float | None:
    """The study's total IoU.

    .. math:: \\mathrm{IoU}_{total} = \\frac{\\sum_{c \\ne bg} |P_c \\cap R_c|}
              {\\sum_{c \\ne bg} |P_c \\cup R_c|}

    where :math:`P_c` and :math:`R_c` are the sets of segments predicted and
    annotated as class ``c`` over the concatenated test set. If no segment is
    annotated or predicted as an event (empty union), it is 0/0: ``None`` (undefined),
    as everywhere in sedal, never a perfect score.
    """
    inter, union = intersections_unions(reference, estimated, n_classes)
    u = union[1:].sum()
    return None if u == 0 else float(inter[1:].sum() / u)


def per_class_iou(reference, estimated, classes: list[str]) -> dict[str, float | None]:
    """``|P_c ∩ R_c| / |P_c ∪ R_c|`` for each event class (``None`` where the union is empty)."""
    inter, union = intersections_unions(reference, estimated, len(classes))
    return {c: (float(inter[i] / union[i]) if union[i] else None)
            for i, c in enumerate(classes) if i > 0}


def macro_iou(reference, estimated, classes: list[str]) -> float | None:
    """Mean of the per-class IoUs over event classes with a non-empty union (``None``,
    undefined, if none)."""
    vals = [v for v in per_class_iou(reference, estimated, classes).values() if v is not None]
    return float(np.mean(vals)) if vals else None


def file_intersections_unions(reference, estimated, offsets, n_classes: int
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Per file and class, the segment counts ``|pred ∩ ref|`` and ``|pred ∪ ref|``
    ([n_files, n_classes] each, int64; files by ``offsets`` [n_files + 1]). Summed over
    files they are :func:`intersections_unions`, so test files can be resampled: a resample's
    total IoU is the ratio of its sums over the event classes."""
    reference = np.asarray(reference)
    estimated = np.asarray(estimated)
    validate(reference, estimated, n_classes)
    offsets = np.asarray(offsets, np.int64)
    n_files = len(offsets) - 1
    fid = np.repeat(np.arange(n_files), np.diff(offsets))
    same = reference == estimated
    size = n_files * n_classes
    both = np.bincount(fid[same] * n_classes + reference[same], minlength=size)
    ref_n = np.bincount(fid * n_classes + reference, minlength=size)
    est_n = np.bincount(fid * n_classes + estimated, minlength=size)
    both, ref_n, est_n = (a.reshape(n_files, n_classes) for a in (both, ref_n, est_n))
    return both, ref_n + est_n - both
