"""What every layer of sedal shares (and nothing else): :mod:`~sedal.core.errors`,
seeded RNG derivation (:mod:`~sedal.core.rng`), atomic writes and path confinement
(:mod:`~sedal.core.fsutil`), worker-process hygiene (:mod:`~sedal.core.procutil`) and the
command-line plumbing (:mod:`~sedal.core.cli`). It imports no other part of sedal."""
