import pytest

from sedal.generator.errors import GeneratorError
from sedal.generator.spec import DatasetSpec


def test_defaults_follow_the_study():
    s = DatasetSpec()
    assert (s.n_files, s.duration, s.sr, s.event_ratio, s.snr) == (2500, 10.0, 16000, 0.2, 0.0)
    assert (s.n_train, s.n_test) == (2000, 500)
    assert s.n_with_events("train") == 400 and s.n_with_events("test") == 100
    assert s.default_dirname() == "snr0_r0.2"
    assert DatasetSpec(snr=-10, event_ratio=1.0).default_dirname() == "snr-10_r1"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"event_ratio": 1.5}, "ratio must be in [0, 1]"),
        ({"event_ratio": -0.1}, "ratio must be in [0, 1]"),
        ({"n_files": 0}, "n_files must be an integer in [1, 1000000]"),
        ({"max_event_duration": 12.0}, "longer than the file"),
        ({"snr_range": (5.0, -5.0)}, "snr range"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(GeneratorError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DatasetSpec(**kwargs)


def test_round_trip_and_toml(tmp_path):
    s = DatasetSpec(n_files=40, snr_range=(-5.0, 5.0), seed=3)
    assert DatasetSpec.from_dict(s.to_dict()) == s
    p = tmp_path / "spec.toml"
    p.write_text("[dataset]\nn_files = 40\nsnr_range = [-5.0, 5.0]\nseed = 3\n")
    assert DatasetSpec.from_toml(p) == s
    p.write_text("[dataset]\nn_filez = 4\n")
    with pytest.raises(GeneratorError, match="unknown dataset spec keys: n_filez"):
        DatasetSpec.from_toml(p)
