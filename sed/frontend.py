"""YAMNet's log-mel front end, as in the original release (``features.py``).

16 kHz mono waveform -> magnitude STFT (25 ms periodic-Hann window = 400
samples, 10 ms hop = 160 samples, FFT 512) -> 64 mel bands, 125-7500 Hz
(``tf.signal.linear_to_mel_weight_matrix``, HTK mel scale) -> ``log(mel + 0.001)``.
One log-mel frame per 10 ms.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
FRAME_RATE = SAMPLE_RATE / HOP_SAMPLES  # 100 frames per second
PATCH_FRAMES = 96  # 0.96 s
PATCH_HOP_FRAMES = 48  # 0.48 s


def n_frames(n_samples: int) -> int:
    """Number of log-mel frames of a waveform of ``n_samples`` (no padding)."""
    if n_samples < WINDOW_SAMPLES:
        return 0
    return 1 + (n_samples - WINDOW_SAMPLES) // HOP_SAMPLES


def log_mel(waveform, tf=None):
    """Log-mel spectrogram [n_frames, 64] of a 16 kHz waveform (float32).

    Computed with TensorFlow's own STFT and mel matrix, exactly as YAMNet's
    ``waveform_to_log_mel_spectrogram_patches``.
    """
    if tf is None:
        from .tfutil import import_tf

        tf = import_tf()
    wave = tf.convert_to_tensor(np.asarray(waveform, dtype=np.float32))
    mag = tf.abs(tf.signal.stft(wave, frame_length=WINDOW_SAMPLES, frame_step=HOP_SAMPLES,
                                fft_length=FFT_LENGTH))
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=MEL_BANDS, num_spectrogram_bins=FFT_LENGTH // 2 + 1,
        sample_rate=SAMPLE_RATE, lower_edge_hertz=MEL_MIN_HZ, upper_edge_hertz=MEL_MAX_HZ)
    return tf.math.log(tf.matmul(mag, mel_matrix) + LOG_OFFSET).numpy()


def pad_for_patches(waveform: np.ndarray) -> np.ndarray:
    """Zero-pad as YAMNet's ``pad_waveform``: at least one whole 0.96 s patch,
    and any partial trailing patch completed."""
    min_samples = int((0.96 + 0.025 - 0.010) * SAMPLE_RATE)
    n = len(waveform)
    pad = max(0, min_samples - n)
    n = max(n, min_samples)
    hop_samples = int(0.48 * SAMPLE_RATE)
    after = n - min_samples
    hops = int(np.ceil(after / hop_samples))
    pad += hop_samples * hops - after
    return np.pad(waveform, (0, pad))


def frame(x: np.ndarray, length: int, step: int) -> np.ndarray:
    """Windows ``x[i*step : i*step+length]`` along axis 0 (a strided view); ``length`` and
    ``step`` count rows of ``x`` (samples or frames). (``hop`` in sedal is always seconds.)"""
    n = 1 + (x.shape[0] - length) // step if x.shape[0] >= length else 0
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, length) + x.shape[1:],
        strides=(x.strides[0] * step,) + x.strides, writeable=False)
