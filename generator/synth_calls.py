"""The built-in field library's calls: each class's call types and the individuals that make
them (dog, baby, meerkat; see :mod:`sedal.generator.synth_field`)."""

from __future__ import annotations

import numpy as np

from sedal.core.rng import derive_rng

from .synth import SYNTH_SR, _bandpass, _normalise, _slow_curve
from .synth_dsp import (
    _env,
    _formant_filter,
    _harmonics,
    _level_jitter,
    _place,
    _t,
    _unit,
    propagate,
)

#: Individuals per class, each with its own voice.
N_INDIVIDUALS = 24
#: Clips of each individual.
CLIPS_PER_INDIVIDUAL = 10


# -- individuals -------------------------------------------------------------------
#: Dirichlet concentrations of an individual's call-type frequencies, in the order of each
#: class's call types: dogs mostly bark (bark, yelp, whine, growl, howl), infants mostly cry
#: (cry bout, fussing), meerkats mostly give close and alarm calls (close, alarm, lead).
#: The class-typical call dominates on average; each individual draws its own mix.
REPERTOIRE = {"dog": (6.0, 1.5, 1.0, 1.5, 0.5), "baby": (3.0, 1.0),
              "meerkat": (4.0, 2.5, 1.5)}


def individual(seed: int, cls: str, k: int) -> dict:
    """The voice of individual ``k`` of a class: f0 scale, formant scale, rate, repertoire
    weights (all calls of the individual share them)."""
    rng = derive_rng(seed, "field", cls, "individual", k)
    return {"f0": float(rng.uniform(0.85, 1.2)), "formant": float(rng.uniform(0.9, 1.1)),
            "rate": float(rng.uniform(0.7, 1.4)), "rough": float(rng.uniform(0.0, 1.0)),
            "weights": rng.dirichlet(REPERTOIRE[cls])}


def _pick(weights, n_types: int, rng) -> int:
    w = np.asarray(weights[:n_types], float)
    return int(rng.choice(n_types, p=w / w.sum()))


# -- dog ---------------------------------------------------------------------------
def _dog_formants(v):
    s = v["formant"]
    return [(500 * s, 300, 1.0), (1200 * s, 500, 0.8), (2400 * s, 800, 0.4)]


def _bark(v, sr, rng):
    dur = rng.uniform(0.08, 0.25)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(320, 700) * v["f0"] * (1 - rng.uniform(0.2, 0.45) * (tt / dur) ** 0.8)
    tone = _harmonics(f0, sr, _dog_formants(v), tilt=rng.uniform(3, 7), rng=rng, jitter=0.02)
    noise = _formant_filter(rng.standard_normal(n), sr, _dog_formants(v))
    harsh = rng.uniform(0.5, 1.6) * (0.5 + v["rough"])
    x = _unit(tone) + harsh * _unit(noise) * np.exp(-tt / rng.uniform(0.03, 0.1))
    return x * _env(n, sr, 0.006, dur * 0.6)


def _yelp(v, sr, rng):
    dur = rng.uniform(0.1, 0.3)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(650, 1200) * v["f0"] * (1 + 0.25 * np.sin(np.pi * tt / dur))
    x = _unit(_harmonics(f0, sr, _dog_formants(v), tilt=rng.uniform(6, 10), rng=rng))
    x += 0.3 * _unit(_bandpass(rng.standard_normal(n), 800, 4000, sr))
    return x * _env(n, sr, 0.01, dur * 0.5)


def _whine(v, sr, rng):
    dur = rng.uniform(0.4, 1.5)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(500, 1100) * v["f0"] * (1 + 0.12 * np.sin(2 * np.pi * tt / dur
                                                              * rng.uniform(0.5, 2))
                                             + 0.02 * np.sin(2 * np.pi * 6 * tt))
    x = _unit(_harmonics(f0, sr, _dog_formants(v), tilt=rng.uniform(10, 16), rng=rng, n_max=8))
    return x * _env(n, sr, 0.05, 0.2)


