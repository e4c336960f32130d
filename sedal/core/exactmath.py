"""Machine-independent elementary functions for values that end up in canonical bytes.

numpy's ``exp``, ``log``, ``log10``, ``sin`` ... dispatch on the CPU (AVX2/FMA3 or
AVX-512 kernels, else the C library), and the C library itself picks FMA or non-FMA
variants at load time, so the last bits of a transcendental can differ between two
machines running the same wheels. Everything a dataset's bytes depend on (loudness
normalisation gains, fade windows, peak-normalisation dB) is computed here instead,
in :mod:`decimal` arithmetic at :data:`PRECISION` significant digits and rounded once to
the nearest float64. The result is the correctly rounded value except when the exact
value lies within ~1e-40 (relative) of a float64 rounding boundary, i.e. never in practice,
and is identical on every machine (decimal is integer arithmetic in libmpdec).

These are scalar functions; they are meant for a few thousand calls per soundscape, not
for signal-rate arrays (elementwise ``+ - * /`` and ``sqrt`` are already exactly rounded
by IEEE 754 and need no help).
"""

from __future__ import annotations

import functools
from decimal import Context, Decimal, localcontext

import numpy as np

#: Significant decimal digits of the intermediate arithmetic.
PRECISION = 40

_CTX = Context(prec=PRECISION + 10)
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def _dec(x: float) -> Decimal:
    return Decimal(float(x))  # exact conversion of the binary value


def _finite_or(x: float, fn):
    x = float(x)
    if x != x:
        return float("nan")
    return fn(x)


@functools.lru_cache(maxsize=65536)
def exp(x: float) -> float:
    """e**x, correctly rounded to float64 (overflow gives inf, underflow 0)."""
    x = float(x)
    if x != x:
        return float("nan")
    if x == float("inf"):
        return float("inf")
    if x == float("-inf") or x < -800.0:
        return 0.0
    if x > 710.0:
        return float("inf")
    with localcontext(_CTX):
        return float(_dec(x).exp())


def _logarithm(x: float, method: str) -> float:
    x = float(x)
    if x != x or x < 0:
        return float("nan")
    if x == 0:
        return float("-inf")
    if x == float("inf"):
        return float("inf")
    with localcontext(_CTX):
        return float(getattr(_dec(x), method)())


@functools.lru_cache(maxsize=65536)
def log(x: float) -> float:
    """Natural logarithm, correctly rounded (log(0) = -inf, log(x<0) = nan)."""
    return _logarithm(x, "ln")


@functools.lru_cache(maxsize=65536)
def log10(x: float) -> float:
    """Base-10 logarithm, correctly rounded (log10(0) = -inf, log10(x<0) = nan)."""
    return _logarithm(x, "log10")


def power(base: float, exponent: float) -> float:
    """base**exponent for base > 0, correctly rounded (``exp(exponent * ln base)`` in decimal)."""
    base, exponent = float(base), float(exponent)
    if base <= 0 or base != base or exponent != exponent:
        raise ValueError(f"power() needs a positive base, got {base!r}")
    with localcontext(_CTX):
        return float((_dec(exponent) * _dec(base).ln()).exp())


def _sin_cos(x: float) -> tuple[Decimal, Decimal]:
    """(sin x, cos x) in decimal: reduce modulo 2*pi, then the Taylor series."""
    with localcontext(_CTX) as ctx:
        d = _dec(x)
        two_pi = 2 * _PI
        d = d - two_pi * (d / two_pi).to_integral_value()
        eps = Decimal(10) ** (-(ctx.prec + 2))
        term, s, k = d, d, 1
        d2 = d * d
        while abs(term) > eps:
            term = -term * d2 / ((2 * k) * (2 * k + 1))
            s += term
            k += 1
        term, c, k = Decimal(1), Decimal(1), 1
        while abs(term) > eps:
            term = -term * d2 / ((2 * k - 1) * (2 * k))
            c += term
            k += 1
        return s, c


@functools.lru_cache(maxsize=65536)
def sin(x: float) -> float:
    """Sine of ``x`` (radians), correctly rounded for |x| < 1e6."""
    return _finite_or(x, lambda v: float(_sin_cos(v)[0]) if abs(v) < 1e6 else float("nan"))


@functools.lru_cache(maxsize=65536)
def cos(x: float) -> float:
    """Cosine of ``x`` (radians), correctly rounded for |x| < 1e6."""
    return _finite_or(x, lambda v: float(_sin_cos(v)[1]) if abs(v) < 1e6 else float("nan"))


@functools.lru_cache(maxsize=65536)
def tan(x: float) -> float:
    """Tangent of ``x`` (radians), correctly rounded for |x| < 1e6."""
    def _tan(v):
        if abs(v) >= 1e6:
            return float("nan")
        s, c = _sin_cos(v)
        with localcontext(_CTX):
            return float(s / c)
    return _finite_or(x, _tan)


def fsum_mean(values) -> float:
    """Mean of ``values`` from their exactly rounded sum (:func:`math.fsum`); nan if empty."""
    import math

    vals = [float(v) for v in values]
    if not vals:
        return float("nan")
    return math.fsum(vals) / len(vals)


def elementwise(fn, x):
    """Apply a scalar function of this module to a number or an array (same shape, float64)."""
    if np.ndim(x) == 0:
        return np.float64(fn(float(x)))
    arr = np.asarray(x, dtype=np.float64)
    return np.array([fn(v) for v in arr.ravel().tolist()], dtype=np.float64).reshape(arr.shape)
