"""Odd audio folders: what ``scan_audio`` (the one scanner of query, detect and annotate)
lists, and what it leaves out with a reason."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from sedal.benchmark.practice.collection import printable_name, scan_audio


def _wav(path, n: int, sr: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sf.write(str(path), (0.1 * rng.standard_normal(n)).astype(np.float32), sr)


def test_a_recording_shorter_than_one_segment_is_skipped_not_ranked(tmp_path):
    _wav(tmp_path / "ok.wav", 16000)
    _wav(tmp_path / "one_sample.wav", 1)
    _wav(tmp_path / "just_short.wav", 1919)  # 0.12 s at 16 kHz is 1920 samples
    recs, skipped = scan_audio(tmp_path)
    assert [r.rel for r in recs] == ["ok.wav"]
    why = dict(skipped)
    assert set(why) == {"one_sample.wav", "just_short.wav"}
    assert "shorter than one 0.12 s segment (1 samples)" in why["one_sample.wav"]


def test_a_control_character_in_a_file_name_is_skipped_and_never_written_raw(tmp_path):
    _wav(tmp_path / "ok.wav", 16000)
    _wav(tmp_path / "evil\nrow.wav", 16000)
    _wav(tmp_path / "tab\there.wav", 16000)
    recs, skipped = scan_audio(tmp_path)
    assert [r.rel for r in recs] == ["ok.wav"]
    names = [rel for rel, _ in skipped]
    assert sorted(names) == ["evil\\nrow.wav", "tab\\there.wav"]
    assert all(n.isprintable() for n in names)
    assert all("control character" in why for _, why in skipped)


def test_printable_name_escapes_only_what_is_not_printable():
    assert printable_name("Hündin 1.wav") == "Hündin 1.wav"
    assert printable_name("a\x00b\u2028c") == "a\\x00b\\u2028c"
