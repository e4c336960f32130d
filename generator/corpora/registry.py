"""Where each published corpus lives, its licence, citation and expected checksums.

A checksum is given as ``"md5:<hex>"`` or ``"sha256:<hex>"``. Where none is known in
advance (``None``), the sha256 of the first download is pinned in a lock file and
every later download must match it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Remote:
    """One downloadable file of a corpus."""

    filename: str
    url: str
    checksum: str | None


@dataclass(frozen=True)
class Corpus:
    name: str
    title: str
    licence: str
    citation: str
    homepage: str
    remotes: tuple[Remote, ...]


ESC50 = Corpus(
    name="esc50",
    title="ESC-50: Dataset for Environmental Sound Classification (dog, crying_baby)",
    licence="CC BY-NC 3.0",
    citation="K. J. Piczak, ESC: Dataset for Environmental Sound Classification, ACM MM 2015. "
             "doi:10.1145/2733373.2806390",
    homepage="https://github.com/karolpiczak/ESC-50",
    remotes=(Remote("ESC-50-master.zip", "https://github.com/karoldvl/ESC-50/archive/master.zip",
                    "md5:7771e4b9d86d0945acce719c7a59305a"),),
)

NIGENS = Corpus(
    name="nigens",
    title="NIGENS general sound events database (dog, baby)",
    licence="CC BY 4.0 (NIGENS; see the record for the Freesound/SSE sources)",
    citation="I. Trowitzsch, J. Taghia, Y. Kashef, K. Obermayer, The NIGENS general sound "
             "events database, 2019. doi:10.5281/zenodo.2535878",
    homepage="https://zenodo.org/records/2535878",
    remotes=(Remote("NIGENS.zip", "https://zenodo.org/records/2535878/files/NIGENS.zip?download=1",
                    None),),
)

DCASE_FEWSHOT = Corpus(
    name="dcase-fewshot",
    title="DCASE 2022 Task 5 few-shot bioacoustic event detection, development set "
          "(meerkat sets MT and ME)",
    licence="CC BY 4.0",
    citation="I. Nolasco, S. Singh, V. Morfi, et al., Learning to detect an animal sound from "
             "five examples, Ecological Informatics, 2023. doi:10.5281/zenodo.6482837",
    homepage="https://zenodo.org/record/6482837",
    remotes=(Remote("Development_Set.zip",
                    "https://zenodo.org/record/6482837/files/Development_Set.zip?download=1",
                    "md5:cf4d3540c6c78ac2b3df2026c4f1f7ea"),),
)

_TUT = "https://zenodo.org/record/400515/files/"
TUT_PARK = Corpus(
    name="tut-park",
    title="TUT Acoustic Scenes 2017, development set (the 'park' recordings)",
    licence="TUT academic-use licence (see the record)",
    citation="A. Mesaros, T. Heittola, T. Virtanen, TUT database for acoustic scene "
             "classification and sound event detection, EUSIPCO 2016. doi:10.5281/zenodo.400515",
    homepage="https://zenodo.org/record/400515",
    remotes=(Remote("TUT-acoustic-scenes-2017-development.meta.zip",
                    _TUT + "TUT-acoustic-scenes-2017-development.meta.zip?download=1", None),)
    + tuple(Remote(f"TUT-acoustic-scenes-2017-development.audio.{i}.zip",
                   _TUT + f"TUT-acoustic-scenes-2017-development.audio.{i}.zip?download=1", None)
            for i in range(1, 11)),
)

CORPORA = {c.name: c for c in (ESC50, NIGENS, DCASE_FEWSHOT, TUT_PARK)}
