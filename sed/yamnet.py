"""The YAMNet network in TensorFlow, with segment embeddings for SED.

Architecture, as the original release (``yamnet.py``): a MobileNet-v1 body
(one 3x3 conv, then 13 depthwise-separable blocks; 'same' padding; ReLU;
BatchNorm with epsilon 1e-4, center and no scale), global average pooling
to a 1024-d embedding, and a dense 521-class sigmoid head.

For inference, each BatchNorm is folded into the preceding convolution
(``w' = w / sqrt(var + eps)``, ``b' = beta - mean / sqrt(var + eps)``), which is
the same function up to float rounding.

Segments
--------
``embed`` cuts a waveform into segments of ``segment`` seconds every ``hop``
seconds (0.12 s / 0.06 s by default, i.e. 12 log-mel frames every 6 frames).
Segment ``i`` spans ``[i * hop, i * hop + segment]`` seconds. A waveform of
``N`` samples at 16 kHz gives ``F = 1 + (N - 400) // 160`` frames and
``1 + (F - 12) // 6`` segments: **a 10 s file gives 998 frames and 165
segments** (the last ends at 9.96 s).

Engines: the network runs in TensorFlow (``engine="tf"``, the reference) or, for
embeddings, as a LiteRT flatbuffer converted from the very same TensorFlow function and run
by the LiteRT interpreter with its XNNPACK delegate (``engine="litert"``, the default when
``ai-edge-litert`` is installed; ``$SEDAL_ENGINE`` chooses). The two agree to a few 1e-6
(tested); LiteRT's results do not depend on its thread count.

Modes:

- ``patch`` (default): each segment's own 12 frames go through the network
  (a 12 x 64 input; the body's five stride-2 stages reduce it to 1 x 2).
- ``context``: a 0.96 s window (96 frames) centred on each segment goes
  through the network (zero-padded waveform at the edges), as YAMNet sees
  its own patches.
"""

from __future__ import annotations

import os

import numpy as np

from . import frontend
from .errors import SedError
from .grid import HOP_S, SEGMENT_S
from .weights import N_SEPARABLE, STRIDES, Weights, provenance_summary, resolve_weights

BN_EPS = 1e-4
MODES = ("patch", "context")
ENGINES = ("litert", "tf")
#: Patches per LiteRT invocation (the last batch is zero-padded: rows are independent).
LITE_BATCH = 512


def default_engine() -> str:
    """``$SEDAL_ENGINE`` if set, else ``litert`` when ``ai-edge-litert`` is importable,
    else ``tf``."""
    env = os.environ.get("SEDAL_ENGINE")
    if env:
        if env not in ENGINES:
            raise SedError(f"SEDAL_ENGINE must be one of {', '.join(ENGINES)}, got {env!r}")
        return env
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return "tf"
    return "litert"


def fold_batchnorm(w: Weights) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """YAMNet's layers as ``(kind, kernel, bias, stride)`` with BatchNorm folded in.

    ``kind`` is 'conv' (kernel [3,3,1,32]), 'dw' (depthwise, [3,3,C,1]) or 'pw'
    (pointwise, [1,1,Cin,Cout]).
    """
    a = w.arrays

    def fold(kernel, prefix, depthwise=False):
        scale = 1.0 / np.sqrt(a[f"{prefix}.var"].astype(np.float64) + BN_EPS)
        bias = a[f"{prefix}.beta"] - a[f"{prefix}.mean"] * scale
        k = kernel.astype(np.float64)
        k = k * (scale[None, None, :, None] if depthwise else scale)
        return k.astype(np.float32), bias.astype(np.float32)

    layers = [("conv", *fold(a["l0.conv"], "l0.bn"), STRIDES[0])]
    for k in range(1, N_SEPARABLE + 1):
        layers.append(("dw", *fold(a[f"l{k}.dw"], f"l{k}.dw_bn", depthwise=True), STRIDES[k]))
        layers.append(("pw", *fold(a[f"l{k}.pw"], f"l{k}.pw_bn"), 1))
    return layers


