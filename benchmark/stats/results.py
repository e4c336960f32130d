"""The results a report reads: groups of runs per dataset, their curves and AULCs, the fully
supervised references, and the number formats every table uses."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sedal.benchmark.al.runner import ResultsStore
from sedal.benchmark.errors import BenchmarkError
from sedal.benchmark.stats import claims as C

TOL = 0.01


LOW_BUDGET = (0.005, 0.10)


def aulc(fractions, ious, lo: float | None = None, hi: float | None = None) -> float:
    """Mean IoU under the curve on the log10 labelled-fraction axis, over ``[lo, hi]``.

    Only schedule points inside the range are used (no interpolation); one point gives
    its own value; none gives nan.
    """
    f = np.asarray(fractions, float)
    y = np.asarray(ious, float)
    keep = np.ones(len(f), bool)
    if lo is not None:
        keep &= f >= lo - 1e-12
    if hi is not None:
        keep &= f <= hi + 1e-12
    f, y = f[keep], y[keep]
    if len(f) == 0:
        return math.nan
    if len(f) == 1:
        return float(y[0])
    x = np.log10(f)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def _mean(x: np.ndarray) -> float:
    """Mean of the finite values (nan when there are none, without a warning)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def _fmt(x, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{nd}f}"


def _ci(c: tuple[float, float], nd: int = 3) -> str:
    return "n/a" if any(math.isnan(v) for v in c) else f"[{c[0]:.{nd}f}, {c[1]:.{nd}f}]"


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass
class Group:
    """The runs of one dataset (by content) with one set of settings."""

    info: dict
    settings_key: str
    reference_key: str
    curves: dict = field(default_factory=lambda: defaultdict(dict))  # label -> seed -> (f, y)
    rows: dict = field(default_factory=lambda: defaultdict(dict))  # label -> seed -> rows
    fits: int = 0
    not_converged: int = 0
    odd: list = field(default_factory=list)  # runs left out of a curve, with the reason
    test_iu: dict = field(default_factory=lambda: defaultdict(dict))  # label -> seed -> field
    reference: dict | None = None
    ceiling: dict | None = None  # the cross-validated ceiling reference, if computed
    name: str = ""

    @property
    def spec(self) -> dict:
        return self.info.get("spec", {})

    @property
    def seed_set(self) -> str:
        """The seed-set rule of the group's runs (one per settings group; ``random`` for
        runs that do not record one)."""
        for runs in self.rows.values():
            for rows in runs.values():
                return rows[0].get("seed_set") or "random"
        return "random"

    def full_iou(self) -> float | None:
        return None if self.reference is None else float(self.reference["total_iou"])

    def mean_curve(self, label: str):
        """(fractions, mean, CI half-width (nan for one seed), n seeds)."""
        runs = self.curves[label]
        f = next(iter(runs.values()))[0]
        ys = np.array([y for _, y in runs.values()])
        m = ys.mean(axis=0)
        half = np.array([(C.t_ci(ys[:, i])[1] - m[i]) if len(ys) > 1 else math.nan
                         for i in range(ys.shape[1])])
        return f, m, half, len(ys)

    def per_seed(self, label: str, lo=None, hi=None) -> dict[int, float]:
        return {s: aulc(f, y, lo, hi) for s, (f, y) in self.curves[label].items()}

    def low(self, label: str) -> dict[int, float]:
        return self.per_seed(label, *LOW_BUDGET)


def describe_detector(config: dict) -> str:
    """One phrase for the detector of a run's config: features and classifier settings."""
    feats = config.get("features", "yamnet-patch-0.12-0.06-float32")
    recipe = config.get("recipe") or ""
    parts = [f"features `{feats}`" + (f" + `{recipe}`" if recipe else ""),
             f"C = {config.get('C', 1.0):g}",
             f"class weights {config.get('class_weight') or 'none'}",
             f"median filter {config.get('kernel', 3)}"]
    return ", ".join(parts)


