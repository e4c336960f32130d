import numpy as np
import pytest

from sedal.sed.labels import segment_labels
from sedal.sed.model import SegmentClassifier
from sedal.sed.postprocess import decode, segments_to_events, smooth

C = ["background", "baby", "dog"]


def test_median_filter_removes_single_segment_blips():
    p = np.zeros((5, 3))
    p[:, 0] = 1
    p[2] = [0, 0, 1]  # one-segment dog blip
    assert np.array_equal(np.argmax(smooth(p, 3), 1), [0, 0, 0, 0, 0])
    p[3] = [0, 0, 1]  # two segments survive
    assert np.array_equal(np.argmax(smooth(p, 3), 1), [0, 0, 2, 2, 0])


def test_decode_filters_within_files_only():
    p = np.zeros((4, 3))
    p[:, 0] = 1
    p[1] = p[2] = [0, 1, 0]
    # Split between files 0:[0,1] and 1:[2,3]: each blip is at an edge and is kept by 'nearest'.
    out = decode(p, np.array([0, 2, 4]), 3)
    assert np.array_equal(out, [0, 1, 1, 0])
    out = decode(p, np.array([0, 4]), 3)
    assert np.array_equal(out, [0, 1, 1, 0])


def test_runs_of_equal_segments_become_events_on_the_grid():
    ev = segments_to_events(np.array([1, 1, 0, 2, 2, 2]), C, 0.12, 0.06)
    assert ev == [(0.03, 0.15, "baby"), (0.21, 0.39, "dog")]
    assert segments_to_events(np.array([0, 0]), C) == []


def test_a_segment_is_labelled_when_an_event_covers_half_of_it():
    # segment i spans [0.06 i, 0.06 i + 0.12]
    lab = segment_labels([(0.0, 0.06, "baby")], 2, C)
    assert lab.tolist() == [1, 0]  # exactly 50 % of segment 0 -> baby
    lab = segment_labels([(0.0, 0.059, "baby")], 1, C)
    assert lab.tolist() == [0]  # just under 50 %
    # Two overlapping events each covering >= 50 %: larger coverage wins.
    lab = segment_labels([(0.0, 0.12, "dog"), (0.0, 0.07, "baby")], 1, C)
    assert lab.tolist() == [2]
    # Exact tie -> the class listed first.
    lab = segment_labels([(0.0, 0.06, "dog"), (0.06, 0.12, "baby")], 1, C)
    assert lab.tolist() == [1]  # both cover exactly 50 %: baby is listed first
    lab = segment_labels([(0.0, 0.12, "dog"), (0.0, 0.12, "baby")], 1, C)
    assert lab.tolist() == [1]
    with pytest.raises(ValueError, match="unknown class"):
        segment_labels([(0, 1, "cat")], 3, C)


def test_classifier_returns_every_class_column():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    y = np.array([0] * 30 + [2] * 30)
    X[y == 2] += 2
    clf = SegmentClassifier(4).fit(X, y)
    p = clf.predict_proba(X)
    assert p.shape == (60, 4)
    assert np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.all(p[:, 1] == 0) and np.all(p[:, 3] == 0)
    assert (p[y == 2, 2] > 0.5).mean() > 0.9 and (p[y == 0, 0] > 0.5).mean() > 0.9


def test_one_class_training_set():
    X = np.ones((5, 3), np.float32)
    p = SegmentClassifier(4).fit(X, np.zeros(5, int)).predict_proba(np.zeros((2, 3)))
    assert p.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]


def test_warm_start_reaches_the_same_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 16)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    a = SegmentClassifier(3, max_iter=1000, tol=1e-8).fit(X[:300], y[:300])
    b = SegmentClassifier(3, max_iter=1000, tol=1e-8).fit(X, y, warm_start_from=a)
    c = SegmentClassifier(3, max_iter=1000, tol=1e-8).fit(X, y)
    assert np.abs(b.predict_proba(X) - c.predict_proba(X)).max() < 1e-3


@pytest.mark.parametrize("n_classes_present", [2, 3])
def test_classifier_matches_a_plain_sklearn_pipeline(n_classes_present):
    """Same model as StandardScaler + LogisticRegression on all columns (constant ones too)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40)).astype(np.float32)
    X[:, 10:35] = 0.0  # dead ReLU dimensions, as in YAMNet patch embeddings
    y = rng.integers(0, n_classes_present, 300)
    X[:, 0] += y
    ours = SegmentClassifier(4, max_iter=1000, tol=1e-10).fit(X, y)
    sc = StandardScaler().fit(X)
    ref = LogisticRegression(max_iter=1000, tol=1e-10).fit(sc.transform(X), y)
    Xt = rng.normal(size=(50, 40)).astype(np.float32)  # test rows may be non-zero there
    want = np.zeros((50, 4))
    want[:, ref.classes_] = ref.predict_proba(sc.transform(Xt))
    assert np.abs(ours.predict_proba(Xt) - want).max() < 2e-3  # solver tolerance


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 7])
def test_smoothing_many_files_at_once_gives_each_files_own_median_filter(kernel):
    from sedal.sed.postprocess import decode, smooth, smooth_files

    rng = np.random.default_rng(kernel)
    lengths = [0, 1, 2, 3, 165, 4, 0, 11]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    probs = rng.random((offsets[-1], 4)).astype(np.float32)
    probs[5:9] = 0.5  # ties
    got = smooth_files(probs, offsets, kernel)
    want = np.concatenate([smooth(probs[a:b], kernel) for a, b in
                           zip(offsets[:-1], offsets[1:])])
    assert got.dtype == probs.dtype and np.array_equal(got, want)
    assert np.array_equal(decode(probs, offsets, kernel),
                          np.concatenate([np.argmax(smooth(probs[a:b], kernel), axis=1)
                                          for a, b in zip(offsets[:-1], offsets[1:])]))


def test_smoothing_many_files_refuses_offsets_that_do_not_cover_the_rows():
    from sedal.sed.postprocess import smooth_files

    probs = np.zeros((5, 2))
    for bad in ([0, 3], [1, 5], [0, 4, 3, 5]):
        with pytest.raises(ValueError, match="offsets"):
            smooth_files(probs, np.array(bad), 3)
    with pytest.raises(ValueError, match="n_segments"):
        smooth_files(np.zeros(5), np.array([0, 5]), 3)
