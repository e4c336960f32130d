"""The claim family under an imperfect annotator (``sedbench study oracle``).

Runs under a noisy oracle carry labels such as ``top_k(K=10)@noisy``
(:attr:`sedal.benchmark.al.loop.RunConfig.label`). For each oracle this module takes the
groups of that oracle, strips the suffix, and decides the pre-registered family on them
exactly as for a perfect annotator (:func:`sedal.benchmark.stats.family_claims.
evaluate_family`), reported as the world ``<world> @ <oracle>``. The oracle study runs the
five main-comparison strategies on the main cell only, so claims (b)-(f) can be decided;
the others lack data and are left out of the table (and of Holm's family).
"""

from __future__ import annotations

import copy
from collections import defaultdict

from sedal.benchmark.stats.results import Group

#: The claims an oracle study's grid (five strategies, main cell) can decide.
NOISE_CLAIMS = ("b", "c", "d", "e", "f")


def oracles_of(groups: list[Group]) -> list[str]:
    """The noisy oracles that appear in the groups' labels, sorted."""
    return sorted({lab.split("@", 1)[1] for g in groups for lab in g.curves if "@" in lab})


def under_oracle(groups: list[Group], oracle: str) -> list[Group]:
    """Copies of the groups that hold runs under ``oracle``, with only those runs and their
    labels without ``@oracle``."""
    out = []
    suffix = f"@{oracle}"
    for g in groups:
        labels = [lab for lab in g.curves if lab.endswith(suffix)]
        if not labels:
            continue
        h = copy.copy(g)
        h.curves, h.rows = defaultdict(dict), defaultdict(dict)
        for lab in labels:
            h.curves[lab[:-len(suffix)]] = g.curves[lab]
            h.rows[lab[:-len(suffix)]] = g.rows[lab]
        out.append(h)
    return out


class _View:
    """What :func:`evaluate_family` reads of a :class:`Results`: its groups."""

    def __init__(self, groups: list[Group]):
        self.groups = groups


def noise_verdicts(groups: list[Group], pre, world: str) -> list:
    """Claims :data:`NOISE_CLAIMS` decided under each noisy oracle found in ``groups`` of
    ``world`` (Holm over those claims per oracle); their ``world`` is ``"<world> @
    <oracle>"``."""
    import dataclasses

    from sedal.benchmark.stats.family_claims import evaluate_family

    sub = dataclasses.replace(pre, claims={k: v for k, v in pre.claims.items()
                                           if k in NOISE_CLAIMS})
    out = []
    for oracle in oracles_of(groups):
        found = evaluate_family(_View(under_oracle(groups, oracle)), sub, world)
        for r in found:
            r.world = f"{world} @ {oracle}"
        out += found
    return out
