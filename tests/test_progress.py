"""Long work reports its stages: a bar on a terminal, one line per stage elsewhere."""

import io
import os
import subprocess
import sys
from pathlib import Path

from sedal.core.progress import progress_bar, stage, track

ROOT = Path(__file__).resolve().parents[1]


def test_a_non_terminal_gets_one_line_at_each_end_of_a_stage():
    buf = io.StringIO()
    bar = progress_bar(3, desc="rendering", unit="file", stream=buf)
    for _ in range(3):
        bar.update(1)
    bar.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "rendering: started (3 files)"
    assert lines[1].startswith("rendering: done, 3 files in ")
    assert len(lines) == 2 and "\r" not in buf.getvalue()


def test_quiet_prints_nothing(capsys):
    assert list(track([1, 2], desc="x", enabled=False)) == [1, 2]
    with stage("y", enabled=False):
        pass
    assert capsys.readouterr().err == ""


def test_sedgen_make_to_a_file_prints_stage_lines_and_no_tensorflow_noise(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    with open(tmp_path / "err", "w") as err:
        proc = subprocess.run([sys.executable, "-m", "sedal.generator.cli", "make", "--n-files",
                               "10", "--ratio", "0.5", "--builtin", "clean", "--out",
                               str(tmp_path / "d")], stdout=subprocess.PIPE, stderr=err,
                              env=env, cwd=ROOT, text=True, check=False)
    text = (tmp_path / "err").read_text()
    assert proc.returncode == 0, text
    assert "rendering: started (10 files)" in text
    assert "rendering: done, 10 files in" in text
    assert "\r" not in text
    for noise in ("tensorflow", "absl", "cuda", "E0000", "W0000", "I0000", "oneDNN"):
        assert noise.lower() not in text.lower()


def test_sedbench_embed_to_a_file_prints_stage_lines_and_no_tensorflow_noise(small_dataset,
                                                                           tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(small_dataset, ds, ignore=shutil.ignore_patterns("features*", ".features*"))
    with open(tmp_path / "err", "w") as err:
        proc = subprocess.run([sys.executable, "-m", "sedal.benchmark.cli", "supervised",
                               str(ds)], stdout=subprocess.PIPE, stderr=err, env=env,
                              cwd=ROOT, text=True, check=False)
    text = (tmp_path / "err").read_text()
    assert proc.returncode == 0, text
    assert "training and scoring: started" in text
    assert "\r" not in text
    for noise in ("E0000", "W0000", "I0000", "cuda", "absl", "oneDNN"):
        assert noise.lower() not in text.lower(), text
