"""How hard is a source library? Supervised IoU over an SNR x ratio grid, band energies,
and a crude raw log-mel baseline.

``sedbench difficulty`` builds (or reuses) datasets of ``n_files`` files from a library at
each SNR and event ratio, embeds them, fits the paper detector on all training files and
scores the test split (total and per-class IoU), then, on the SNR 0 / r 0.2 dataset:

- the band energy distribution of every class's events and of the backgrounds (fraction
  of energy in 0-0.5, 0.5-1, 1-2, 2-4 and 4-8 kHz, from the Welch PSD of the source
  material each file uses);
- a crude linear model (logistic regression, 200 iterations) on raw log-mel frames (the
  12 x 64 frames of each segment, flattened) trained on the training files and evaluated on
  the held-out test files: its accuracy on event segments (a high value means the classes
  are separable without any learned representation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sedal.generator.builtin import DEFAULT_BUILTIN

BANDS = (0, 500, 1000, 2000, 4000, 8000)


def band_energy(x: np.ndarray, sr: int) -> np.ndarray:
    """Fraction of ``x``'s energy in each band of :data:`BANDS` (Hz), from a Welch PSD."""
    from scipy import signal

    f, p = signal.welch(x, sr, nperseg=min(1024, len(x)))
    e = np.array([p[(f >= a) & (f < b)].sum() for a, b in zip(BANDS[:-1], BANDS[1:])])
    return e / max(e.sum(), 1e-20)


def dataset_band_energy(dataset: Path, max_files: int = 200) -> dict[str, list[float]]:
    """Mean band-energy fractions of each class's event material and of the backgrounds, read
    from the rendered files' event spans and from background-only files."""
    import soundfile as sf

    from sedal.generator.manifest import read_manifest

    doc = read_manifest(Path(dataset) / "manifest.json")
    acc: dict[str, list[np.ndarray]] = {}
    bg_done = 0
    for f in doc.files[:max_files]:
        x, sr = sf.read(str(Path(dataset) / f.audio), dtype="float64")
        if not f.events:
            if bg_done < 50:
                acc.setdefault("background", []).append(band_energy(x, sr))
                bg_done += 1
            continue
        for e in f.events:
            a = int(e.event_time * sr)
            b = int((e.event_time + e.event_duration) * sr)
            if b - a > 256:
                acc.setdefault(e.label, []).append(band_energy(x[a:b], sr))
    return {k: np.mean(v, axis=0).round(4).tolist() for k, v in sorted(acc.items())}


def raw_logmel_accuracy(store, doc) -> float:
    """Accuracy on test event segments of a linear model on raw log-mel patches."""
    import warnings

    import librosa
    import soundfile as sf
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    root = Path(store.path).parents[1]
    feats = []
    for f in doc.files:
        x, sr = sf.read(str(root / f.audio), dtype="float32")
        if sr != 16000:
            x = librosa.resample(x, orig_sr=sr, target_sr=16000)
        mel = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, win_length=400,
                                             hop_length=160, center=False, n_mels=64,
                                             fmin=125, fmax=7500, power=1.0)
        logmel = np.log(mel + 0.001).T  # [frames, 64]
        n = store.offsets[len(feats) + 1] - store.offsets[len(feats)]
        idx = np.arange(n)[:, None] * 6 + np.arange(12)[None, :]
        idx = np.minimum(idx, len(logmel) - 1)
        feats.append(logmel[idx].reshape(n, -1))
    X = np.concatenate(feats).astype(np.float32)
    y = store.labels.astype(np.int64)
    train = store.rows(store.file_rows("train"))
    test = store.rows(store.file_rows("test"))
    sc = StandardScaler().fit(X[train])
    with threadpool_limits(limits=2), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(max_iter=200).fit(sc.transform(X[train]), y[train])
    ev = test[y[test] > 0]
    if len(ev) == 0:
        return float("nan")
    return float(np.mean(lr.predict(sc.transform(X[ev])) == y[ev]))


def library_name(sources=None, builtin: str = DEFAULT_BUILTIN) -> str:
    """How result tables and data folders name a library: the folder's name, or
    ``builtin-<name>``."""
    return Path(sources).name if sources is not None else f"builtin-{builtin}"


