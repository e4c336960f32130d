"""Building blocks of the field library's sounds: harmonic sources, formant filters,
envelopes, placement in a clip, propagation (air absorption, reverberation) and EQ."""

from __future__ import annotations

import numpy as np
from scipy import signal

from .synth import _bandpass, _lowpass


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
