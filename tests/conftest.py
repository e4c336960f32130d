"""Shared fixtures: an isolated sedal cache and small generated datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SOURCES = REPO.parent / "shared" / "real-sources"


@pytest.fixture(scope="session", autouse=True)
def sedal_cache(tmp_path_factory):
    """Point SEDAL_CACHE at a per-session folder (unless the caller set one)."""
    if "SEDAL_TEST_CACHE" in os.environ:
        path = Path(os.environ["SEDAL_TEST_CACHE"])
    else:
        path = tmp_path_factory.mktemp("sedal-cache")
    old = os.environ.get("SEDAL_CACHE")
    os.environ["SEDAL_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SEDAL_CACHE", None)
    else:
        os.environ["SEDAL_CACHE"] = old


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """The issue's reference dataset: 100 files, SNR 0, r 0.2, seed 7."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    out = tmp_path_factory.mktemp("ds") / "X"
    make_dataset(DatasetSpec(n_files=100, snr=0.0, event_ratio=0.2, seed=7), out)
    return out


@pytest.fixture(scope="session")
def real_sources():
    if not REAL_SOURCES.is_dir():
        pytest.skip("../shared/real-sources is not present")
    return REAL_SOURCES


@pytest.fixture(scope="session")
def yamnet_model():
    """YAMNet with real weights, obtained through the resolver on this machine."""
    from sedal.sed.yamnet import load_yamnet

    return load_yamnet()


@pytest.fixture(scope="session")
def al_dataset(yamnet_model, tmp_path_factory):
    """A 300-file built-in dataset with its feature store (for AL runs)."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec
    from sedal.sed.features import ensure_store

    ds = tmp_path_factory.mktemp("al") / "D300"
    make_dataset(DatasetSpec(n_files=300, seed=11), ds, jobs=2)
    ensure_store(ds, model=yamnet_model)
    return ds


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A 10-file built-in dataset (8 train, 2 test, one test file with events)."""
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    out = tmp_path_factory.mktemp("tiny") / "T"
    make_dataset(DatasetSpec(n_files=10, snr=0.0, event_ratio=0.5, seed=3), out)
    return out
