"""Import TensorFlow quietly (its C++ start-up chatter goes to the null device)."""

from __future__ import annotations

import os
import sys


def import_tf():
    """Return the ``tensorflow`` module, imported with its start-up logging silenced,
    unless ``TF_CPP_MIN_LOG_LEVEL`` is set to ``0`` (what ``sedbench --verbose`` does)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        import tensorflow as tf

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. some embedded runners)
        import tensorflow as tf

        return tf
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")
    return tf
