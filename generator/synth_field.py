"""The field-realistic built-in library (the default): synthetic, but as hard as the field.

**Everything here is synthetic** (no recording is involved), and it is grounded in the
acoustics of the classes rather than tuned to make any strategy win:

- *Within-class variety.* Each class has several call types and :data:`N_INDIVIDUALS`
  "individuals", each with its own voice: a fundamental-frequency scale, vocal-tract
  formants and a calling rate that all of its calls share.

  - dog: bark (short, harsh, falling f0), yelp (short, high, arched), whine (long, tonal,
    high), growl (long, low f0 80-200 Hz with rough subharmonics), howl (long glide with
    vibrato);
  - baby: cry bouts (units of 0.4-1.5 s, f0 250-600 Hz on rising-falling arches, rich
    harmonics, infant formants, phonation breaks, inspiratory gasps between units) and
    fussing (short, breathy, lower);
  - meerkat: close calls (short quiet harmonic grunts in series), alarm calls (harsh,
    noisy, repeated) and lead calls (short tonal, rising or falling).

  Call types occur with class-typical frequencies (:data:`REPERTOIRE`: dogs mostly bark,
  infants mostly cry, meerkats mostly give close and alarm calls), each individual with
  its own mix. The classes' fundamental ranges overlap (about 250-900 Hz for all three).
- *Propagation and recording.* Every clip is heard from a random distance (3-20 m):
  distance-dependent air absorption (a low-pass whose cut-off falls with distance),
  outdoor reverberation (an exponentially decaying noise tail whose share grows with
  distance), a random microphone/EQ colouring (peaking and shelving filters of a few dB),
  and level variation from call to call within a bout.
- *Backgrounds.* Long (:data:`BACKGROUND_SECONDS` s) park ambiences from
  :data:`N_SITES` "sites" (two recordings each, the site in ``provenance.csv``), each site
  with its own mix that changes over time: wind with gusts, traffic rumble and pass-bys,
  distant voices and babble, birdsong, insects (2-8 kHz), footsteps, rain; and
  **confusers** that are not labelled (1-3 a minute): crows, cats, gulls, pigeons,
  children's shouts,
  a squeaky swing and distant other animals, overlapping the target classes' bands.

Every clip is a pure function of ``(seed, class, index)``.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from sedal.core.rng import derive_rng

from .synth import SYNTH_SR, _bandpass, _lowpass, _normalise, _pink_noise, _slow_curve

N_INDIVIDUALS = 24
CLIPS_PER_INDIVIDUAL = 10
N_SITES = 12
RECORDINGS_PER_SITE = 2
BACKGROUND_SECONDS = 75.0


# -- building blocks -------------------------------------------------------------
def _t(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


def _phase(f0: np.ndarray, sr: int) -> np.ndarray:
    return 2 * np.pi * np.cumsum(f0) / sr


def _harmonics(f0: np.ndarray, sr: int, formants, tilt: float, rng, n_max: int = 40,
               jitter: float = 0.0) -> np.ndarray:
    """Harmonic source on the f0 track (Hz per sample), shaped by formant resonances
    ``[(centre Hz, bandwidth Hz, gain)]`` and a spectral tilt (dB per octave).

    ``jitter`` is the relative standard deviation of a random f0 perturbation (band-limited
    to 40 Hz; 0.01 = 1 %, about a healthy voice's, a few % for harsh calls), shared by all
    harmonics, so the source stays harmonic however rough it is."""
    if jitter > 0:
        wobble = _lowpass(rng.standard_normal(len(f0)), 40.0, sr)
        f0 = f0 * (1 + jitter * wobble / (np.std(wobble) + 1e-12))
    ph = _phase(f0, sr)
    out = np.zeros(len(f0))
    for h in range(1, n_max + 1):
        fh = h * f0
        if float(fh.min()) > 0.47 * sr:
            break
        g = 10 ** (-tilt * np.log2(h) / 20)
        res = sum(a / (1.0 + ((fh - fc) / (bw / 2)) ** 2) for fc, bw, a in formants)
        gain = g * (0.08 + res) * (fh < 0.47 * sr)
        out += gain * np.sin(h * ph + rng.uniform(0, 2 * np.pi))
    return out


def _formant_filter(x: np.ndarray, sr: int, formants) -> np.ndarray:
    """Parallel band-pass resonators ``[(centre, bandwidth, gain)]`` applied to ``x``."""
    y = np.zeros_like(x)
    for fc, bw, a in formants:
        lo, hi = max(50.0, fc - bw / 2), min(0.47 * sr, fc + bw / 2)
        if hi > lo + 10:
            y += a * _bandpass(x, lo, hi, sr, order=2)
    return y


def _env(n: int, sr: int, attack: float, release: float, shape: float = 1.0) -> np.ndarray:
    a = max(1, min(int(attack * sr), n // 2))
    r = max(1, min(int(release * sr), n - a))
    e = np.ones(n)
    e[:a] = np.linspace(0, 1, a) ** shape
    e[n - r:] = np.linspace(1, 0, r) ** (1.5 * shape)
    return e


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def _place(parts: list[tuple[np.ndarray, float]], sr: int, tail: float = 0.05) -> np.ndarray:
    """Concatenate ``(call, gap_after_s)`` pairs into one clip."""
    out = []
    for x, gap in parts:
        out.append(x)
        if gap > 0:
            out.append(np.zeros(int(gap * sr)))
    out.append(np.zeros(int(tail * sr)))
    return np.concatenate(out)


# -- propagation and recording --------------------------------------------------
def propagate(x: np.ndarray, sr: int, rng, *, distance: float | None = None) -> np.ndarray:
    """Hear ``x`` from ``distance`` metres (random 3-20 m): air absorption, outdoor
    reverberation and a random microphone/EQ colouring."""
    d = float(rng.uniform(3.0, 20.0)) if distance is None else distance
    # air absorption + ground/foliage: high frequencies lose more with distance
    cutoff = float(np.clip(10000.0 / (1.0 + d / 40.0) * rng.uniform(0.8, 1.25), 1500, 7600))
    y = _lowpass(x, cutoff, sr, order=2)
    # reverberation: decaying noise tail, more of it further away
    rt60 = rng.uniform(0.25, 1.4)
    n_ir = int(min(rt60, 1.2) * sr)
    ir_t = _t(n_ir, sr)
    ir = rng.standard_normal(n_ir) * np.exp(-6.9 * ir_t / rt60)
    ir = _lowpass(ir, rng.uniform(2000, 6000), sr)
    ir /= np.sqrt(np.sum(ir ** 2)) + 1e-12
    y = np.concatenate([y, np.zeros(n_ir)])
    wet = signal.fftconvolve(y, ir)[: len(y)]
    mix = float(np.clip(0.08 + d / 200.0, 0.08, 0.3))
    y = (1 - mix) * _unit(y) + mix * _unit(wet)
    # microphone / EQ colouring: a peaking filter and a low or high shelf of a few dB
    y = _peaking(y, sr, rng.uniform(300, 5000), rng.uniform(-3, 3), rng.uniform(0.7, 2.0))
    y = _shelf(y, sr, rng.uniform(150, 400), rng.uniform(-4, 2), high=False)
    y = _shelf(y, sr, rng.uniform(3000, 6000), rng.uniform(-5, 2), high=True)
    # trim the reverb tail where it has died away
    keep = len(x) + int(0.3 * rt60 * sr)
    return y[:keep]


def _peaking(x, sr, f0, gain_db, q):
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return signal.lfilter(b, den, x)


def _shelf(x, sr, f0, gain_db, high: bool):
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / 2 * np.sqrt(2)
    c = np.cos(w0)
    s = 1 if high else -1
    b = [a * ((a + 1) + s * (a - 1) * c + 2 * np.sqrt(a) * alpha),
         -2 * s * a * ((a - 1) + s * (a + 1) * c),
         a * ((a + 1) + s * (a - 1) * c - 2 * np.sqrt(a) * alpha)]
    den = [(a + 1) - s * (a - 1) * c + 2 * np.sqrt(a) * alpha,
           2 * s * ((a - 1) - s * (a + 1) * c),
           (a + 1) - s * (a - 1) * c - 2 * np.sqrt(a) * alpha]
    return signal.lfilter(b, den, x)


def _level_jitter(parts, rng, db: float = 4.0):
    return [(x * 10 ** (rng.uniform(-db, db) / 20), g) for x, g in parts]


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


# -- backgrounds and confusers ------------------------------------------------------
def _site(seed: int, site: int) -> dict:
    rng = derive_rng(seed, "field", "site", site)
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in {
        "wind": (0.1, 0.6), "traffic": (0.05, 0.6), "voices": (0.0, 1.0), "birds": (0.1, 1.0),
        "insects": (0.0, 0.8), "rain": (0.0, 1.0), "steps": (0.0, 1.0),
        "confusers": (0.4, 1.0)}.items()} | {"raining": bool(rng.random() < 0.25)}


def _talker(n, sr, rng, f0_range=(95, 260)):
    tt = _t(n, sr)
    f0 = rng.uniform(*f0_range) * (1 + 0.12 * _slow_curve(n, sr, 3, rng) - 0.06)
    vowel = [(rng.uniform(300, 800), 200, 1.0), (rng.uniform(900, 2300), 300, 0.6)]
    x = _unit(_harmonics(f0, sr, vowel, tilt=9, rng=rng, n_max=25))
    syll = np.clip(np.sin(2 * np.pi * rng.uniform(3, 6) * tt + rng.uniform(0, 6)), 0, 1) ** 2
    pauses = (_slow_curve(n, sr, 0.4, rng) > 0.35).astype(float)
    return x * syll * _lowpass(pauses, 5, sr)


def _crow(sr, rng):
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        dur = rng.uniform(0.2, 0.45)
        n = int(dur * sr)
        f0 = rng.uniform(400, 700) * np.ones(n)
        x = _unit(_harmonics(f0, sr, [(1200, 800, 1.0), (2400, 900, 0.5)], tilt=1, rng=rng,
                             jitter=0.08))
        x += _unit(_bandpass(rng.standard_normal(n), 600, 4000, sr))
        parts.append((x * _env(n, sr, 0.01, dur * 0.5), rng.uniform(0.2, 0.5)))
    return _place(parts, sr)


def _cat(sr, rng):
    dur = rng.uniform(0.5, 1.3)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(450, 800) * (0.85 + 0.3 * np.sin(np.pi * tt / dur))
    x = _unit(_harmonics(f0, sr, [(rng.uniform(900, 1500), 600, 1.0), (3000, 1000, 0.5)],
                         tilt=5, rng=rng))
    return x * _env(n, sr, 0.08, 0.3)


def _gull(sr, rng):
    parts = []
    for _ in range(int(rng.integers(2, 6))):
        dur = rng.uniform(0.15, 0.35)
        n = int(dur * sr)
        tt = _t(n, sr)
        f0 = rng.uniform(600, 1100) * (1 + 0.3 * np.sin(np.pi * tt / dur))
        x = _unit(_harmonics(f0, sr, [(1800, 1200, 1.0)], tilt=4, rng=rng, jitter=0.02))
        parts.append((x * _env(n, sr, 0.02, dur * 0.5), rng.uniform(0.05, 0.2)))
    return _place(parts, sr)


def _pigeon(sr, rng):
    parts = []
    for _ in range(int(rng.integers(2, 5))):
        dur = rng.uniform(0.3, 0.7)
        n = int(dur * sr)
        tt = _t(n, sr)
        f0 = rng.uniform(250, 420) * (1 + 0.2 * np.sin(np.pi * tt / dur))
        x = _unit(_harmonics(f0, sr, [(500, 300, 1.0)], tilt=14, rng=rng, n_max=6))
        parts.append((x * _env(n, sr, 0.05, 0.15), rng.uniform(0.1, 0.4)))
    return _place(parts, sr)


def _child_shout(sr, rng):
    dur = rng.uniform(0.3, 1.2)
    n = int(dur * sr)
    tt = _t(n, sr)
    f0 = rng.uniform(280, 480) * (1 + 0.25 * np.sin(np.pi * tt / dur) - 0.1)
    x = _unit(_harmonics(f0, sr, [(rng.uniform(800, 1200), 400, 1.0),
                                  (rng.uniform(2200, 3200), 700, 0.6)], tilt=5, rng=rng,
                         jitter=0.02))
    return x * _env(n, sr, 0.05, 0.2)


def _swing(sr, rng):
    parts = []
    period = rng.uniform(1.2, 2.2)
    for _ in range(int(rng.integers(3, 8))):
        dur = rng.uniform(0.2, 0.5)
        n = int(dur * sr)
        tt = _t(n, sr)
        f0 = rng.uniform(700, 1500) * (1 + 0.3 * tt / dur)
        x = _unit(_harmonics(f0, sr, [(2000, 2000, 1.0)], tilt=8, rng=rng, n_max=6))
        parts.append((x * _env(n, sr, 0.05, 0.1), period - dur))
    return _place(parts, sr)


def _distant_bark(sr, rng):
    """A far-away dog-like canid (fox) call: a confuser, not a labelled dog."""
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        dur = rng.uniform(0.15, 0.35)
        n = int(dur * sr)
        tt = _t(n, sr)
        f0 = rng.uniform(700, 1200) * (1 - 0.2 * tt / dur)
        x = _unit(_harmonics(f0, sr, [(1500, 1000, 1.0)], tilt=3, rng=rng, jitter=0.05))
        x += 0.8 * _unit(_bandpass(rng.standard_normal(n), 1000, 5000, sr))
        parts.append((x * _env(n, sr, 0.01, dur * 0.6), rng.uniform(0.4, 1.0)))
    return _place(parts, sr)


CONFUSERS = (_crow, _cat, _gull, _pigeon, _child_shout, _swing, _distant_bark)


def _birdsong(n, sr, rng, density):
    out = np.zeros(n)
    for _ in range(int(density * rng.uniform(10, 40) * n / sr / 60)):
        m = int(rng.uniform(0.3, 1.5) * sr)
        s = int(rng.uniform(0, max(1, n - m)))
        tt = _t(m, sr)
        fc = rng.uniform(2000, 7000)
        rate = rng.uniform(6, 30)
        f = fc * (1 + rng.uniform(0.05, 0.25) * np.sign(np.sin(2 * np.pi * rate * tt)))
        notes = (np.sin(2 * np.pi * rate * tt) > rng.uniform(-0.3, 0.5)).astype(float)
        x = np.sin(_phase(_lowpass(f, 200, sr), sr)) * _lowpass(notes, 150, sr)
        out[s:s + m] += x * np.hanning(m) * rng.uniform(0.2, 1.0)
    return out


def _insects(n, sr, rng):
    """Stridulating insects: pulse trains of narrow-band noise at 2-8 kHz that come and go."""
    tt = _t(n, sr)
    x = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        fc = rng.uniform(2500, 7500)
        pulse = (np.sin(2 * np.pi * rng.uniform(8, 40) * tt) > 0.2).astype(float)
        carrier = _bandpass(rng.standard_normal(n), fc * 0.93, fc * 1.07, sr, order=2)
        bursts = (_slow_curve(n, sr, 0.15, rng) > rng.uniform(0.4, 0.8)).astype(float)
        x += _unit(carrier) * _lowpass(pulse, 300, sr) * _lowpass(bursts, 2, sr)
    return x


def _footsteps(n, sr, rng):
    x = np.zeros(n)
    for _ in range(int(rng.integers(1, 6) * n / sr / 60)):
        start = rng.uniform(0, n / sr - 8)
        step = rng.uniform(0.45, 0.65)
        for k in range(int(rng.uniform(6, 16))):
            s = int((start + k * step) * sr)
            m = int(0.05 * sr)
            if s + m < n:
                x[s:s + m] += rng.standard_normal(m) * np.exp(-np.arange(m) / (0.01 * sr))
    return _bandpass(x, 150, 3000, sr)


def _rain(n, sr, rng):
    drops = np.zeros(n)
    k = int(rng.uniform(200, 800) * n / sr)
    idx = rng.integers(0, n, size=k)
    np.add.at(drops, idx, rng.standard_normal(k))
    return _unit(_bandpass(drops, 1000, 7000, sr)) + 0.7 * _unit(_lowpass(_pink_noise(n, rng),
                                                                       5000, sr))


def park(seed: int, index: int, duration: float = BACKGROUND_SECONDS,
         sr: int = SYNTH_SR, confusers: list | None = None) -> np.ndarray:
    """A long, non-stationary park ambience at site ``index // RECORDINGS_PER_SITE``.

    ``confusers``, when a list, receives ``(start_s, end_s, name)`` of every confuser mixed
    in (for figures; the audio does not depend on it)."""
    site = _site(seed, index // RECORDINGS_PER_SITE)
    rng = derive_rng(seed, "field", "park", index)
    n = int(duration * sr)
    tt = _t(n, sr)
    layers = []
    gusts = _lowpass(rng.standard_normal(n), 0.3, sr) * 40
    wind = _lowpass(_pink_noise(n, rng), rng.uniform(250, 800), sr) * (0.5 + np.abs(gusts))
    layers.append(site["wind"] * _unit(wind))
    rumble = _unit(_lowpass(rng.standard_normal(n), rng.uniform(100, 250), sr, order=4))
    swell = np.full(n, 0.4)
    for _ in range(int(rng.integers(3, 15) * duration / 60)):
        c, w = rng.uniform(0, duration), rng.uniform(2, 6)
        swell += 1.5 * np.exp(-0.5 * ((tt - c) / w) ** 2)
    passby = _unit(_bandpass(_pink_noise(n, rng), 100, 2500, sr)) * (swell - 0.4) * 0.5
    layers.append(site["traffic"] * (rumble * swell + passby))
    voices = sum(_talker(n, sr, rng) for _ in range(int(rng.integers(1, 5))))
    layers.append(site["voices"] * 0.6 * _unit(_lowpass(voices, rng.uniform(2000, 4000), sr)))
    layers.append(site["birds"] * 0.5 * _birdsong(n, sr, rng, site["birds"]))
    layers.append(site["insects"] * 0.15 * _unit(_insects(n, sr, rng)))
    layers.append(site["steps"] * 0.4 * _unit(_footsteps(n, sr, rng)))
    if site["raining"]:
        layers.append(site["rain"] * 0.6 * _rain(n, sr, rng))
    mix = sum(layers)
    level = np.sqrt(np.mean(mix ** 2))
    # confusers: unlabelled animal and human sounds in the target classes' bands
    for _ in range(int(site["confusers"] * rng.uniform(1, 3) * duration / 60)):
        make = CONFUSERS[int(rng.integers(len(CONFUSERS)))]
        c = make(sr, rng)
        c = propagate(c, sr, rng, distance=float(rng.uniform(10, 90)))
        s = int(rng.uniform(0, max(1, n - len(c))))
        c = c[: n - s]
        if confusers is not None:
            confusers.append((s / sr, (s + len(c)) / sr, make.__name__.lstrip("_")))
        mix[s:s + len(c)] += level * 10 ** (rng.uniform(-15, -3) / 20) * _unit(c)
    return _normalise(mix, rng.uniform(0.3, 0.6))


#: Synthesizers of the field-realistic built-in library: label -> (kind, function).
FIELD_CLASSES = {
    "baby": ("foreground", baby),
    "dog": ("foreground", dog),
    "meerkat": ("foreground", meerkat),
    "park": ("background", park),
}
