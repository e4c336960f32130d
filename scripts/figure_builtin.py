"""Spectrograms of the built-in libraries (docs/builtin-*.png).

Usage:
    python scripts/figure_builtin.py [field|clean] OUT.png   # source clips and backgrounds
    python scripts/figure_builtin.py files OUT.png           # generated files + confusers

``files`` makes a small dataset from the field library (SNR 0, r = 1, seed 3; 60 files in
a temporary folder), and draws two files per class with their labelled events boxed, then
two stretches of background recordings with their (unlabelled) confusers marked.
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


def files_figure(out: str) -> None:
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soundfile as sf
    from scipy import signal

    from sedal.generator import synth_field as F
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    with tempfile.TemporaryDirectory() as tmp:
        doc = make_dataset(DatasetSpec(n_files=60, snr=0.0, event_ratio=1.0, seed=3),
                           f"{tmp}/ds", builtin="field", jobs=2)
        fig, axes = plt.subplots(4, 2, figsize=(15, 12), dpi=90)
        shown: set[str] = set()
        for r, cls in enumerate(doc.classes):
            # files not shown yet, those with the most of this class's events first
            cands = [f for f in doc.files if f.id not in shown
                     and any(e.label == cls for e in f.events)]
            cands.sort(key=lambda f: -sum(e.label == cls for e in f.events) / len(f.events))
            picked = cands[:2]
            shown.update(f.id for f in picked)
            for c, f in enumerate(picked):
                x, sr = sf.read(f"{tmp}/ds/{f.audio}", dtype="float32")
                ax = axes[r][c]
                _spec(ax, x, sr, signal, f"{cls}: {f.id} (SNR 0 dB), labelled events boxed")
                for e in f.events:
                    ax.add_patch(plt.Rectangle((e.event_time, 0.05), e.event_duration, 7.8,
                                               fill=False, ec="cyan", lw=1.5))
                    ax.text(e.event_time, 7.4, e.label, color="cyan", fontsize=9)
        for c, idx in enumerate((3, 14)):
            conf: list = []
            x = F.park(0, idx, duration=F.BACKGROUND_SECONDS, confusers=conf)
            t0 = conf[0][0] - 1.0 if conf else 0.0
            t0 = max(0.0, min(t0, F.BACKGROUND_SECONDS - 10.0))
            seg = x[int(t0 * F.SYNTH_SR): int((t0 + 10) * F.SYNTH_SR)]
            ax = axes[3][c]
            _spec(ax, seg, F.SYNTH_SR, signal,
                  f"background park_{idx:03d}, {t0:.1f}-{t0 + 10:.1f} s: confusers (unlabelled)")
            for a, b, name in conf:
                if b > t0 and a < t0 + 10:
                    ax.axvspan(max(a, t0) - t0, min(b, t0 + 10) - t0, color="white", alpha=0.15)
                    ax.text(max(a, t0) - t0, 7.4, name, color="white", fontsize=9)
        fig.suptitle("sedal built-in library 'field' (synthetic): generated files and "
                     "backgrounds", fontsize=13)
        fig.tight_layout()
        fig.savefig(out)


if __name__ == "__main__":
    if sys.argv[1] == "files":
        files_figure(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
