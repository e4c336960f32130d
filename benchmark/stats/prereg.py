"""The pre-registration (``benchmark/claims.toml``): the claims, their contrasts and tests,
the smallest effect sizes of interest, alpha, the multiplicity family, and the seeds of the
confirmatory study -- committed before the runs it governs.

Every run plan records :func:`claims_sha256`; a report warns when the file it reads now is
not the file the results were made under (:func:`changed_since`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sedal.benchmark.errors import BenchmarkError
from sedal.core.fsutil import sha256_bytes

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "claims.toml"


@dataclass(frozen=True)
class Preregistration:
    """The parsed claims file (numbers in the units of the claims: IoU, fractions)."""

    sha256: str
    alpha: float
    sesoi_iou: float
    sesoi_relative_gain: float
    reach_tolerance: float
    low_budget: tuple[float, float]
    budgets: tuple[float, ...]
    power: float
    family: str
    claims: dict[str, dict]  # id -> {"text", "contrast", "test"}
    confirm: dict


def claims_sha256(path: Path = CLAIMS_FILE) -> str:
    """sha256 of the claims file's bytes."""
    try:
        return sha256_bytes(Path(path).read_bytes())
    except OSError as exc:
        raise BenchmarkError(f"cannot read the claims file {path}: {exc.strerror}") from None


def _read_toml(path: Path) -> tuple[bytes, dict]:
    """(bytes, parsed TOML) of a claims file; one-line error when it cannot be read."""
    try:
        raw = Path(path).read_bytes()
        return raw, tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BenchmarkError(f"cannot read the claims file {path}: "
                             f"{' '.join(str(exc).split())}") from None


def load(path: Path = CLAIMS_FILE) -> Preregistration:
    """Read and check the claims file (a missing key or a bad value is a one-line error)."""
    raw, d = _read_toml(path)
    try:
        claims = {str(c["id"]): {k: str(c[k]) for k in ("text", "contrast", "test")}
                  for c in d["claim"]}
        pre = Preregistration(
            sha256=sha256_bytes(raw), alpha=float(d["alpha"]),
            sesoi_iou=float(d["sesoi_iou"]),
            sesoi_relative_gain=float(d["sesoi_relative_gain"]),
            reach_tolerance=float(d["reach_tolerance"]),
            low_budget=(float(d["low_budget"][0]), float(d["low_budget"][1])),
            budgets=tuple(float(b) for b in d["budgets"]), power=float(d["power"]),
            family=str(d["family"]), claims=claims, confirm=dict(d["confirm"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BenchmarkError(f"the claims file {path} lacks or mistypes {exc}") from None
    if not 0 < pre.alpha < 1 or pre.sesoi_iou <= 0:
        raise BenchmarkError(f"the claims file {path}: alpha must be in (0, 1) and the SESOI "
                             "positive")
    return pre


def changed_since(recorded: set[str], path: Path = CLAIMS_FILE) -> str | None:
    """A warning when the results were made under other claims files than ``path`` holds
    now (None when every result recorded this file's sha256)."""
    now = claims_sha256(path)
    if not recorded:
        return ("the results record no claims file (made before pre-registration): their "
                "verdicts were not pre-registered")
    other = sorted(r for r in recorded if r != now)
    if other:
        return (f"the claims file changed after results were made: results record "
                f"{', '.join(o[:12] for o in other)}, the file is now {now[:12]} "
                f"(git log -- benchmark/claims.toml shows when)")
    return None


STRATEGY_CLAIMS_FILE = CLAIMS_FILE.parent / "claims-strategies.toml"


@dataclass(frozen=True)
class StrategyPreregistration:
    """The strategy family (``benchmark/claims-strategies.toml``): Top-10 against each listed
    strategy, AULC over ``low_budget``, superiority with SESOI ``sesoi_iou``."""

    sha256: str
    alpha: float
    sesoi_iou: float
    low_budget: tuple[float, float]
    family: str
    reference: str
    strategies: tuple[str, ...]
    test: str


def load_strategies(path: Path = STRATEGY_CLAIMS_FILE) -> StrategyPreregistration:
    """Read and check the strategy family's file (one-line errors, as :func:`load`)."""
    raw, d = _read_toml(path)
    try:
        sp = StrategyPreregistration(
            sha256=sha256_bytes(raw), alpha=float(d["alpha"]), sesoi_iou=float(d["sesoi_iou"]),
            low_budget=(float(d["low_budget"][0]), float(d["low_budget"][1])),
            family=str(d["family"]), reference=str(d["reference"]),
            strategies=tuple(str(s) for s in d["strategies"]), test=str(d["test"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BenchmarkError(f"the claims file {path} lacks or mistypes {exc}") from None
    if not 0 < sp.alpha < 1 or sp.sesoi_iou <= 0 or not sp.strategies:
        raise BenchmarkError(f"the claims file {path}: alpha must be in (0, 1), the SESOI "
                             "positive and the strategy list not empty")
    return sp
