"""A dataset's bytes do not depend on the machine's floating-point kernels.

Another CPU (AVX-512 instead of AVX2, another BLAS core type, another C library build)
gives other last bits for numpy's transcendental functions. These tests make that
difference on purpose: a child process replaces numpy's ``exp``, ``log``, ``log10``,
``sin``, ``cos``, ``tan`` and ``power`` with versions that return the neighbouring float
(+1 ulp), disables numpy's AVX2 kernels, changes OpenBLAS's core type and thread counts,
and renders the same soundscapes. Every wav and JAMS must be byte-identical to the
unperturbed render; with Scaper's own (pyloudnorm, numpy) arithmetic they are not.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sedal.core import exactmath
from sedal.generator.loudness import integrated_lufs

ROOT = Path(__file__).resolve().parents[1]

OTHER_MACHINE = {"NPY_DISABLE_CPU_FEATURES": "X86_V3", "OPENBLAS_CORETYPE": "Sandybridge",
                 "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_CHILD = r"""
import hashlib, json, sys
import numpy as np
if sys.argv[1] == "perturb":
    def up(f):
        def g(*a, **k):
            r = f(*a, **k)
            return np.nextafter(r, np.inf)
        return g
    for name in ("exp", "log", "log10", "sin", "cos", "tan", "power"):
        setattr(np, name, up(getattr(np, name)))
from sedal.generator.dataset import make_dataset
from sedal.generator.spec import DatasetSpec
out = sys.argv[2]
make_dataset(DatasetSpec(snr=10, event_ratio=1.0, n_files=10, seed=3), out,
             builtin=sys.argv[3], progress=False)
from pathlib import Path
h = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
     for p in sorted(Path(out).rglob("*")) if p.suffix in (".wav", ".jams")}
print(json.dumps(h))
"""


def _render(tmp_path: Path, mode: str, library: str, env_extra: dict) -> dict:
    env = dict(os.environ, **env_extra)
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / f"{mode}-{library}"
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, str(out), library],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("library", ["clean", "field"])
def test_soundscape_bytes_survive_perturbed_float_kernels(tmp_path, library):
    # the library is built once, unperturbed (its clips are 16-bit; see docs/datasets.md)
    plain = _render(tmp_path, "plain", library, {})
    other = _render(tmp_path, "perturb", library, OTHER_MACHINE)
    assert len(plain) == 20
    assert other == plain


def test_exactmath_is_correctly_rounded_on_known_values():
    # reference values from a 50-digit computation (Python's decimal, checked against
    # the tabulated constants)
    assert exactmath.log(10.0) == 2.302585092994046
    assert exactmath.log10(2.0) == 0.3010299956639812
    assert exactmath.exp(1.0) == 2.718281828459045
    assert exactmath.sin(1.0) == 0.8414709848078965
    assert exactmath.cos(3.0) == -0.9899924966004454
    assert exactmath.tan(1.0) == 1.5574077246549023
    assert exactmath.power(10.0, 0.2) == 1.5848931924611136
    assert exactmath.log10(0.0) == float("-inf")


def test_exactmath_agrees_with_numpy_to_one_ulp():
    x = np.linspace(-3.0, 3.0, 301)
    for ours, ref in ((exactmath.sin, np.sin), (exactmath.cos, np.cos), (exactmath.exp, np.exp)):
        got = exactmath.elementwise(ours, x)
        assert np.all(np.abs(got - ref(x)) <= np.spacing(np.abs(ref(x))))


def test_loudness_matches_pyloudnorm():
    import pyloudnorm

    rng = np.random.default_rng(0)
    for n in (7000, 48000, 160000, 112123):
        x = rng.standard_normal((n, 1)) * 0.1 * np.linspace(0.0, 1.0, n)[:, None]
        ours = integrated_lufs(x, 16000)
        if n / 16000 < 0.5:
            x = np.tile(x, (int(np.ceil(0.5 / (n / 16000))), 1))
        ref = pyloudnorm.Meter(16000).integrated_loudness(x)
        assert abs(ours - ref) < 1e-9


def test_loudness_of_silence_is_the_floor():
    assert integrated_lufs(np.zeros((16000, 1)), 16000) == -70.0


def test_gating_decisions_equal_the_correctly_rounded_loudness_of_every_block():
    from sedal.generator import loudness as L

    gate = L.ABSOLUTE_GATE
    v0 = 10 ** ((gate + 0.691) / 10)
    z = [0.0, v0, 1e-300, 1.0, 0.25]
    for _ in range(40):  # energies within a few ulp of the gate, on both sides
        z += [float(np.nextafter(z[-1] if z[-1] > v0 / 2 else v0, 0)),
              float(np.nextafter(v0, 1)) * (1 + 1e-16 * len(z))]
    with np.errstate(divide="ignore"):
        fast = -0.691 + 10.0 * np.log10(np.asarray(z))
    for strict in (False, True):
        for g in (gate, -23.5, 0.0):
            want = [(L._block_loudness(v) > g) if strict else (L._block_loudness(v) >= g)
                    for v in z]
            assert L._above(z, fast, g, strict) == want
