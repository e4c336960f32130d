"""One pool-based active-learning run: (dataset, strategy, schedule, seed) -> rows.

Each iteration fits the segment classifier on the labelled training files,
scores the test split, then scores the unlabelled pool with the strategy and
queries the next batch of whole files; the simulated annotator reveals their
ground truth (the segment labels already in the feature store).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

import numpy as np

from sedal.benchmark.al.schedule import (  # noqa: F401 (re-exported)
    DEFAULT_SCHEDULE,
    cut_schedule,
    schedule_counts,
    validate_schedule,
)
from sedal.benchmark.al.strategies import check_strategy, uses_k  # noqa: F401 (re-export)
from sedal.benchmark.errors import BenchmarkError
from sedal.core.fsutil import canonical_json, sha256_bytes
from sedal.core.rng import derive_rng
from sedal.generator.manifest import Manifest
from sedal.sed.detector import PAPER_DETECTOR, DetectorSpec
from sedal.sed.errors import SedError
from sedal.sed.estimator import Detector
from sedal.sed.evaluate import DetectorSettings
from sedal.sed.features import FeatureParams
from sedal.sed.rows import file_rows


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one AL run (and its key in the results store).

    ``features`` names the feature store the run reads (see
    :meth:`sedal.sed.features.FeatureParams.name`) and ``detector`` is the one detector spec
    (:class:`sedal.sed.detector.DetectorSpec`: features recipe, classifier and median-filter
    settings; every fit runs to its ``tol``). The run's key holds the spec's settings and
    :attr:`recipe` flat, as they were before the spec existed, so keys did not change.
    """

    dataset: str  # path of the dataset dir
    manifest_sha256: str
    strategy: str
    seed: int
    k: int = 10
    diversify: str = "none"
    factor: int = 3
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    warm_start: bool = True
    features: str = "yamnet-patch-0.12-0.06-float32"
    detector: DetectorSpec = PAPER_DETECTOR
    seed_set: str = "random"  # how the seed set is drawn (sedal.benchmark.al.pool)
    oracle: str = "perfect"  # the simulated annotator (sedal.benchmark.al.oracle)
    #: PSDS 1 and 2 and segment F1 at :data:`~sedal.benchmark.al.metrics.PSDS_BUDGETS`
    #: (about a second each on 500 test files); False: IoU and event F1 only
    reviewer_metrics: bool = True

    def __post_init__(self):
        from sedal.benchmark.al.pool import SEED_SETS

        check_strategy(self.strategy, self.k, self.diversify, extra=True)
        from sedal.benchmark.al.oracle import ORACLES

        if self.oracle not in ORACLES:
            raise BenchmarkError(f"unknown oracle {self.oracle!r}; choose from "
                                 + ", ".join(ORACLES))
        if self.seed_set not in SEED_SETS:
            raise BenchmarkError(f"unknown seed set {self.seed_set!r}; choose from "
                                 + ", ".join(SEED_SETS))
        if self.factor < 1:
            raise BenchmarkError("the diversification factor must be >= 1")
        validate_schedule(self.schedule)
        if not isinstance(self.detector, DetectorSpec):
            raise BenchmarkError("RunConfig.detector must be a DetectorSpec")
        try:
            FeatureParams.from_name(self.features)
        except (ValueError, SedError) as exc:
            raise BenchmarkError(str(exc)) from None

    @property
    def settings(self) -> DetectorSettings:
        """The detector's classifier and median-filter settings."""
        return self.detector.settings

    @property
    def recipe(self) -> str:
        """What the detector builds from the feature store (``""``: the store's embeddings
        as they are, e.g. one mode without temporal context)."""
        spec = self.detector
        plain = len(spec.modes) == 1 and spec.recipe() in ("", spec.modes[0])
        return "" if plain else spec.recipe()

    def key_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.pop("dataset")  # the data are identified by their manifest hash, not their path
        s = d.pop("detector").settings
        d.update({"C": s.C, "tol": s.tol, "max_iter": s.max_iter, "kernel": s.kernel})
        # options at their default leave keys unchanged
        if s.class_weight is not None:
            d["class_weight"] = s.class_weight
        if self.recipe:
            d["recipe"] = self.recipe
        if s.bg_prior != 1.0:
            d["bg_prior"] = s.bg_prior
        if not uses_k(self.strategy):
            d.pop("k")
        if self.diversify == "none":
            d.pop("factor")
        if self.seed_set == "random":
            d.pop("seed_set")
        if self.oracle == "perfect":
            d.pop("oracle")
        if self.reviewer_metrics:
            d.pop("reviewer_metrics")
        d["schedule"] = list(self.schedule)
        return d

    @property
    def key(self) -> str:
        """Stable id of the run: hash of everything but the dataset's path."""
        return sha256_bytes(canonical_json(self.key_dict()).encode())[:20]

    @property
    def settings_key(self) -> str:
        """What makes runs comparable on one dataset: every setting except the strategy, its
        parameters and the seed (warm starts, features, detector; not the schedule nor
        whether PSDS and segment F1 are computed)."""
        d = self.key_dict()
        for name in ("strategy", "seed", "k", "diversify", "factor", "manifest_sha256",
                     "schedule", "reviewer_metrics"):
            d.pop(name, None)
        return sha256_bytes(canonical_json(d).encode())[:8]

    @property
    def reference_key(self) -> str:
        """Key of the fully supervised reference this run is compared with: the dataset,
        the features and the detector (the same code and settings as the run's fits)."""
        return sha256_bytes(canonical_json({
            "manifest_sha256": self.manifest_sha256, "features": self.features,
            "detector": self.settings.to_dict(),
            **({"recipe": self.recipe} if self.recipe else {})}).encode())[:20]

    @property
    def query_key(self) -> str:
        """Key of the run's random choices: the dataset, strategy, its parameters and the
        seed only, so that neither solver settings nor the schedule (nor cutting it with
        ``--max-fraction``) change which files are drawn."""
        return sha256_bytes(canonical_json({
            "manifest_sha256": self.manifest_sha256, "strategy": self.strategy,
            "k": self.k, "diversify": self.diversify, "factor": self.factor,
            "seed": self.seed, **({"seed_set": self.seed_set} if self.seed_set != "random"
                                  else {})}).encode())[:20]

    @property
    def label(self) -> str:
        """Human name of the strategy and its parameters, e.g. ``top_k(K=10)+farthest``."""
        s = f"{self.strategy}(K={self.k})" if uses_k(self.strategy) else self.strategy
        s = s if self.diversify == "none" else f"{s}+{self.diversify}"
        return s if self.oracle == "perfect" else f"{s}@{self.oracle}"


