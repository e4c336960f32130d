"""Detector specs: which features the classifier sees, and the classifier's settings.

A :class:`DetectorSpec` is the frozen, hashable, persisted description of a detector (what
results, run keys and saved models record); :class:`sedal.sed.estimator.Detector` is the
estimator built from it (``Detector.from_spec``). A spec is a small, documented config: the
YAMNet embedding stores it reads (``patch``, ``context`` or both, concatenated), the
temporal context added to every segment (neighbouring segments stacked, or pooled over
centred windows), whether YAMNet's own 521 AudioSet class scores are appended, and the
:class:`~sedal.sed.evaluate.DetectorSettings`
(C, class weights, median-filter kernel). Two presets are named:

``paper``
    The study's detector: patch embeddings, standardised, multinomial logistic regression
    with C = 1, median filter 3. The default of the benchmark (``sedbench run``).
``field``
    The best detector measured on real recordings (``sedbench detectors``; the rule and the
    table are in ``docs/results/detectors/``). The default of ``query`` and ``detect``.

Features are built per file from whole files (a segment's neighbours are in its own file),
so they are the same whichever subset of files a model is later fitted on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .errors import SedError
from .evaluate import PAPER, DetectorSettings
from .features import FeatureParams, FeatureStore
from .temporal import pool_neighbours, stack_neighbours

MODES = ("patch", "context")


@dataclass(frozen=True)
class DetectorSpec:
    """A detector preset (features + classifier settings).

    Parameters
    ----------
    name : str
        The preset's name (recorded in results and saved models).
    modes : tuple of str
        YAMNet embedding stores, concatenated in this order (``patch``: the 0.12 s segment
        alone; ``context``: the 0.96 s window centred on it).
    stack : int
        Neighbouring segments stacked on each side (0.06 s apart); 0 = none.
    pool : tuple of int
        Odd widths (in segments) of centred mean-pooling windows appended; () = none.
    scores : bool
        Append YAMNet's 521 AudioSet class scores (its sigmoid head applied to the first
        mode's embedding).
    settings : DetectorSettings
        C, class weights, tolerance and median-filter kernel.
    """

    name: str = "paper"
    modes: tuple[str, ...] = ("patch",)
    stack: int = 0
    pool: tuple[int, ...] = ()
    scores: bool = False
    settings: DetectorSettings = field(default=PAPER)

    def __post_init__(self):
        if not self.modes or any(m not in MODES for m in self.modes) or len(
                set(self.modes)) != len(self.modes):
            raise SedError(f"detector modes must be distinct values of {MODES}, got "
                           f"{self.modes!r}")
        if self.stack < 0 or any(w < 3 or w % 2 == 0 for w in self.pool):
            raise SedError("detector stack must be >= 0 and pool widths odd and >= 3")

    def feature_params(self, base: FeatureParams | None = None) -> list[FeatureParams]:
        """The embedding stores this detector reads (``base`` gives segment, hop, dtype)."""
        base = base or FeatureParams()
        if base.backbone != "yamnet":  # one store of that backbone (its own window mode)
            if self.modes != ("patch",) or self.scores:
                raise SedError(f"the {self.name} detector reads YAMNet's "
                               f"{'+'.join(self.modes)} embeddings"
                               f"{' and class scores' if self.scores else ''}; with --backbone "
                               f"{base.backbone} use a detector on one embedding (paper)")
            return [base]
        return [dataclasses.replace(base, mode=m) for m in self.modes]

    def recipe(self) -> str:
        """The feature recipe as a short string; ``""`` for the paper's (patch alone)."""
        parts = ["+".join(self.modes)] if self.modes != ("patch",) else []
        if self.stack:
            parts.append(f"stack{self.stack}")
        if self.pool:
            parts.append("pool" + ",".join(str(w) for w in self.pool))
        if self.scores:
            parts.append("scores")
        return "|".join(parts)

    @classmethod
    def from_recipe(cls, recipe: str, settings: DetectorSettings = PAPER,
                    name: str = "custom") -> DetectorSpec:
        """Inverse of :meth:`recipe` (validated)."""
        kw: dict = {}
        try:
            for part in filter(None, str(recipe).split("|")):
                if part.startswith("stack"):
                    kw["stack"] = int(part[5:])
                elif part.startswith("pool"):
                    kw["pool"] = tuple(int(w) for w in part[4:].split(","))
                elif part == "scores":
                    kw["scores"] = True
                else:
                    kw["modes"] = tuple(part.split("+"))
        except ValueError:
            raise SedError(f"bad detector feature recipe {recipe!r}") from None
        return cls(name=name, settings=settings, **kw)

    def to_dict(self) -> dict:
        """Everything that defines the detector (for results and saved models)."""
        return {"name": self.name, "recipe": self.recipe(), "modes": list(self.modes),
                "stack": self.stack, "pool": list(self.pool), "scores": self.scores,
                "settings": self.settings.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> DetectorSpec:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(name=str(d["name"]), modes=tuple(d["modes"]), stack=int(d["stack"]),
                       pool=tuple(int(w) for w in d["pool"]), scores=bool(d["scores"]),
                       settings=DetectorSettings(**d["settings"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SedError(f"bad detector description ({exc})") from None

    def with_settings(self, **changes) -> DetectorSpec:
        """A copy with some :class:`DetectorSettings` fields changed (e.g. ``C``)."""
        try:
            return dataclasses.replace(self, settings=dataclasses.replace(self.settings,
                                                                          **changes))
        except ValueError as exc:
            raise SedError(str(exc)) from None


def sigmoid_scores(E: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                   rows: int = 16384) -> np.ndarray:
    """YAMNet's AudioSet class scores ``sigmoid(E @ kernel + bias)`` [n, 521], float32."""
    out = np.empty((len(E), kernel.shape[1]), dtype=np.float32)
    k, b = kernel.astype(np.float32), bias.astype(np.float32)
    for i in range(0, len(E), rows):
        z = np.asarray(E[i:i + rows], dtype=np.float32) @ k + b
        out[i:i + rows] = 1.0 / (1.0 + np.exp(-z))
    return out


def build_features(embeddings: list[np.ndarray], offsets: np.ndarray, detector: DetectorSpec,
                   head: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The detector's feature matrix from its embedding arrays (one per mode).

    Parameters
    ----------
    embeddings : list of ndarray [n, 1024]
        One per ``detector.modes``, rows aligned (same segments).
    offsets : ndarray [n_files + 1]
        Row offsets of the files (for the temporal context).
    detector : DetectorSpec
    head : (kernel [1024, 521], bias [521]), optional
        YAMNet's class head; needed when ``detector.scores``.

    Returns
    -------
    ndarray [n, D], float32
    """
    if len(embeddings) != len(detector.modes):
        raise SedError("one embedding array per detector mode is needed")
    blocks = [np.asarray(e, dtype=np.float32) for e in embeddings]
    if detector.scores:
        if head is None:
            raise SedError("this detector needs YAMNet's class head (its weights)")
        blocks.append(sigmoid_scores(blocks[0], *head))
    X = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
    if detector.pool:
        X = pool_neighbours(X, offsets, detector.pool)
    if detector.stack:
        X = stack_neighbours(X, offsets, detector.stack)
    return X


def yamnet_head(yamnet_path=None, expect_sha: str | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """YAMNet's class head (kernel, bias) from the resolved weights; refuses weights other
    than ``expect_sha`` (those that made the embeddings)."""
    from .weights import resolve_weights

    w = resolve_weights(yamnet_path)
    if expect_sha is not None and w.sha256 != expect_sha:
        raise SedError("the YAMNet weights found are not the ones that made these embeddings "
                       f"({w.sha256[:12]} vs {expect_sha[:12]}); pass --yamnet")
    return w.arrays["logits.kernel"], w.arrays["logits.bias"]


def detector_store(dataset, detector: DetectorSpec, base: FeatureParams | None = None, *,
                   yamnet_path=None, progress: bool = False, rebuild: str = "auto"
                   ) -> FeatureStore:
    """The dataset's feature store as this detector sees it.

    The embedding stores of every mode are built (or reused); the returned store is the
    first mode's with ``embeddings`` replaced by the detector's in-memory feature matrix
    (so :mod:`sedal.sed.evaluate` and the benchmark use it unchanged).
    """
    from .features import ensure_store

    stores = [ensure_store(dataset, p, yamnet_path=yamnet_path, progress=progress,
                           rebuild=rebuild) for p in detector.feature_params(base)]
    return features_of(stores, detector, yamnet_path=yamnet_path)


def features_of(stores: list[FeatureStore], detector: DetectorSpec, *, yamnet_path=None
                ) -> FeatureStore:
    """:func:`detector_store` for stores already opened (one per mode, aligned)."""
    first = stores[0]
    for s in stores[1:]:
        if not np.array_equal(s.offsets, first.offsets):
            raise SedError(f"feature stores {first.path} and {s.path} do not have the same "
                           "segments")
    if detector.recipe() == "":
        return first
    head = None
    if detector.scores:
        head = yamnet_head(yamnet_path, first.meta.get("weights", {}).get("weights_sha256"))
    X = build_features([s.embeddings for s in stores], first.offsets, detector, head)
    return dataclasses.replace(first, embeddings=X)


#: The study's detector.
PAPER_DETECTOR = DetectorSpec(name="paper")

#: Named presets (``--detector``).
PRESETS: dict[str, DetectorSpec] = {"paper": PAPER_DETECTOR}
#: The best detector measured on real recordings (``sedbench detectors``, see
#: docs/results/detectors/): patch and context embeddings concatenated (2048-d), with the
#: settings cross-validation chose most often there (C = 0.01, median filter 9 segments =
#: 0.6 s, background weight 0.25); fixed, not re-tuned per collection.
FIELD_DETECTOR = DetectorSpec(name="field", modes=("patch", "context"),
                          settings=DetectorSettings(C=0.01, kernel=9, bg_prior=0.25))
PRESETS["field"] = FIELD_DETECTOR
