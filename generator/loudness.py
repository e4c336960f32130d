"""Integrated loudness (ITU-R BS.1770-4, LUFS) computed the same on every machine.

Scaper normalises every background to ``ref_db`` LUFS and every event to
``ref_db + snr`` LUFS with pyloudnorm's meter. pyloudnorm's result is right, but its
last bits depend on the CPU (numpy's SIMD ``log10``/``sin``/``tan`` kernels and summation
order), and those bits reach the mix gain, hence the JAMS and, at rounding boundaries,
the 16-bit audio. :func:`integrated_lufs` is the same algorithm (pyloudnorm's default
'K-weighting' filter pair: RBJ high shelf +4 dB at 1500 Hz, Q = 1/sqrt 2, then a 38 Hz
high pass, Q = 0.5; 400 ms blocks with 75 % overlap; -70 LUFS absolute and -10 LU
relative gates) with

* filter coefficients from :mod:`sedal.core.exactmath` (correctly rounded sin/cos/power),
* block energies as exactly rounded sums (:func:`math.fsum`) of exactly rounded sums of
  the squared samples between block edges (a fixed, exactly rounded computation),
* logarithms from :mod:`sedal.core.exactmath`,

so its value is a function of the input samples alone. It agrees with pyloudnorm
0.1.x to ~1e-12 LU (``tests/test_loudness.py``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

from sedal.core import exactmath

#: Gating block length (s), block overlap, absolute gate (LUFS), relative gate (LU).
BLOCK_SIZE = 0.400
OVERLAP = 0.75
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
#: Scaper's floor and its minimum duration (s) below which a clip is self-tiled.
FLOOR = -70.0
MIN_DURATION = 0.5


def _biquad(kind: str, gain_db: float, q: float, fc: float, rate: float):
    """RBJ cookbook biquad (b, a), normalised by a0, as pyloudnorm's IIRfilter builds it."""
    a_lin = exactmath.power(10.0, gain_db / 40.0)
    w0 = 2.0 * math.pi * (fc / rate)
    cw = exactmath.cos(w0)
    alpha = exactmath.sin(w0) / (2.0 * q)
    if kind == "high_shelf":
        sa = math.sqrt(a_lin)
        b0 = a_lin * ((a_lin + 1) + (a_lin - 1) * cw + 2 * sa * alpha)
        b1 = -2 * a_lin * ((a_lin - 1) + (a_lin + 1) * cw)
        b2 = a_lin * ((a_lin + 1) + (a_lin - 1) * cw - 2 * sa * alpha)
        a0 = (a_lin + 1) - (a_lin - 1) * cw + 2 * sa * alpha
        a1 = 2 * ((a_lin - 1) - (a_lin + 1) * cw)
        a2 = (a_lin + 1) - (a_lin - 1) * cw - 2 * sa * alpha
    elif kind == "high_pass":
        b0 = (1 + cw) / 2
        b1 = -(1 + cw)
        b2 = (1 + cw) / 2
        a0 = 1 + alpha
        a1 = -2 * cw
        a2 = 1 - alpha
    else:  # pragma: no cover - only the two K-weighting stages are used
        raise ValueError(kind)
    b = np.array([b0 / a0, b1 / a0, b2 / a0], dtype=np.float64)
    a = np.array([a0 / a0, a1 / a0, a2 / a0], dtype=np.float64)
    return b, a


