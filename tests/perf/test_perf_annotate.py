"""Re-ranking the annotation queue after a save, 1000 recordings (goal: 2 s or less).

Timed: the refit on every labelled recording (50 files of 10 s, warm-started from the
previous model as in the app) and the re-ranking of the other 950 (entropies, top-K
aggregation, predicted classes), i.e. what happens between a save and the new queue; the
cross-validated learning-curve point is computed after the queue is published and is not
part of it. Synthetic embeddings in an on-disk embedding store stand in for YAMNet's: 166
segments per file, 205 active columns out of each 1024 (as patch embeddings have; the field
preset reads two such stores), classes shifted in a few columns.
"""

import threading
from pathlib import Path

import numpy as np
import pytest

from sedal.benchmark.practice.annotate import AnnotationSession
from sedal.benchmark.practice.collection import CollectionFeatures, Recording
from sedal.benchmark.practice.embedding_store import EmbeddingStore
from sedal.benchmark.practice.query import POSTPROCESS
from sedal.sed.detector import PRESETS

N_FILES, N_LABELLED, N_SEG, ACTIVE = 1000, 50, 166, 205


def _session(detector: str, root: Path) -> AnnotationSession:
    rng = np.random.default_rng(0)
    s = AnnotationSession.__new__(AnnotationSession)
    s.classes = ["background", "baby", "dog", "meerkat"]
    s.detector, s.strategy, s.k, s.random_state = PRESETS[detector], "top_k", 10, 0
    s.recordings, s.events, s._sha = {}, {}, {}
    stores = [EmbeddingStore(root, "0" * 64, m) for m in s.detector.modes]
    cols = [rng.choice(1024, ACTIVE, replace=False) for _ in stores]
    writers = [st.writer() for st in stores]
    for i in range(N_FILES):
        rel = f"r{i:04d}.wav"
        s.recordings[rel] = Recording(rel, rel[:-4], Path(rel), 10.0)
        s._sha[rel] = f"{i:064x}"
        for m, w in enumerate(writers):
            X = np.zeros((N_SEG, 1024), np.float32)
            X[:, cols[m]] = np.abs(rng.standard_normal((N_SEG, ACTIVE), np.float32))
            if i < N_LABELLED and m == 0:
                c = 1 + i % 3
                X[40:70, cols[m][c * 5:c * 5 + 5]] += 1.5
            w.add(s._sha[rel], X)
        if i < N_LABELLED:
            s.events[rel] = [(40 * 0.06, 70 * 0.06 + 0.06, s.classes[1 + i % 3])]
    for w in writers:
        w.flush()
    s._feats = CollectionFeatures.from_stores(stores, s.detector)
    s._lock = threading.RLock()
    s.version, s.model_version = 0, -1
    s.det, s.post, s.order, s.scores, s.predicted, s.curve = None, dict(POSTPROCESS), [], {}, {}, []
    s.refit(cross_validation=False)
    return s


@pytest.mark.parametrize("detector", ["field", "paper"])
def test_rerank_after_a_save_1000_recordings(benchmark, detector, tmp_path):
    s = _session(detector, tmp_path)

    def save_and_rerank():
        rel = s.order[0]
        s.events[rel] = []
        s.version += 1
        return s.refit(cross_validation=False)

    out = benchmark.pedantic(save_and_rerank, rounds=3, iterations=1)
    assert out["labelled"] > N_LABELLED and len(s.order) == N_FILES - out["labelled"]
    benchmark.extra_info["recordings"] = N_FILES
