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

from sedal.core.rng import derive_rng

from .synth import SYNTH_SR, _bandpass, _lowpass, _normalise, _pink_noise, _slow_curve
from .synth_calls import N_INDIVIDUALS, baby, dog, meerkat  # noqa: F401 - N_INDIVIDUALS: docs
from .synth_dsp import (
    _env,
    _harmonics,
    _phase,
    _place,
    _t,
    _unit,
    propagate,
)

N_SITES = 12
RECORDINGS_PER_SITE = 2
BACKGROUND_SECONDS = 75.0


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