def library_dataset(data_root: Path, *, n_files: int, snr: float, ratio: float, seed: int,
                    sources=None, builtin: str = DEFAULT_BUILTIN, jobs: int = 1,
                    progress: bool = False) -> Path:
    """The dataset of a library at one SNR (dB), event ratio and dataset seed, built under
    ``data_root/<library>/<snr..._r..>_n<n_files>_seed<seed>`` unless it exists."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    spec = DatasetSpec(n_files=n_files, snr=snr, event_ratio=ratio, seed=seed)
    path = (Path(data_root) / library_name(sources, builtin)
            / f"{spec.default_dirname()}_n{n_files}_seed{seed}")
    if not (path / "manifest.json").exists():
        make_dataset(spec, path, sources=sources, builtin=builtin, jobs=jobs, progress=progress)
    return path


def measure(*, sources=None, builtin: str = DEFAULT_BUILTIN, n_files: int = 500,
            snrs=(10.0, 0.0, -10.0), ratios=(0.2, 1.0), seed: int = 0,
            data_root: Path = Path("data/difficulty"), jobs: int = 1, yamnet=None,
            progress: bool = False) -> dict:
    """The difficulty table of one library (see the module docstring).

    Returns
    -------
    dict
        ``library``, ``rows`` (one per SNR and ratio: total and per-class IoU), ``bands``
        and ``raw_logmel_event_accuracy`` (on SNR 0 / r 0.2, when that cell is measured).
    """
    from sedal.sed.evaluate import supervised
    from sedal.sed.features import ensure_store, load_dataset_manifest

    name = library_name(sources, builtin)
    rows, extra = [], {}
    for ratio in ratios:
        for snr in snrs:
            path = library_dataset(data_root, n_files=n_files, snr=snr, ratio=ratio,
                                   seed=seed, sources=sources, builtin=builtin, jobs=jobs,
                                   progress=progress)
            store = ensure_store(path, yamnet_path=yamnet, progress=progress)
            doc, _ = load_dataset_manifest(path)
            res = supervised(store, doc)
            rows.append({"snr": snr, "ratio": ratio, "total_iou": res["total_iou"],
                         "per_class_iou": res["per_class_iou"],
                         "converged": res["converged"], "dataset": str(path)})
            if snr == 0.0 and ratio == 0.2:
                extra["bands"] = dataset_band_energy(path)
                extra["raw_logmel_event_accuracy"] = raw_logmel_accuracy(store, doc)
    return {"library": name, "n_files": n_files, "seed": seed, "rows": rows, **extra}


def format_table(result: dict) -> str:
    """Markdown tables of a :func:`measure` result."""
    lines = [f"#### {result['library']} ({result['n_files']} files, dataset seed "
             f"{result['seed']})", "",
             "| SNR (dB) | r | total IoU | per class |", "|---|---|---|---|"]
    for r in result["rows"]:
        per = ", ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}"
                        for k, v in r["per_class_iou"].items())
        tot = "n/a" if r["total_iou"] is None else f"{r['total_iou']:.3f}"
        lines.append(f"| {r['snr']:+g} | {r['ratio']:g} | {tot} | {per} |")
    if "bands" in result:
        lines += ["", "Energy per band at SNR 0, r 0.2 (% of each class's event spans; "
                  "background-only files for *background*):", "",
                  "| | 0-0.5 kHz | 0.5-1 kHz | 1-2 kHz | 2-4 kHz | 4-8 kHz |",
                  "|---|---|---|---|---|---|"]
        for k, v in result["bands"].items():
            lines.append(f"| {k} | " + " | ".join(f"{100 * x:.0f}" for x in v) + " |")
        lines += ["", "Raw log-mel linear model, accuracy on held-out event segments: "
                  f"{100 * result['raw_logmel_event_accuracy']:.1f} %"]
    return "\n".join(lines) + "\n"


def write(result: dict, path: Path) -> None:
    """Write the result as JSON and the tables as Markdown next to it."""
    from sedal.core.fsutil import write_bytes_atomic

    path = Path(path)
    write_bytes_atomic(path.with_suffix(".json"),
                       (json.dumps(result, indent=1, sort_keys=True) + "\n").encode())
    write_bytes_atomic(path.with_suffix(".md"), format_table(result).encode())
