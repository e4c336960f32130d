"""The annotator an AL run simulates (``sedbench run --oracle``).

``perfect`` (the study's): a queried file's labels are its true events. The noisy oracles
label a queried training file as a person who makes mistakes would, with this documented
model, applied independently to each of the file's true events and then to the file:

1. **missed**: an event is left out with probability ``1 / (1 + exp((snr - miss_snr50_db) /
   miss_scale_db))`` — quiet events (low event SNR, dB, as the manifest records it) are
   missed more often;
2. **jitter**: onset and offset move by independent Gaussian errors of ``jitter_s`` seconds
   (clipped to the file; an event left shorter than one hop keeps its true extent);
3. **confusion**: with probability ``confusion`` the class becomes one of the other event
   classes, uniformly (a confusion matrix with ``1 - confusion`` on the diagonal);
4. **spurious boxes**: ``Poisson(spurious_per_file)`` boxes of ``spurious_s`` seconds, at a
   uniform onset, of a uniform event class.

The noisy events become segment labels exactly as the true ones do
(:func:`sedal.sed.labels.segment_labels`); the model trains on them; the test split stays
clean. The draws come from the run's seed and the dataset (one stream per oracle), so every
strategy of a seed sees the same annotator mistakes on the same file.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from sedal.sed.grid import HOP_S


@dataclass(frozen=True)
class NoisyOracle:
    """Parameters of the noise model (see the module docstring); seconds and dB."""

    miss_snr50_db: float
    miss_scale_db: float
    jitter_s: float
    confusion: float
    spurious_per_file: float
    spurious_s: float

    def to_dict(self) -> dict:
        return asdict(self)


#: The oracles ``--oracle`` names: ``perfect`` and two noise levels.
ORACLES: dict[str, NoisyOracle | None] = {
    "perfect": None,
    "noisy": NoisyOracle(miss_snr50_db=-10.0, miss_scale_db=2.0, jitter_s=0.1,
                         confusion=0.05, spurious_per_file=0.05, spurious_s=0.5),
    "noisy-high": NoisyOracle(miss_snr50_db=-3.0, miss_scale_db=3.0, jitter_s=0.25,
                              confusion=0.15, spurious_per_file=0.2, spurious_s=0.5),
}


def miss_probability(snr_db: float, oracle: NoisyOracle) -> float:
    """The probability that ``oracle`` misses an event of this SNR (dB)."""
    z = (snr_db - oracle.miss_snr50_db) / oracle.miss_scale_db
    return 1.0 / (1.0 + math.exp(min(z, 700.0)))


def noisy_events(events, snrs, duration: float, classes: list[str], oracle: NoisyOracle,
                 rng: np.random.Generator) -> list[tuple[float, float, str]]:
    """What ``oracle`` labels for one file: its true ``events`` ``(onset_s, offset_s,
    label)`` with their ``snrs`` (dB), in a file of ``duration`` s; event ``classes``."""
    out = []
    for (a, b, lab), snr in zip(events, snrs):
        if rng.random() < miss_probability(snr, oracle):
            continue
        na, nb = a + rng.normal(0.0, oracle.jitter_s), b + rng.normal(0.0, oracle.jitter_s)
        na, nb = max(0.0, na), min(duration, nb)
        if nb - na < HOP_S:
            na, nb = a, b
        if len(classes) > 1 and rng.random() < oracle.confusion:
            others = [c for c in classes if c != lab]
            lab = others[int(rng.integers(len(others)))]
        out.append((round(na, 6), round(nb, 6), lab))
    for _ in range(int(rng.poisson(oracle.spurious_per_file))):
        length = min(oracle.spurious_s, duration)
        onset = float(rng.uniform(0.0, duration - length))
        out.append((round(onset, 6), round(onset + length, 6),
                    classes[int(rng.integers(len(classes)))]))
    return sorted(out)


def noisy_labels(data, files: np.ndarray, oracle: NoisyOracle, rng: np.random.Generator
                 ) -> np.ndarray:
    """``data.labels`` with the segment labels of ``files`` replaced by what ``oracle``
    labels for them (a copy; other files keep their true labels)."""
    from sedal.sed.labels import segment_labels

    labels = np.array(data.labels, copy=True)
    classes = list(data.classes)
    for f in np.sort(files):
        a, b = int(data.offsets[f]), int(data.offsets[f + 1])
        evs = noisy_events(data.events[f], data.event_snrs[f], float(data.durations[f]),
                           classes[1:], oracle, rng)
        labels[a:b] = segment_labels(evs, b - a, classes)
    return labels