def _check_unseen(records: list[dict]) -> None:
    """Refuse runs of a preset on a dataset whose test split chose it
    (:func:`sedal.sed.provenance.check_unseen`)."""
    from sedal.sed.errors import SedError
    from sedal.sed.provenance import check_unseen, seen_by

    items = []
    for rec in records:
        cfg, info = rec.get("config", {}), rec["dataset_info"]
        presets = seen_by(cfg.get("recipe") or "", cfg)
        if presets:
            seed = info.get("spec", {}).get("seed")
            items.append((presets, str(info.get("library", "")),
                          seed if isinstance(seed, int) else None,
                          info.get("manifest_sha256"), f"run {rec.get('key')} on "
                          f"{info.get('name')}"))
    try:
        check_unseen(items)
    except SedError as exc:
        raise BenchmarkError(str(exc)) from None


class MergedStores:
    """Several results dirs read as one (``sedbench report A B ...``): their runs, references
    and ceilings. A run key found in two dirs is one run (same configuration); it must have
    the same rows in both, else the dirs disagree and nothing is reported."""

    def __init__(self, stores: list[ResultsStore]):
        if not stores:
            raise BenchmarkError("no results dir given")
        self.stores = stores
        self.root = stores[0].root

    def records(self) -> list[dict]:
        seen: dict[str, tuple[dict, Path]] = {}
        for st in self.stores:
            for rec in st.records():
                old = seen.get(rec["key"])
                if old is None or ("test_iu" in rec and "test_iu" not in old[0]
                                   and _curve_of(old[0]) == _curve_of(rec)):
                    seen[rec["key"]] = (rec, st.root)
                elif _curve_of(old[0]) != _curve_of(rec):
                    raise BenchmarkError(
                        f"run {rec['key']} differs between {old[1]} and {st.root} (same "
                        "configuration, other total IoU); report them apart")
        return [rec for rec, _ in seen.values()]

    def references(self) -> dict[str, dict]:
        return self._merge("references")

    def ceilings(self) -> dict[str, dict]:
        return self._merge("ceilings")

    def _merge(self, what: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        where: dict[str, Path] = {}
        for st in self.stores:
            for k, v in getattr(st, what)().items():
                if k in out and out[k].get("total_iou") != v.get("total_iou"):
                    raise BenchmarkError(f"the {what[:-1]} {k} differs between {where[k]} and "
                                         f"{st.root}; report them apart")
                if k not in out or ("test_iu" in v and "test_iu" not in out[k]):
                    out[k], where[k] = v, st.root
        return out


def _curve_of(rec: dict) -> list:
    return [(r.get("iteration"), r.get("n_labelled"), r.get("total_iou"))
            for r in sorted(rec["rows"], key=lambda r: r["iteration"])]


def _design_of(g: Group) -> str:
    """What sets a settings group apart in words: its oracle and seed-set rule when they are
    not the study's ("" otherwise)."""
    from sedal.benchmark.stats.noise import oracles_of

    words = [f"{o} oracle" for o in oracles_of([g])]
    if g.seed_set != "random":
        words.append(f"{g.seed_set} seed set")
    return (", ".join(words) + ", ") if words else ""


def _prefix_of(f_short, y_short, f_long, y_long) -> bool:
    """Whether a curve is the start of another (same fractions and the same IoUs)."""
    n = len(f_short)
    return (n <= len(f_long) and np.allclose(f_short, f_long[:n])
            and np.array_equal(y_short, y_long[:n], equal_nan=True))


class Results:
    """Finished runs of a results dir (or of :class:`MergedStores`), grouped by dataset
    content and settings."""

    def __init__(self, store: ResultsStore):
        records = store.records()
        if not records:
            raise BenchmarkError(f"{store.root} holds no finished runs; run sedbench run first")
        refs = store.references()
        ceilings = store.ceilings()
        self.detectors: set[str] = set()
        self.claims_sha256 = {rec["claims_sha256"] for rec in records
                              if isinstance(rec.get("claims_sha256"), str)}
        self.strategy_claims_sha256 = {rec["strategy_claims_sha256"] for rec in records
                                       if isinstance(rec.get("strategy_claims_sha256"), str)}
        groups: dict[tuple[str, str], Group] = {}
        # longer runs first (stable): a run cut at a smaller budget by a study beside the main
        # job is then recognised as the start of the main job's run of that seed
        records = sorted(records, key=lambda r: -len(r["rows"]))
        for rec in records:
            info = rec.get("dataset_info")
            if not isinstance(info, dict) or "settings_key" not in rec:
                raise BenchmarkError(f"{store.root}: run {rec['key']} was written by an older "
                                     "sedal (no dataset identity); rerun it into a new results "
                                     "dir")
            gkey = (info["manifest_sha256"], rec["settings_key"])
            g = groups.setdefault(gkey, Group(info, rec["settings_key"], rec["reference_key"]))
            self.detectors.add(describe_detector(rec.get("config", {})))
            rows = sorted(rec["rows"], key=lambda r: r["iteration"])
            label, seed = rows[0]["label"], rows[0]["seed"]
            f = np.array([r["fraction"] for r in rows], float)
            y = np.array([np.nan if r["total_iou"] is None else r["total_iou"] for r in rows])
            have = g.curves[label]
            if seed in have:  # the same run cut at a smaller budget (a study beside the job)
                if not _prefix_of(f, y, *have[seed]):
                    raise BenchmarkError(f"{label} seed {seed} on {info.get('name')}: two runs "
                                         "of one configuration disagree; report them apart")
                continue  # the longer run, read first, holds this one
            g.fits += len(rows)
            g.not_converged += sum(1 for r in rows if r.get("converged") is False)
            if have:
                f0 = next(iter(have.values()))[0]
                if len(f0) != len(f) or not np.allclose(f0, f):
                    g.odd.append(f"{label} seed {seed}: {len(f)} points instead of {len(f0)}")
                    continue
            have[seed] = (f, y)
            g.rows[label][seed] = rows
            if isinstance(rec.get("test_iu"), dict):
                g.test_iu[label][seed] = rec["test_iu"]
        _check_unseen(records)
        by_manifest = defaultdict(list)
        for (msha, _), g in groups.items():
            by_manifest[msha].append(g)
        for gs in by_manifest.values():
            for g in gs:
                g.reference = refs.get(g.reference_key)
                g.ceiling = ceilings.get(g.reference_key)
                g.name = f"{g.info['name']} ({g.info['manifest_sha256'][:8]})"
                if len(gs) > 1:
                    g.name += f" · {_design_of(g)}settings {g.settings_key}"
        self.groups = sorted(groups.values(), key=lambda g: g.name)

    def find(self, snr: float, ratio: float, library: str, *, need=()) -> Group | None:
        """The group of the study dataset with this SNR, ratio and library: among matches,
        the one with the most files, then the lowest dataset seed, then the most seeds."""
        cands = [g for g in self.groups
                 if g.info.get("library") == library and g.spec.get("snr_range") is None
                 and math.isclose(float(g.spec.get("snr", math.nan)), snr)
                 and math.isclose(float(g.spec.get("event_ratio", math.nan)), ratio)
                 and all(lab in g.curves for lab in need)]
        if not cands:
            return None
        return sorted(cands, key=lambda g: (-g.spec.get("n_files", 0), g.spec.get("seed", 0),
                                            -sum(len(v) for v in g.curves.values())))[0]

    def realisations(self, main: Group) -> list[Group]:
        """Groups of the same spec as ``main`` except the dataset seed (same settings)."""
        def strip(spec):
            return {k: v for k, v in spec.items() if k != "seed"}

        return [g for g in self.groups
                if g.info.get("library") == main.info.get("library")
                and strip(g.spec) == strip(main.spec) and g.settings_key == main.settings_key]