@dataclass
class RunData:
    """What a run needs from a feature store, loaded once (compact, in memory)."""

    X: np.ndarray  # [n_segments, n_active] float32, active embedding columns only
    labels: np.ndarray  # [n_segments] int64
    offsets: np.ndarray
    splits: np.ndarray
    has_events: np.ndarray  # per file
    durations: np.ndarray  # per file, seconds
    classes: list[str]
    dataset_id: str
    dataset_name: str
    file_means: np.ndarray | None = field(default=None)
    spec: dict = field(default_factory=dict)  # the dataset's DatasetSpec, as a dict
    library: str = ""  # name of its source library
    file_ids: list[str] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)  # per file: ((onset_s, offset_s, label),)
    sources: list[tuple] = field(default_factory=list)  # per file: its foreground clip paths
    event_snrs: list[tuple] = field(default_factory=list)  # per file: each event's SNR, dB

    def describe(self, manifest_sha256: str) -> dict:
        """What a report needs to find and name this dataset (folder, content id, spec)."""
        return {"name": self.dataset_name, "manifest_sha256": manifest_sha256,
                "dataset_id": self.dataset_id, "spec": self.spec, "library": self.library}

    def rows(self, files: np.ndarray) -> np.ndarray:
        return file_rows(self.offsets, files)

    def local_offsets(self, files: np.ndarray) -> np.ndarray:
        lengths = self.offsets[files + 1] - self.offsets[files]
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def load_run_data(store, doc: Manifest, dataset_name: str) -> RunData:
    """Compact a feature store for AL: keep only embedding columns that are ever non-zero.

    Columns that are 0 in every segment of the dataset are 0 in every training
    subset too; dropping them leaves every fitted model unchanged (see
    :class:`sedal.sed.model.SegmentClassifier`).
    """
    E = store.embeddings
    active = np.zeros(E.shape[1], dtype=bool)
    step = 65536
    for i in range(0, E.shape[0], step):
        active |= np.any(np.asarray(E[i:i + step]) != 0, axis=0)
    cols = np.flatnonzero(active)
    X = np.empty((E.shape[0], len(cols)), dtype=np.float32)
    for i in range(0, E.shape[0], step):
        X[i:i + step] = np.asarray(E[i:i + step], dtype=np.float32)[:, cols]
    files = doc.files
    return RunData(
        X=X, labels=store.labels.astype(np.int64), offsets=store.offsets.astype(np.int64),
        splits=store.splits, has_events=np.array([bool(f.events) for f in files]),
        durations=np.full(len(files), float(doc.spec.duration)),
        classes=store.classes, dataset_id=doc.dataset_id, dataset_name=dataset_name,
        spec=doc.spec.to_dict(), library=doc.sources.name, file_ids=[f.id for f in files],
        events=[tuple((round(e.event_time, 6), round(e.event_time + e.event_duration, 6),
                       e.label) for e in f.events) for f in files],
        sources=[tuple(e.source for e in f.events) for f in files],
        event_snrs=[tuple(float(e.snr) for e in f.events) for f in files])


