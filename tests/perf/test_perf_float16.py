"""float16 feature storage against float32: total IoU must change by less than 0.005.

Run on a 500-file dataset (SNR 0, r 0.2; 100 test files) with ``tox -e perf``; the
difference is stored in the benchmark's ``extra_info`` and asserted (it is a quality
criterion, not a timing).
"""

import numpy as np

from sedal.sed.evaluate import fit_on_files, score
from sedal.sed.features import FeatureStore, ensure_store


def test_float16_changes_total_iou_by_less_than_0_005(benchmark, tmp_path, yamnet_model):
    from sedal.generator.dataset import make_dataset
    from sedal.generator.spec import DatasetSpec

    ds = tmp_path / "D500"
    make_dataset(DatasetSpec(n_files=500), ds, jobs=2)
    store = ensure_store(ds, model=yamnet_model)
    train = store.file_rows("train")
    half = np.asarray(store.embeddings).astype(np.float16)
    store16 = FeatureStore(store.path, {**store.meta, "dtype": "float16"}, half, store.offsets,
                           store.file_ids, store.splits, store.labels, store.times)

    def both():
        a = score(store, fit_on_files(store, train), with_f1=False)["total_iou"]
        b = score(store16, fit_on_files(store16, train), with_f1=False)["total_iou"]
        return a, b

    a, b = benchmark.pedantic(both, rounds=1, iterations=1)
    benchmark.extra_info.update({"iou_float32": a, "iou_float16": b, "diff": abs(a - b)})
    assert abs(a - b) < 0.005
