"""Where each detector preset's choices came from, and the refusal to report a preset's test
result on data its choice saw.

A preset's :class:`Provenance` lists the datasets its selection touched: by source library
(the name manifests record as ``sources.name``) and dataset seed — the seeds are *reserved*
for development: every dataset of that library with one of those seeds (any SNR, event ratio
or size: one seed draws one source split) counts as seen — plus the manifests known by
content. :func:`seen_by` finds the presets a detector is (by content: feature recipe and
classifier settings, whatever its name), and :func:`check_unseen` refuses, with one clear
line, to report a test result of such a detector on a dataset its selection saw. ``sedbench
report`` and ``sedbench detectors`` call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import SedError

#: Classifier settings that define a detector (the solver's tolerances do not).
DEFINING_SETTINGS = ("C", "class_weight", "kernel", "bg_prior")


@dataclass(frozen=True)
class Touched:
    """Datasets a preset's selection used."""

    library: str  # the source library's name, as manifests record it
    seeds: tuple[int, ...]  # reserved dataset seeds of that library
    splits: tuple[str, ...]  # the splits the selection read ("train", "test")
    how: str  # what the selection did with them
    manifest_sha256: tuple[str, ...] = ()  # datasets of these seeds known by content


@dataclass(frozen=True)
class Provenance:
    """How a preset was chosen."""

    preset: str
    rule: str
    date: str  # when the selection ran (ISO date)
    record: str  # where its numbers are (a path in the repository)
    touched: tuple[Touched, ...] = ()

    def seen(self, library: str, seed: int | None, manifest_sha256: str | None = None,
             split: str = "test") -> Touched | None:
        """The entry under which the selection saw ``split`` of this dataset, if any."""
        for t in self.touched:
            if split not in t.splits:
                continue
            if manifest_sha256 is not None and manifest_sha256 in t.manifest_sha256:
                return t
            if library == t.library and seed is not None and int(seed) in t.seeds:
                return t
        return None

    def to_dict(self) -> dict:
        return {"preset": self.preset, "rule": self.rule, "date": self.date,
                "record": self.record,
                "touched": [{"library": t.library, "seeds": list(t.seeds),
                             "splits": list(t.splits), "how": t.how,
                             "manifest_sha256": list(t.manifest_sha256)} for t in self.touched]}


#: The provenance of every preset in :data:`sedal.sed.detector.PRESETS`.
PROVENANCE: dict[str, Provenance] = {
    "paper": Provenance(
        preset="paper",
        rule="the study's detector as published (Lindholm et al. 2025: YAMNet patch "
             "embeddings, logistic regression C 1, median filter 3, same-class runs merged); "
             "nothing tuned on sedal data",
        date="2025", record="README.md"),
    "field": Provenance(
        preset="field",
        rule="the detector-study option with the best mean test-split total IoU on the real "
             "pool at SNR 0 (r 0.2 and 1.0) among options whose 2000-file fit takes at most "
             "2 min; its C, median kernel and background weight are the values "
             "cross-validation (on the training splits) chose most often there",
        date="2026-11-26", record="docs/results/detectors/README.md",
        touched=(Touched(
            library="real-sources", seeds=(0, 1, 2, 3, 4), splits=("train", "test"),
            how="500-file datasets at SNR 0 dB, r 0.2 and 1.0: settings chosen by "
                "cross-validation on the training splits, the preset picked by test-split "
                "total IoU",
            # the seed-0 datasets of docs/results/real-sources (their test splits were used)
            manifest_sha256=(
                "00f6e9fcc49da72f66e06bf95cb83f27fd9f267d455eec68618e29d9f28596d2",
                "c585a8cc277dab1aeaf370cc215513a3f946df2d08272d340021573849c80609")),)),
}


def _same(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


def seen_by(recipe: str, settings: dict, presets=None) -> list[str]:
    """The presets (with a provenance) that a detector with this feature ``recipe`` and these
    classifier ``settings`` is, by content (:data:`DEFINING_SETTINGS`; a setting absent from
    ``settings`` takes the default of :class:`sedal.sed.evaluate.DetectorSettings`)."""
    from dataclasses import asdict

    from .detector import PRESETS
    from .evaluate import DetectorSettings

    defaults = asdict(DetectorSettings())
    out = []
    for name, spec in (presets if presets is not None else PRESETS).items():
        if name not in PROVENANCE or (recipe or "") != spec.recipe():
            continue
        want = asdict(spec.settings)
        if all(_same(settings.get(k, defaults.get(k)), want.get(k, defaults.get(k)))
               for k in DEFINING_SETTINGS):
            out.append(name)
    return out


def check_unseen(items: Iterable[tuple[list[str], str, int | None, str | None, str]]) -> None:
    """Refuse test results of presets on datasets their selection saw.

    Parameters
    ----------
    items : iterable of (presets, library, seed, manifest_sha256, what)
        Per result: the presets its detector is (:func:`seen_by`), its dataset's library
        name, dataset seed and manifest sha256 (either may be ``None``), and how to name it.

    Raises
    ------
    SedError
        One line naming the first result, the preset and what its selection did, and how
        many more results are affected.
    """
    bad = []
    for presets, library, seed, msha, what in items:
        for p in presets:
            t = PROVENANCE[p].seen(library, seed, msha)
            if t is not None:
                bad.append((p, what, library, seed, t))
    if bad:
        p, what, library, seed, t = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise SedError(
            f"{what}{more}: the {p!r} preset was selected on the test splits of library "
            f"{library!r} dataset seeds {', '.join(map(str, t.seeds))} ({t.how}; "
            f"{PROVENANCE[p].record}), so its test results there are optimistic; evaluate "
            f"it on other dataset seeds (dataset seed {seed} is reserved for development)")