def open_run_data(path, features: str | None = None, recipe: str = "",
                  name: str | None = None) -> tuple[RunData, str]:
    """Open a generated dataset's feature store (never rebuilt) as AL run data.

    Parameters
    ----------
    path : str or Path
        The dataset folder.
    features : str, optional
        Feature parameters' name (:meth:`FeatureParams.name`); default the default store.
    recipe : str
        A detector recipe (:meth:`DetectorSpec.from_recipe`); ``""`` for the base store.
    name : str, optional
        The run data's dataset name (default: the folder's name).

    Returns
    -------
    (RunData, str)
        The run data and the manifest's sha256.
    """
    from pathlib import Path

    from sedal.sed.detector import detector_store
    from sedal.sed.features import ensure_store, load_dataset_manifest

    base = FeatureParams() if features is None else FeatureParams.from_name(features)
    store = (detector_store(path, DetectorSpec.from_recipe(recipe), base, rebuild="never")
             if recipe else ensure_store(path, base, rebuild="never"))
    doc, sha = load_dataset_manifest(path)
    return load_run_data(store, doc, Path(path).name if name is None else name), sha


def evaluate(data: RunData, detector: Detector, test: np.ndarray, *,
             costly: bool = True, X_test: np.ndarray | None = None,
             test_iu: list | None = None) -> dict:
    """Every metric of a fitted detector on the test files
    (:func:`sedal.benchmark.al.metrics.evaluate_test`); ``costly``: also PSDS and segment
    F1; ``X_test``: the test files' rows of ``data.X``, if the caller holds them already;
    ``test_iu``: a list that gets the per-test-file intersections and unions."""
    from sedal.benchmark.al.metrics import evaluate_test

    rows = data.rows(test)
    ids = [data.file_ids[i] for i in test]
    ref = {data.file_ids[i]: list(data.events[i]) for i in test}
    X = data.X[rows] if X_test is None else X_test
    return evaluate_test(detector, X, data.labels[rows], data.local_offsets(test),
                         ids, ref, float(data.durations[test[0]]), costly=costly,
                         test_iu=test_iu)


def test_iu_field(data: RunData, arrays: list[np.ndarray]) -> dict:
    """The record field of per-iteration test-file counts
    (:func:`sedal.benchmark.al.metrics.encode_test_iu`, with the test files' ids)."""
    from sedal.benchmark.al.metrics import encode_test_iu

    test = np.flatnonzero(data.splits == "test")
    return encode_test_iu(arrays, [data.file_ids[i] for i in test])


def new_detector(data: RunData, cfg: RunConfig) -> Detector:
    """The run's detector, unfitted (warm-started refits when ``cfg.warm_start``)."""
    return Detector.from_spec(cfg.detector, classes=list(data.classes),
                              warm_start=cfg.warm_start)


def fit(data: RunData, files: np.ndarray, detector: Detector,
        labels: np.ndarray | None = None) -> Detector:
    """Fit ``detector`` on the segments of ``files`` (in file order), with their true
    labels or ``labels`` (all segments', e.g. a noisy oracle's)."""
    rows = data.rows(np.sort(files))
    return detector.fit(data.X[rows], (data.labels if labels is None else labels)[rows])


