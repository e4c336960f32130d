"""Import TensorFlow quietly (its C++ start-up chatter goes to the null device)."""

from __future__ import annotations

import contextlib
import os
import sys


def verbose() -> bool:
    """Whether native libraries may talk (``TF_CPP_MIN_LOG_LEVEL=0``, as ``--verbose`` sets)."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"


@contextlib.contextmanager
def quiet_stderr():
    """Send what native code writes to file descriptor 2 to the null device meanwhile
    (TensorFlow's and LiteRT's start-up chatter), unless :func:`verbose`."""
    if verbose():
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. some embedded runners)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tf():
    """Return the ``tensorflow`` module, imported with its start-up logging silenced,
    unless :func:`verbose`."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr():
        import tensorflow as tf
    if not verbose():
        tf.get_logger().setLevel("ERROR")
    return tf