def _growl(v, sr, rng):
    dur = rng.uniform(0.5, 2.0)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(80, 180) * v["f0"] * (1 + 0.05 * _slow_curve(n, sr, 3, rng))
    x = _harmonics(f0, sr, _dog_formants(v), tilt=rng.uniform(2, 5), rng=rng, jitter=0.04)
    sub = _harmonics(f0 / 2, sr, _dog_formants(v), tilt=6, rng=rng, n_max=10)
    am = 1 + 0.6 * np.sign(np.sin(2 * np.pi * rng.uniform(20, 40) * tt)) * (0.5 + v["rough"] / 2)
    noise = _formant_filter(rng.standard_normal(n), sr, _dog_formants(v))
    x = (_unit(x) + 0.5 * _unit(sub)) * am + 0.8 * _unit(noise)
    return x * _env(n, sr, 0.1, 0.3)


def _howl(v, sr, rng):
    dur = rng.uniform(1.0, 3.0)
    n = int(dur * sr)
    tt = _t(n, sr)
    base = rng.uniform(380, 750) * v["f0"]
    glide = np.interp(tt, [0, 0.25 * dur, 0.8 * dur, dur],
                      [0.7, 1.0, rng.uniform(0.9, 1.05), rng.uniform(0.6, 0.8)])
    f0 = base * glide * (1 + 0.015 * np.sin(2 * np.pi * rng.uniform(4, 7) * tt))
    x = _unit(_harmonics(f0, sr, _dog_formants(v), tilt=rng.uniform(8, 12), rng=rng, n_max=12))
    return x * _env(n, sr, 0.2, 0.5)


