"""Spectrograms of the built-in libraries' clips and backgrounds (docs/builtin-*.png).

Usage: python scripts/figure_builtin.py [field|clean] OUT.png
"""

from __future__ import annotations

import sys

import numpy as np


def main(library: str, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    from sedal.generator.builtin import builtin_classes
    from sedal.generator.synth import SYNTH_SR

    classes = builtin_classes(library)
    fg = [c for c, (kind, _) in sorted(classes.items()) if kind == "foreground"]
    bg = [c for c, (kind, _) in sorted(classes.items()) if kind == "background"][0]
    fig, axes = plt.subplots(len(fg) + 1, 4, figsize=(15, 3.0 * (len(fg) + 1)), dpi=90)
    for r, cls in enumerate(fg):
        for c, idx in enumerate((0, 7, 13, 22)):
            x = classes[cls][1](0, idx)
            _spec(axes[r][c], x, SYNTH_SR, signal, f"{cls} #{idx}")
    for c, idx in enumerate((0, 5, 10, 17)):
        x = classes[bg][1](0, idx, duration=20.0)
        _spec(axes[-1][c], x[: 10 * SYNTH_SR], SYNTH_SR, signal, f"{bg} #{idx} (10 s)")
    fig.suptitle(f"sedal built-in library '{library}' (synthetic): spectrograms", fontsize=13)
    fig.tight_layout()
    fig.savefig(out)


def _spec(ax, x, sr, signal, title):
    f, t, s = signal.spectrogram(x, sr, nperseg=512, noverlap=384)
    ax.pcolormesh(t, f / 1000, 10 * np.log10(s + 1e-12), shading="auto", cmap="magma",
                  vmin=-110, vmax=-30)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("kHz")
    ax.set_xlabel("s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
