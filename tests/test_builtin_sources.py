import numpy as np
import pytest
import soundfile as sf

from sedal.generator import synth
from sedal.generator.builtin import BUILTINS, builtin_library
from sedal.generator.library import scan_library


def test_synthesis_is_deterministic_and_seeded():
    a = synth.dog_bark(0, 3)
    assert np.array_equal(a, synth.dog_bark(0, 3))
    assert not np.array_equal(a, synth.dog_bark(1, 3))


def test_clip_durations_follow_the_class_descriptions():
    sr = synth.SYNTH_SR
    for i in range(30):
        baby = synth.baby_cry(0, i)
        assert 1.0 <= len(baby) / sr <= 4.01
        meerkat = synth.meerkat_call(0, i)
        assert 0.05 <= len(meerkat) / sr <= 5 * 0.3 + 4 * 0.15 + 0.01
        dog = synth.dog_bark(0, i)
        assert 0.1 <= len(dog) / sr <= 3 * 0.6 + 2 * 0.35 + 0.01
        for x in (baby, meerkat, dog):
            assert x.dtype == np.float32 and np.max(np.abs(x)) <= 1.0


def _band_energy_fraction(x, sr, lo, hi):
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return spec[(f >= lo) & (f <= hi)].sum() / spec.sum()


def test_meerkat_calls_sit_in_their_band_and_cries_have_their_f0():
    """Meerkat calls in their band; the cries' pitch (YIN) within the generator's own f0
    range: mean f0 350-600 Hz, rise-fall contour +5-20 %, vibrato 2-5 %, jitter."""
    import librosa

    sr = synth.SYNTH_SR
    lo, hi = 350 * 0.95 * 0.97, 600 * 1.2 * 1.05 * 1.03  # contour, vibrato, jitter
    for i in range(10):
        assert _band_energy_fraction(synth.meerkat_call(0, i), sr, 1400, 4100) > 0.8
        cry = synth.baby_cry(0, i).astype(np.float64)
        f0 = librosa.yin(cry, fmin=150, fmax=1500, sr=sr, frame_length=1024, hop_length=256)
        rms = librosa.feature.rms(y=cry, frame_length=1024, hop_length=256)[0][:len(f0)]
        voiced = f0[:len(rms)][rms > 0.3 * rms.max()]
        assert lo <= np.median(voiced) <= hi, (i, np.median(voiced))
        # and not an octave off: most voiced frames sit inside the range
        assert np.mean((voiced >= lo) & (voiced <= hi)) > 0.8, i


@pytest.mark.parametrize("library", sorted(BUILTINS))
def test_builtin_library_layout_and_counts(library):
    conf = BUILTINS[library]
    root = builtin_library(0, library=library)
    lib = scan_library(root)
    assert lib.labels("foreground") == ["baby", "dog", "meerkat"]
    assert lib.labels("background") == ["park"]
    for label in lib.labels("foreground"):
        assert len(lib.clips["foreground"][label]) == conf["n_foreground"] >= 30
    assert len(lib.clips["background"]["park"]) == conf["n_background"] >= 8
    info = sf.info(str(root / lib.clips["background"]["park"][0]))
    assert info.duration == conf["bg_seconds"] >= 60
    assert info.subtype == "PCM_16" and info.channels == 1
    assert "SYNTHETIC" in (root / "README.txt").read_text()


def test_sources_builtin_command_writes_the_library(tmp_path):
    from sedal.generator.cli import main

    assert main(["sources", "builtin", "--builtin", "clean", "--out", str(tmp_path / "lib")]) == 0
    assert len(list((tmp_path / "lib" / "foreground" / "dog").glob("*.wav"))) \
        == BUILTINS["clean"]["n_foreground"]
