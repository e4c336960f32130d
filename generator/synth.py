"""Deterministic synthesis of the built-in source library.

The built-in library lets every ``sedgen`` command work offline on a fresh
machine. **All of its sounds are synthetic**: they imitate the acoustic
structure of the study's classes (dog barks, baby cries, meerkat calls, park
ambience) closely enough for a detector to be meaningful, but they are not
recordings.

Every clip is a pure function of ``(seed, class, index)``; clips are
returned as float32 in [-1, 1] and written as 16-bit PCM by
:mod:`sedal.generator.builtin`, which is what gets hashed.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from sedal.core.rng import derive_rng

#: Sample rate of the synthesized clips, in Hz.
SYNTH_SR = 16000


def _envelope(n: int, attack: int, release: int) -> np.ndarray:
    """Linear attack, flat, exponential-ish release; all in samples."""
    env = np.ones(n)
    attack = max(1, min(attack, n // 2))
    release = max(1, min(release, n - attack))
    env[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    env[n - release :] = np.exp(-np.linspace(0.0, 5.0, release))
    return env


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 4) -> np.ndarray:
    nyq = sr / 2
    lo = max(lo, 1.0) / nyq
    hi = min(hi, nyq * 0.98) / nyq
    sos = signal.butter(order, [lo, hi], btype="band", output="sos")
    return signal.sosfilt(sos, x)


def _lowpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, sr * 0.49) / (sr / 2), btype="low", output="sos")
    return signal.sosfilt(sos, x)


def _formant_gain(freqs: np.ndarray, formants: list[tuple[float, float]]) -> np.ndarray:
    """Sum of resonance curves: each formant is (centre Hz, bandwidth Hz)."""
    g = np.full_like(freqs, 0.05, dtype=float)
    for fc, bw in formants:
        g += 1.0 / (1.0 + ((freqs - fc) / (bw / 2)) ** 2)
    return g


def _harmonic_tone(
    f0: np.ndarray, sr: int, formants: list[tuple[float, float]], rolloff: float, rng
) -> np.ndarray:
    """Harmonic series on a time-varying f0 (Hz per sample), formant shaped."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    fmax = float(f0.max())
    n_harm = max(1, int((sr / 2 * 0.95) // fmax))
    for h in range(1, n_harm + 1):
        fh = h * f0
        gain = _formant_gain(fh, formants) / h**rolloff
        gain = np.where(fh < sr / 2 * 0.95, gain, 0.0)
        out += gain * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    return out


def _normalise(x: np.ndarray, peak: float) -> np.ndarray:
    m = np.max(np.abs(x))
    if m == 0:
        return x.astype(np.float32)
    return (x / m * peak).astype(np.float32)


def dog_bark(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A clip of 1-3 dog barks.

    Each bark is a 0.1-0.6 s harmonic burst whose pitch falls (from about
    400-900 Hz by 25-45 %), with a noisy onset, a chest formant near
    500-900 Hz and a mouth formant near 1.2-2.4 kHz, and some roughness.
    Barks are separated by 0.08-0.35 s gaps.
    """
    rng = derive_rng(seed, "builtin", "dog", index)
    n_barks = int(rng.integers(1, 4))
    f1 = rng.uniform(500, 900)
    f2 = rng.uniform(1200, 2400)
    base_f0 = rng.uniform(400, 900)
    parts = []
    for b in range(n_barks):
        dur = rng.uniform(0.1, 0.6)
        n = int(dur * sr)
        t = np.arange(n) / sr
        start = base_f0 * rng.uniform(0.9, 1.1)
        fall = rng.uniform(0.25, 0.45)
        f0 = start * (1 - fall * (t / dur) ** 0.7)
        f0 = f0 * (1 + 0.02 * rng.standard_normal(n).cumsum() / np.sqrt(np.arange(1, n + 1)))
        tone = _harmonic_tone(f0, sr, [(f1, 300), (f2, 700)], rolloff=0.8, rng=rng)
        rough = 1 + 0.35 * np.sin(2 * np.pi * rng.uniform(30, 60) * t)
        tone *= rough
        noise = _bandpass(rng.standard_normal(n), 300, 4000, sr)
        onset = np.exp(-t / rng.uniform(0.015, 0.04))
        x = tone / (np.std(tone) + 1e-9) + 1.5 * onset * noise / (np.std(noise) + 1e-9)
        x += 0.15 * noise / (np.std(noise) + 1e-9)
        x *= _envelope(n, int(0.008 * sr), int(dur * 0.6 * sr))
        parts.append(x)
        if b < n_barks - 1:
            parts.append(np.zeros(int(rng.uniform(0.08, 0.35) * sr)))
    return _normalise(np.concatenate(parts), rng.uniform(0.5, 0.9))


def baby_cry(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A 1-4 s baby cry: one or two cry units.

    The f0 sits around 350-600 Hz with a rise-fall contour, vibrato of
    4-8 Hz (2-5 %) and random jitter; harmonics are shaped by three formants
    (about 1.0-1.4, 2.5-3.5 and 4.5-5.5 kHz); a breath-noise component and
    occasional short inhalation gaps complete it.
    """
    rng = derive_rng(seed, "builtin", "baby", index)
    total = rng.uniform(1.0, 4.0)
    n_units = 1 if total < 2.0 else int(rng.integers(1, 3))
    gap = rng.uniform(0.1, 0.25) if n_units == 2 else 0.0
    formants = [
        (rng.uniform(1000, 1400), 400),
        (rng.uniform(2500, 3500), 700),
        (rng.uniform(4500, 5500), 900),
    ]
    unit_dur = (total - gap) / n_units
    parts = []
    for u in range(n_units):
        n = int(unit_dur * sr)
        t = np.arange(n) / sr
        mean_f0 = rng.uniform(350, 600)
        contour = 1 + rng.uniform(0.05, 0.2) * np.sin(np.pi * t / unit_dur)
        vib = 1 + rng.uniform(0.02, 0.05) * np.sin(
            2 * np.pi * rng.uniform(4, 8) * t + rng.uniform(0, 6.3)
        )
        jitter = np.cumsum(rng.standard_normal(n)) / sr * 2.0
        jitter -= np.linspace(jitter[0], jitter[-1], n)
        f0 = mean_f0 * contour * vib * (1 + 0.05 * jitter)
        tone = _harmonic_tone(f0, sr, formants, rolloff=0.6, rng=rng)
        breath = _bandpass(rng.standard_normal(n), 1500, 6000, sr)
        x = tone / (np.std(tone) + 1e-9) + 0.2 * breath / (np.std(breath) + 1e-9)
        x *= _envelope(n, int(0.06 * sr), int(0.25 * sr))
        parts.append(x)
        if u < n_units - 1:
            parts.append(np.zeros(int(gap * sr)))
    return _normalise(np.concatenate(parts), rng.uniform(0.4, 0.8))


def meerkat_call(seed: int, index: int, sr: int = SYNTH_SR) -> np.ndarray:
    """A meerkat-like call: one FM chirp or a bout of 2-5 chirps.

    Each chirp lasts 0.05-0.3 s and sweeps within 1.5-4 kHz (upward,
    downward or arched), with a weak second harmonic; chirps in a bout are
    separated by 0.04-0.15 s.
    """
    rng = derive_rng(seed, "builtin", "meerkat", index)
    n_chirps = 1 if rng.random() < 0.5 else int(rng.integers(2, 6))
    shape = int(rng.integers(0, 3))
    parts = []
    for c in range(n_chirps):
        dur = rng.uniform(0.05, 0.3)
        n = int(dur * sr)
        t = np.arange(n) / dur / sr
        lo, hi = sorted(rng.uniform(1500, 4000, size=2))
        if hi - lo < 300:
            hi = min(4000.0, lo + 300)
        if shape == 0:
            f = lo + (hi - lo) * t
        elif shape == 1:
            f = hi - (hi - lo) * t
        else:
            f = lo + (hi - lo) * np.sin(np.pi * t)
        phase = 2 * np.pi * np.cumsum(f) / sr
        x = np.sin(phase) + 0.25 * np.sin(2 * phase + rng.uniform(0, 6.3))
        x += 0.05 * _bandpass(rng.standard_normal(n), 1500, 4500, sr)
        x *= np.hanning(n) ** 0.7
        parts.append(x)
        if c < n_chirps - 1:
            parts.append(np.zeros(int(rng.uniform(0.04, 0.15) * sr)))
    return _normalise(np.concatenate(parts), rng.uniform(0.4, 0.9))


def _pink_noise(n: int, rng) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / (np.std(x) + 1e-12)


def _slow_curve(n: int, sr: int, rate_hz: float, rng) -> np.ndarray:
    """A smooth random curve (0..1) varying at about ``rate_hz``."""
    k = max(4, int(n / sr * rate_hz) + 4)
    pts = rng.random(k)
    xs = np.linspace(0, n, k)
    return np.interp(np.arange(n), xs, pts)


def park_ambience(seed: int, index: int, duration: float = 60.0, sr: int = SYNTH_SR):
    """Park ambience of ``duration`` seconds (>= 60 s by default).

    Layers: wind (low-passed pink noise with a slow level drift), traffic
    rumble (noise below about 200 Hz with passing-car swells), gusts (broad
    band noise bursts of 1-4 s), leaves (sparse short high-frequency
    crackles) and occasional distant bird chirps (2.5-6 kHz warbles, quiet).
    """
    rng = derive_rng(seed, "builtin", "park", index)
    n = int(duration * sr)
    t = np.arange(n) / sr
    wind = _lowpass(_pink_noise(n, rng), rng.uniform(400, 1200), sr)
    wind *= 0.6 + 0.4 * _slow_curve(n, sr, 0.2, rng)
    rumble = _lowpass(rng.standard_normal(n), rng.uniform(120, 220), sr, order=4)
    rumble /= np.std(rumble) + 1e-12
    cars = np.ones(n) * 0.5
    for _ in range(int(rng.integers(2, 8))):
        c = rng.uniform(0, duration)
        w = rng.uniform(2, 6)
        cars += 1.5 * np.exp(-0.5 * ((t - c) / w) ** 2)
    rumble *= cars * rng.uniform(0.3, 0.8)
    gusts = np.zeros(n)
    for _ in range(int(rng.integers(3, 10))):
        c = rng.uniform(0, duration)
        w = rng.uniform(0.5, 2.0)
        gusts += np.exp(-0.5 * ((t - c) / w) ** 2)
    gust_noise = _bandpass(_pink_noise(n, rng), 200, 3000, sr) * gusts * rng.uniform(0.3, 0.7)
    leaves = np.zeros(n)
    n_crackles = int(rng.integers(20, 120) * duration / 60)
    for _ in range(n_crackles):
        s = int(rng.uniform(0, n - 0.05 * sr))
        m = int(rng.uniform(0.005, 0.03) * sr)
        leaves[s : s + m] += rng.standard_normal(m) * np.hanning(m) * rng.uniform(0.2, 1.0)
    leaves = _bandpass(leaves, 2000, 7000, sr) * rng.uniform(0.5, 1.5)
    birds = np.zeros(n)
    for _ in range(int(rng.integers(2, 12) * duration / 60)):
        s = int(rng.uniform(0, duration - 1.0) * sr)
        dur = rng.uniform(0.2, 0.8)
        m = int(dur * sr)
        tt = np.arange(m) / sr
        fc = rng.uniform(2500, 6000)
        f = fc * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(8, 25) * tt))
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(m)
        birds[s : s + m] += x * rng.uniform(0.05, 0.2)
    mix = wind + rumble + gust_noise + leaves + birds
    return _normalise(mix, rng.uniform(0.3, 0.6))


#: Synthesizers of the built-in library: label -> (kind, function).
BUILTIN_CLASSES = {
    "baby": ("foreground", baby_cry),
    "dog": ("foreground", dog_bark),
    "meerkat": ("foreground", meerkat_call),
    "park": ("background", park_ambience),
}