def k_weighting(rate: float):
    """The two K-weighting stages [(b, a), (b, a)] at ``rate`` Hz."""
    return [_biquad("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0, rate),
            _biquad("high_pass", 0.0, 0.5, 38.0, rate)]


def _block_loudness(z: float) -> float:
    return -0.691 + 10.0 * exactmath.log10(z)


#: How far (LU) numpy's loudness of a block may be from a gate for its side of the gate to
#: be taken without the correctly rounded logarithm: numpy's log10 is within a few ulp of it
#: (a few 1e-15 LU at these magnitudes), so the margin is 1e6 times the largest error.
GATE_MARGIN = 1e-9


def _above(z: list[float], fast: np.ndarray, gate: float, strict: bool) -> list[bool]:
    """``_block_loudness(v) > gate`` (``>=`` unless ``strict``) for every block energy ``v``
    of ``z``, with the correctly rounded logarithm only for blocks within
    :data:`GATE_MARGIN` of the gate (``fast``: numpy's loudness of each block). The same
    decisions as the exact loudness of every block, on any machine."""
    out = []
    for v, f in zip(z, fast):
        if abs(f - gate) > GATE_MARGIN:
            out.append(bool(f > gate))
        else:
            lj = _block_loudness(v)
            out.append(lj > gate if strict else lj >= gate)
    return out


def integrated_lufs(audio: np.ndarray, rate: float, *, min_duration: float = MIN_DURATION) -> float:
    """Integrated gated loudness of ``audio`` in LUFS, floored at -70 (Scaper's convention).

    Parameters
    ----------
    audio : numpy.ndarray
        Samples in [-1, 1], shape [n] or [n, channels] (channels are weighted 1.0 each,
        as for up to three channels in BS.1770).
    rate : float
        Sample rate in Hz.
    min_duration : float
        Clips shorter than this (s) are self-tiled to reach it first (as Scaper does).

    Returns
    -------
    float
        Loudness in LUFS (dB relative to full scale, K-weighted).
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] == 0:
        return FLOOR
    duration = x.shape[0] / float(rate)
    if duration < min_duration:
        x = np.tile(x, (int(math.ceil(min_duration / duration)), 1))
    n = x.shape[0]
    if n < BLOCK_SIZE * rate:
        raise ValueError("audio is shorter than one 400 ms gating block")
    filters = k_weighting(rate)
    chans = []
    for c in range(x.shape[1]):
        y = x[:, c]
        for b, a in filters:
            y = scipy.signal.lfilter(b, a, y)
        chans.append(np.square(y))
    step = 1.0 - OVERLAP
    t = n / rate
    n_blocks = int(round((t - BLOCK_SIZE) / (BLOCK_SIZE * step))) + 1
    scale = 1.0 / (BLOCK_SIZE * rate)
    bounds = [(int(BLOCK_SIZE * (j * step) * rate), int(BLOCK_SIZE * (j * step + 1) * rate))
              for j in range(n_blocks)]
    # Exactly rounded sums of the pieces between consecutive block edges, once each; a
    # block's energy is the exactly rounded sum of its pieces (a fixed-order, exact-rounding
    # computation, so the same bits on any machine, and ~4x fewer passes than per block).
    edges = sorted({e for lo_hi in bounds for e in lo_hi})
    where = {e: i for i, e in enumerate(edges)}
    pieces = [[math.fsum(sq[a:b].tolist()) for a, b in zip(edges[:-1], edges[1:])]
              for sq in chans]
    z = []  # per block: channel-summed mean square
    for lo, hi in bounds:
        z.append(math.fsum(scale * math.fsum(p[where[lo]:where[hi]]) for p in pieces))
    with np.errstate(divide="ignore"):  # an all-zero block is -inf LUFS, as exactly
        fast = -0.691 + 10.0 * np.log10(np.asarray(z, dtype=np.float64))
    gated = [v for v, ok in zip(z, _above(z, fast, ABSOLUTE_GATE, False)) if ok]
    if not gated:
        return FLOOR
    gamma_r = _block_loudness(exactmath.fsum_mean(gated)) + RELATIVE_GATE
    above_abs = _above(z, fast, ABSOLUTE_GATE, True)
    gated = [v for v, ok, ok_abs in zip(z, _above(z, fast, gamma_r, True), above_abs)
             if ok and ok_abs]
    if not gated:
        return FLOOR
    return max(_block_loudness(exactmath.fsum_mean(gated)), FLOOR)