def run_al(data: RunData, cfg: RunConfig, *, progress=None, trace: list | None = None,
           test_iu: list | None = None) -> list[dict]:
    """Run one AL configuration; returns one row per iteration (``trace``: a list that gets
    each iteration's labelled file indices, for replaying the fits; ``test_iu``: a list that
    gets each iteration's per-test-file intersections and unions, [n_files, n_classes, 2]).

    Randomness: the seed set depends only on (seed, dataset) (and the seed-set rule), so
    every strategy starts from the same labelled files for a given seed; query tie-breaks
    and random choices come from (seed, query key). After each fit the model predicts the
    whole training split once: the next query scores the unlabelled part of it, and the
    stopping signal compares its decisions with the previous model's.
    """
    from threadpoolctl import threadpool_limits

    from sedal.benchmark.al import pool as P
    from sedal.benchmark.al.metrics import costly_iterations
    from sedal.benchmark.al.oracle import ORACLES, noisy_labels
    from sedal.benchmark.al.querying import query_batch

    train = np.flatnonzero(data.splits == "train")
    test = np.flatnonzero(data.splits == "test")
    counts = schedule_counts(cfg.schedule, len(train))
    costly = (costly_iterations([c / len(train) for c in counts]) if cfg.reviewer_metrics
              else set())
    seed_rng = derive_rng(cfg.seed, "seed-set", cfg.manifest_sha256, *(
        [cfg.seed_set] if cfg.seed_set != "random" else []))
    query_rng = derive_rng(cfg.seed, "query", cfg.query_key)
    event_classes = list(data.classes[1:])
    from sedal.benchmark.al.querying import file_mean_embeddings

    with threadpool_limits(limits=1):  # TypiClust's distances: the same bytes on any BLAS
        labelled = P.draw_seed_set(train, counts[0], seed_rng, cfg.seed_set,
                                   [{e[2] for e in evs} for evs in data.events], event_classes,
                                   file_features=lambda: file_mean_embeddings(data))
    start = P.cold_start(data.events, labelled, event_classes)
    train_rows, train_off = data.rows(train), data.local_offsets(train)
    X_train, X_test = data.X[train_rows], data.X[data.rows(test)]  # gathered once per run
    rows, probs_train, previous = [], None, None
    oracle = ORACLES[cfg.oracle]
    labels = None if oracle is None else noisy_labels(
        data, train, oracle, derive_rng(cfg.seed, "oracle", cfg.manifest_sha256, cfg.oracle))
    det = new_detector(data, cfg)
    with threadpool_limits(limits=1):  # same bytes whatever the number of workers
        for it, target in enumerate(counts):
            if it > 0:
                labelled = query_batch(data, cfg, train, train_off, labelled, target,
                                       probs_train, query_rng, labels)
            if trace is not None:
                trace.append(labelled.copy())
            t0 = time.perf_counter()
            fit(data, labelled, det, labels)
            fit_s = time.perf_counter() - t0
            metrics = evaluate(data, det, test, costly=it in costly, X_test=X_test,
                               test_iu=test_iu)
            probs_train = det.predict_proba(X_train)
            decisions = det.decide_proba(probs_train, train_off)
            kappa = P.agreement(previous, decisions)
            previous = decisions
            rows.append({
                "run_key": cfg.key, "dataset_id": data.dataset_id, "dataset": data.dataset_name,
                "strategy": cfg.strategy, "label": cfg.label,
                "k": cfg.k if uses_k(cfg.strategy) else None,
                "diversify": cfg.diversify, "seed_set": cfg.seed_set, "seed": cfg.seed,
                "iteration": it, "n_labelled": int(len(labelled)),
                "fraction": len(labelled) / len(train),
                "labelled_seconds": float(data.durations[labelled].sum()),
                **P.makeup(data.events, labelled, event_classes), **start,
                **metrics, "stop_kappa": kappa, "fit_seconds": round(fit_s, 4),
                "solver_iterations": det.n_iter_,
                "converged": det.converged_, "manifest_sha256": cfg.manifest_sha256,
                "settings_key": cfg.settings_key, "features": cfg.features,
                **({} if oracle is None else {"oracle": cfg.oracle}),
            })
            if progress is not None:
                progress()
    return rows


def supervised_reference(data: RunData, cfg: RunConfig) -> dict:
    """The fully supervised reference of ``cfg``: one fit on all training files with the
    very same code and detector settings as the run's fits (from scratch, to ``tol``)."""
    from threadpoolctl import threadpool_limits

    train = np.flatnonzero(data.splits == "train")
    test = np.flatnonzero(data.splits == "test")
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        det = fit(data, train, Detector.from_spec(cfg.detector, classes=list(data.classes)))
        fit_s = time.perf_counter() - t0
        iu: list = []
        out = evaluate(data, det, test, costly=True, test_iu=iu)
    return {**out, "test_iu": test_iu_field(data, iu),
            "fit_seconds": round(fit_s, 3), "n_train_files": int(len(train)),
            "solver_iterations": det.n_iter_, "converged": det.converged_,
            "reference_key": cfg.reference_key, "manifest_sha256": cfg.manifest_sha256,
            "features": cfg.features, "detector": cfg.settings.to_dict(),
            "dataset_id": data.dataset_id, "dataset": data.dataset_name,
            "dataset_info": data.describe(cfg.manifest_sha256)}