def dog(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A dog vocalisation bout of one call type of individual ``index % N_INDIVIDUALS``."""
    v = individual(seed, "dog", index % N_INDIVIDUALS)
    rng = derive_rng(seed, "field", "dog", index)
    kind = _pick(v["weights"], 5, rng)
    make = (_bark, _yelp, _whine, _growl, _howl)[kind]
    n_calls = {0: (1, 6), 1: (1, 4), 2: (1, 2), 3: (1, 2), 4: (1, 1)}[kind]
    n = int(rng.integers(n_calls[0], n_calls[1] + 1))
    gap = {0: (0.04, 0.15), 1: (0.04, 0.12), 2: (0.05, 0.15), 3: (0.05, 0.15), 4: (0.1, 0.2)}[kind]
    parts = [(make(v, sr, rng), rng.uniform(*gap) / v["rate"]) for _ in range(n)]
    x = _place(_level_jitter(parts, rng)[:-1] + [(parts[-1][0], 0.0)], sr)
    return _normalise(propagate(x, sr, rng), rng.uniform(0.4, 0.9))


# -- baby --------------------------------------------------------------------------
def _baby_formants(v):
    s = v["formant"]
    return [(1100 * s, 500, 1.0), (3000 * s, 900, 0.7), (5000 * s, 1200, 0.35)]


def _cry_unit(v, sr, rng):
    dur = rng.uniform(0.4, 1.5)
    n = int(dur * sr)
    tt = _t(n, sr)
    peak = rng.uniform(330, 560) * v["f0"]
    arch = np.sin(np.pi * np.clip(tt / dur, 0, 1)) ** rng.uniform(0.5, 1.5)
    f0 = peak * (rng.uniform(0.65, 0.85) + (1 - 0.75) * arch * rng.uniform(0.8, 1.6))
    f0 = np.clip(f0 * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(4, 9) * tt)), 200, 900)
    x = _unit(_harmonics(f0, sr, _baby_formants(v), tilt=rng.uniform(3, 7), rng=rng,
                         jitter=0.005 + 0.015 * v["rough"]))
    if rng.random() < 0.4:  # phonation break: a noisy, harsh stretch
        a = int(rng.uniform(0.2, 0.7) * n)
        b = min(n, a + int(rng.uniform(0.05, 0.25) * sr))
        x[a:b] = x[a:b] * 0.4 + 1.2 * _unit(_formant_filter(rng.standard_normal(b - a), sr,
                                                            _baby_formants(v)))
    breath = _unit(_bandpass(rng.standard_normal(n), 1500, 6500, sr))
    return (x + 0.12 * breath) * _env(n, sr, 0.05, 0.2)


def _gasp(sr, rng):
    dur = rng.uniform(0.08, 0.25)
    n = int(dur * sr)
    x = _bandpass(rng.standard_normal(n), 700, 5000, sr) * np.hanning(n)
    return 0.35 * _unit(x)


def _fuss(v, sr, rng):
    dur = rng.uniform(0.2, 0.5)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(280, 420) * v["f0"] * (1 - 0.15 * tt / dur)
    x = _unit(_harmonics(f0, sr, _baby_formants(v), tilt=rng.uniform(6, 10), rng=rng, n_max=16,
                         jitter=0.01))
    x += 0.25 * _unit(_bandpass(rng.standard_normal(n), 800, 5000, sr))
    return 0.6 * x * _env(n, sr, 0.04, 0.15)


def baby(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A cry bout (1-4 units with gasps) or a fussing bout of one infant."""
    v = individual(seed, "baby", index % N_INDIVIDUALS)
    rng = derive_rng(seed, "field", "baby", index)
    if rng.random() < v["weights"][0]:
        parts = []
        for u in range(int(rng.integers(1, 5))):
            if u:
                parts.append((_gasp(sr, rng), rng.uniform(0.03, 0.12)))
            parts.append((_cry_unit(v, sr, rng), rng.uniform(0.02, 0.08) / v["rate"]))
    else:
        parts = [(_fuss(v, sr, rng), rng.uniform(0.05, 0.15) / v["rate"])
                 for _ in range(int(rng.integers(2, 6)))]
    parts[-1] = (parts[-1][0], 0.0)
    x = _place(_level_jitter(parts, rng, 3.0), sr)
    return _normalise(propagate(x, sr, rng), rng.uniform(0.4, 0.9))


# -- meerkat ------------------------------------------------------------------------
def _meerkat_formants(v):
    s = v["formant"]
    return [(1600 * s, 800, 1.0), (3400 * s, 1200, 0.6)]


def _close_call(v, sr, rng):
    dur = rng.uniform(0.1, 0.25)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(400, 700) * v["f0"] * (1 + rng.uniform(-0.15, 0.1) * tt / dur)
    x = _unit(_harmonics(f0, sr, _meerkat_formants(v), tilt=rng.uniform(4, 8), rng=rng,
                         jitter=0.02))
    x += 0.4 * _unit(_bandpass(rng.standard_normal(n), 300, 3000, sr))
    return 0.8 * x * _env(n, sr, 0.008, dur * 0.5)


def _alarm(v, sr, rng):
    dur = rng.uniform(0.2, 0.5)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(450, 900) * v["f0"] * (1 - 0.1 * tt / dur)
    tone = _harmonics(f0, sr, _meerkat_formants(v), tilt=2, rng=rng, jitter=0.06)
    noise = _bandpass(rng.standard_normal(n), 800, 6500, sr)
    x = 0.6 * _unit(tone) + _unit(noise) * (1 + 0.7 * np.sin(2 * np.pi * rng.uniform(40, 90)
                                                            * tt))
    return x * _env(n, sr, 0.005, dur * 0.4)


def _lead(v, sr, rng):
    dur = rng.uniform(0.15, 0.35)
    n = int(dur * sr)
    tt = _t(n, sr)
    lo, hi = sorted(rng.uniform(600, 1400, size=2) * v["f0"])
    f0 = lo + (hi - lo) * (tt / dur if rng.random() < 0.5 else 1 - tt / dur)
    x = _unit(_harmonics(f0, sr, _meerkat_formants(v), tilt=rng.uniform(6, 11), rng=rng,
                         n_max=10))
    return x * _env(n, sr, 0.015, dur * 0.4)


def meerkat(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A bout of close calls, alarm calls or lead calls of one meerkat."""
    v = individual(seed, "meerkat", index % N_INDIVIDUALS)
    rng = derive_rng(seed, "field", "meerkat", index)
    kind = _pick(v["weights"], 3, rng)
    make = (_close_call, _alarm, _lead)[kind]
    n = int(rng.integers(*{0: (3, 8), 1: (2, 7), 2: (2, 5)}[kind]))
    gap = {0: (0.03, 0.12), 1: (0.03, 0.1), 2: (0.05, 0.15)}[kind]
    parts = [(make(v, sr, rng), rng.uniform(*gap) / v["rate"]) for _ in range(n)]
    parts[-1] = (parts[-1][0], 0.0)
    x = _place(_level_jitter(parts, rng), sr)
    return _normalise(propagate(x, sr, rng), rng.uniform(0.4, 0.9))
