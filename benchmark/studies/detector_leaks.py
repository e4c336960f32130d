"""The detector study's leak check: no option that is a preset is reported on a dataset
whose test split chose it (:mod:`sedal.sed.provenance`)."""

from __future__ import annotations

import dataclasses

from sedal.benchmark.studies.detectors import OPTIONS
from sedal.sed.detector import DetectorSpec


def check_unseen(library: str, planned: list[tuple[str, int]], cells: list[dict] = ()) -> None:
    """Refuse to report an option that is a preset on a dataset whose test split chose it
    (:func:`sedal.sed.provenance.check_unseen`): ``planned`` (option, dataset seed) pairs
    and stored ``cells`` of ``library``.

    Raises
    ------
    BenchmarkError
        One line naming the preset, the dataset seed and what to do.
    """
    from sedal.benchmark.errors import BenchmarkError
    from sedal.sed.errors import SedError
    from sedal.sed.provenance import check_unseen as check

    def presets(name: str) -> list[str]:
        o = OPTIONS[name]
        return [] if o.tune else _presets_of(o.detector)

    items = [(presets(o), library, seed, None, f"option {o!r} on dataset seed {seed}")
             for o, seed in planned]
    items += [(presets(c["option"]), library, c["spec"].get("seed"), c.get("manifest_sha256"),
               f"the stored cell of option {c['option']!r} on {c.get('dataset')}")
              for c in cells]
    try:
        check(items)
    except SedError as exc:
        raise BenchmarkError(str(exc)) from None


def _presets_of(det: DetectorSpec) -> list[str]:
    from sedal.sed.provenance import seen_by

    return seen_by(det.recipe(), dataclasses.asdict(det.settings))