class YAMNet:
    """YAMNet with real weights: class scores and segment embeddings.

    Parameters
    ----------
    weights : Weights
        From :func:`sedal.sed.weights.resolve_weights`.
    batch_size : int
        Segments per TensorFlow forward pass (memory vs speed; results do not depend on it).
    engine : {'litert', 'tf'}, optional
        What runs the network for embeddings (default :func:`default_engine`); class scores
        always come from TensorFlow.
    threads : int, optional
        LiteRT interpreter threads (default: the CPUs this process may use).

    Examples
    --------
    >>> model = load_yamnet()                                   # doctest: +SKIP
    >>> model.embed(np.zeros(160000, np.float32), 16000).shape  # doctest: +SKIP
    (165, 1024)
    """

    def __init__(self, weights: Weights, batch_size: int = 256, *, engine: str | None = None,
                 threads: int | None = None):
        from .tfutil import import_tf

        tf = import_tf()
        self._tf = tf
        self.engine = engine or default_engine()
        if self.engine not in ENGINES:
            raise SedError(f"unknown engine {self.engine!r}; choose {' or '.join(ENGINES)}")
        self.threads = int(threads or len(os.sched_getaffinity(0)))
        self._lite: dict[int, tuple] = {}
        self.weights = weights
        self.class_names = list(weights.class_names)
        self.provenance = provenance_summary(weights)
        self.batch_size = int(batch_size)
        self._layers = [(kind, tf.constant(k), tf.constant(b), s)
                        for kind, k, b, s in fold_batchnorm(weights)]
        self._head_w = tf.constant(weights.arrays["logits.kernel"])
        self._head_b = tf.constant(weights.arrays["logits.bias"])
        self._forward = tf.function(self._forward_impl, reduce_retracing=True)
        self._mel_matrix = tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins=frontend.MEL_BANDS, num_spectrogram_bins=frontend.FFT_LENGTH // 2 + 1,
            sample_rate=frontend.SAMPLE_RATE, lower_edge_hertz=frontend.MEL_MIN_HZ,
            upper_edge_hertz=frontend.MEL_MAX_HZ)
        self._log_mel_batch = tf.function(self._log_mel_impl, reduce_retracing=True)

    def _log_mel_impl(self, waves):
        tf = self._tf
        mag = tf.abs(tf.signal.stft(waves, frame_length=frontend.WINDOW_SAMPLES,
                                    frame_step=frontend.HOP_SAMPLES,
                                    fft_length=frontend.FFT_LENGTH))
        return tf.math.log(tf.matmul(mag, self._mel_matrix) + frontend.LOG_OFFSET)

    def log_mel_many(self, waves: list[np.ndarray], batch: int = 64) -> list[np.ndarray]:
        """Log-mel frames of many 16 kHz waveforms; equal lengths are computed as one batch
        (the same values as :meth:`log_mel`, several times faster for 10 s files)."""
        out: list[np.ndarray | None] = [None] * len(waves)
        by_len: dict[int, list[int]] = {}
        for i, w in enumerate(waves):
            by_len.setdefault(len(w), []).append(i)
        for n, idx in by_len.items():
            if n < frontend.WINDOW_SAMPLES:
                for i in idx:
                    out[i] = np.zeros((0, frontend.MEL_BANDS), np.float32)
                continue
            for j in range(0, len(idx), batch):
                part = idx[j:j + batch]
                stack = np.stack([np.asarray(waves[i], np.float32) for i in part])
                mels = self._log_mel_batch(self._tf.constant(stack)).numpy()
                for k, i in enumerate(part):
                    out[i] = mels[k]
        return out

    def _forward_impl(self, x):
        tf = self._tf
        net = x[..., None]
        for kind, k, b, s in self._layers:
            if kind == "dw":
                net = tf.nn.depthwise_conv2d(net, k, [1, s, s, 1], "SAME")
            else:
                net = tf.nn.conv2d(net, k, s, "SAME")
            net = tf.nn.relu(net + b)
        emb = tf.reduce_mean(net, axis=[1, 2])
        scores = tf.sigmoid(tf.matmul(emb, self._head_w) + self._head_b)
        return emb, scores

    @property
    def engine_id(self) -> str:
        """The engine and its version (recorded in feature stores: part of their identity)."""
        if self.engine == "litert":
            from importlib.metadata import version

            return f"litert-{version('ai-edge-litert')}-tf-{self._tf.__version__}"
        return f"tf-{self._tf.__version__}"

    def _lite_interpreter(self, frames: int):
        """A LiteRT interpreter of the embedding function for ``frames``-frame inputs."""
        if frames not in self._lite:
            from ai_edge_litert.interpreter import Interpreter

            from .tfutil import quiet_stderr

            tf = self._tf
            module = tf.Module()
            module.embed = tf.function(lambda x: self._forward_impl(x)[0])
            fn = module.embed.get_concrete_function(
                tf.TensorSpec([None, frames, frontend.MEL_BANDS], tf.float32))
            with quiet_stderr():
                blob = tf.lite.TFLiteConverter.from_concrete_functions([fn], module).convert()
                it = Interpreter(model_content=blob, num_threads=self.threads)
                inp = it.get_input_details()[0]["index"]
                out = it.get_output_details()[0]["index"]
                it.resize_tensor_input(inp, [LITE_BATCH, frames, frontend.MEL_BANDS])
                it.allocate_tensors()
            self._lite[frames] = (it, inp, out)
        return self._lite[frames]

    def _run_lite(self, patches: np.ndarray) -> np.ndarray:
        """Embeddings of ``patches`` [n, frames, 64] by the LiteRT interpreter."""
        n, frames = patches.shape[0], patches.shape[1]
        out = np.empty((n, 1024), np.float32)
        if n == 0:
            return out
        it, inp, outp = self._lite_interpreter(frames)
        buf = np.zeros((LITE_BATCH, frames, frontend.MEL_BANDS), np.float32)
        for i in range(0, n, LITE_BATCH):
            m = min(LITE_BATCH, n - i)
            buf[:m] = patches[i:i + m]
            if m < LITE_BATCH:
                buf[m:] = 0.0
            it.set_tensor(inp, buf)
            it.invoke()
            out[i:i + m] = it.get_tensor(outp)[:m]
        return out

    def _run(self, patches: np.ndarray, want: str) -> np.ndarray:
        """Forward ``patches`` [n, frames, 64] in fixed-size batches."""
        if want == "emb" and self.engine == "litert":
            return self._run_lite(patches)
        n = patches.shape[0]
        dim = 1024 if want == "emb" else len(self.class_names)
        out = np.empty((n, dim), np.float32)
        for i in range(0, n, self.batch_size):
            chunk = np.ascontiguousarray(patches[i:i + self.batch_size], dtype=np.float32)
            emb, scores = self._forward(self._tf.constant(chunk))
            out[i:i + len(chunk)] = (emb if want == "emb" else scores).numpy()
        return out

    # -- public API ------------------------------------------------------------
    @staticmethod
    def prepare_waveform(waveform, sr: int) -> np.ndarray:
        """Mono float32 at 16 kHz (down-mixed and resampled if needed)."""
        x = np.asarray(waveform, dtype=np.float64)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if x.ndim != 1:
            raise SedError("waveform must be 1-d (mono) or [samples, channels]")
        if not np.all(np.isfinite(x)):
            raise SedError("waveform holds NaN or infinite samples")
        if sr != frontend.SAMPLE_RATE:
            from fractions import Fraction

            from scipy.signal import resample_poly

            f = Fraction(frontend.SAMPLE_RATE, int(sr))
            x = resample_poly(x, f.numerator, f.denominator)
        return x.astype(np.float32)

    def log_mel(self, waveform, sr: int = frontend.SAMPLE_RATE) -> np.ndarray:
        """Log-mel frames [n_frames, 64] (10 ms hop)."""
        x = self.prepare_waveform(waveform, sr)
        if len(x) < frontend.WINDOW_SAMPLES:
            return np.zeros((0, frontend.MEL_BANDS), np.float32)
        return frontend.log_mel(x, self._tf)

    def class_scores(self, waveform, sr: int = frontend.SAMPLE_RATE) -> np.ndarray:
        """AudioSet class scores [n_patches, 521] over 0.96 s patches, 0.48 s hop.

        The waveform is padded as in the original (at least one patch; a
        partial trailing patch is completed with zeros).
        """
        x = frontend.pad_for_patches(self.prepare_waveform(waveform, sr))
        mel = frontend.log_mel(x, self._tf)
        patches = frontend.frame(mel, frontend.PATCH_FRAMES, frontend.PATCH_HOP_FRAMES)
        return self._run(patches, "scores")

    @staticmethod
    def segment_frames(segment: float, hop: float) -> tuple[int, int]:
        """(frames per segment, frames per hop) for times in seconds (multiples of 10 ms)."""
        sf_, hf = round(segment * frontend.FRAME_RATE), round(hop * frontend.FRAME_RATE)
        if sf_ < 1 or hf < 1 or abs(sf_ / frontend.FRAME_RATE - segment) > 1e-9 \
                or abs(hf / frontend.FRAME_RATE - hop) > 1e-9:
            raise SedError("segment and hop must be positive multiples of 0.01 s")
        return sf_, hf

    @staticmethod
    def n_segments(n_samples: int, segment: float = SEGMENT_S, hop: float = HOP_S) -> int:
        """Segments of a 16 kHz waveform of ``n_samples`` (165 for 10 s)."""
        sf_, hf = YAMNet.segment_frames(segment, hop)
        f = frontend.n_frames(n_samples)
        return 0 if f < sf_ else 1 + (f - sf_) // hf

    def segment_patches(self, x16k: np.ndarray, segment: float = SEGMENT_S, hop: float = HOP_S,
                        mode: str = "patch", mel: np.ndarray | None = None) -> np.ndarray:
        """Network inputs [n_segments, frames, 64] for a 16 kHz float32 waveform
        (``mel``: its precomputed log-mel frames, patch mode only)."""
        if mode not in MODES:
            raise SedError(f"unknown embedding mode {mode!r}; choose from {', '.join(MODES)}")
        sf_, hf = self.segment_frames(segment, hop)
        n = self.n_segments(len(x16k), segment, hop)
        if n == 0:
            return np.zeros((0, sf_ if mode == "patch" else frontend.PATCH_FRAMES,
                             frontend.MEL_BANDS), np.float32)
        if mode == "patch":
            if mel is None:
                mel = frontend.log_mel(x16k, self._tf)
            return frontend.frame(mel, sf_, hf)[:n]
        # context: 96 frames centred on each segment's centre
        half = (frontend.PATCH_FRAMES - sf_) // 2
        pad = half * frontend.HOP_SAMPLES
        mel = frontend.log_mel(np.pad(x16k, (pad, pad + frontend.PATCH_FRAMES
                                             * frontend.HOP_SAMPLES)), self._tf)
        return frontend.frame(mel, frontend.PATCH_FRAMES, hf)[:n]

    def embed(self, waveform, sr: int = frontend.SAMPLE_RATE, segment: float = SEGMENT_S,
              hop: float = HOP_S, mode: str = "patch") -> np.ndarray:
        """Segment embeddings [n_segments, 1024] (float32).

        Parameters
        ----------
        waveform : array
            Mono (or [samples, channels]) audio at ``sr`` Hz.
        sr : int
            Sample rate in Hz; other rates are resampled to 16 kHz.
        segment, hop : float
            Segment length and hop in seconds (multiples of 0.01 s).
        mode : {'patch', 'context'}
            See the module docstring.
        """
        x = self.prepare_waveform(waveform, sr)
        return self._run(self.segment_patches(x, segment, hop, mode), "emb")

    def embed_patches(self, patches: np.ndarray) -> np.ndarray:
        """Embeddings of prepared network inputs [n, frames, 64]."""
        return self._run(patches, "emb")


def load_yamnet(path=None, *, batch_size: int = 256, engine: str | None = None,
                threads: int | None = None) -> YAMNet:
    """Resolve the weights (see :mod:`sedal.sed.weights`) and build the model."""
    return YAMNet(resolve_weights(path), batch_size=batch_size, engine=engine, threads=threads)
