"""A parameterised model of annotator time, so that strategies are compared in hours as
well as in files.

Time to annotate a set of files = ``listen`` x audio seconds (listening, with replays)
+ ``per_box`` x event boxes drawn + ``per_file`` x files (opening it, deciding "nothing
here" or the classes present).

Every default is an ASSUMPTION: no published annotation-time study could be verified from
this machine (no internet beyond package registries), so none is cited. The three settings
span the plausible range, so that the report can say whether the ranking of strategies
changes with the cost model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostModel:
    """Annotator seconds per unit (all assumptions, see the module docstring)."""

    name: str
    listen: float  # seconds of work per second of audio
    per_box: float  # seconds per event box drawn
    per_file: float  # seconds per file opened and decided

    def seconds(self, audio_s: float, boxes: int, files: int) -> float:
        """Annotator seconds for ``files`` files of ``audio_s`` s of audio with ``boxes``
        event boxes."""
        return self.listen * audio_s + self.per_box * boxes + self.per_file * files


COST_MODELS = (
    CostModel("listen once (default)", listen=1.0, per_box=5.0, per_file=2.0),
    CostModel("careful (replays, exact boxes)", listen=2.0, per_box=10.0, per_file=5.0),
    CostModel("skim the spectrogram, boxes dominate", listen=0.5, per_box=20.0, per_file=2.0),
)


def row_hours(row: dict, model: CostModel) -> float:
    """Annotator hours of the labelled set of one AL row (its ``labelled_seconds``,
    ``labelled_events`` and ``n_labelled``)."""
    return model.seconds(float(row["labelled_seconds"]), int(row["labelled_events"]),
                         int(row["n_labelled"])) / 3600.0
