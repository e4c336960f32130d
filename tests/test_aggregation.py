"""Hand-computed cases for the aggregation strategies and the diversification."""

import numpy as np
import pytest

from sedal.benchmark.al import aggregation as agg
from sedal.benchmark.al import diversify as div
from sedal.sed.uncertainty import entropy

# three ragged files: [0.1, 0.9, 0.5], [0.3], [0.2, 0.2, 0.8, 0.4]
V = np.array([0.1, 0.9, 0.5, 0.3, 0.2, 0.2, 0.8, 0.4])
OFF = np.array([0, 3, 4, 8])


def test_entropy_base2():
    p = np.array([[0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], [0.5, 0.5, 0, 0]])
    assert entropy(p).tolist() == [2.0, 0.0, 1.0]


def test_mean_median_max_on_ragged_files():
    assert np.allclose(agg.mean(V, OFF), [0.5, 0.3, 0.4])
    assert np.allclose(agg.median(V, OFF), [0.5, 0.3, 0.3])  # even length: (0.2 + 0.4) / 2
    assert np.allclose(agg.maximum(V, OFF), [0.9, 0.3, 0.8])


def test_top_k_and_files_shorter_than_k():
    assert np.allclose(agg.top_k(V, OFF, 2), [0.7, 0.3, 0.6])
    assert np.allclose(agg.top_k(V, OFF, 1), [0.9, 0.3, 0.8])
    assert np.allclose(agg.top_k(V, OFF, 10), agg.mean(V, OFF))  # shorter than K: all
    with pytest.raises(ValueError, match="K must be >= 1"):
        agg.top_k(V, OFF, 0)


def test_ties_inside_a_file():
    v = np.array([0.5, 0.5, 0.5, 0.1])
    assert np.allclose(agg.top_k(v, np.array([0, 4]), 2), [0.5])
    assert np.allclose(agg.median(v, np.array([0, 4])), [0.5])


def test_all_zero_entropy_and_empty_files():
    z = np.zeros(5)
    off = np.array([0, 2, 2, 5])  # the middle file has no segment
    for fn in (agg.mean, agg.median, agg.maximum):
        assert fn(z, off).tolist() == [0.0, 0.0, 0.0]
    assert agg.top_k(z, off, 3).tolist() == [0.0, 0.0, 0.0]
    assert agg.mean_event(z, off, np.ones(5, bool)).tolist() == [0.0, 0.0, 0.0]


def test_mean_event_uses_only_event_segments():
    is_event = np.array([False, True, True, False, False, False, False, False])
    assert np.allclose(agg.mean_event(V, OFF, is_event), [0.7, 0.0, 0.0])


def test_file_scores_from_probabilities():
    probs = np.array([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25] * 4, [0.5, 0, 0.5, 0]])
    off = np.array([0, 2, 4])
    # entropies: [0, 1], [2, 1]
    assert np.allclose(agg.file_scores("top_k", probs, off, k=1), [1, 2])
    assert np.allclose(agg.file_scores("mean", probs, off), [0.5, 1.5])
    # argmax: seg0 bg, seg1 bg (tie -> first), seg2 bg, seg3 bg -> no event segments
    assert np.allclose(agg.file_scores("mean_event", probs, off), [0, 0])
    with pytest.raises(ValueError, match="unknown strategy"):
        agg.file_scores("nope", probs, off)


def test_rank_breaks_ties_randomly_but_reproducibly():
    s = np.array([0.5, 0.9, 0.5, 0.5])
    orders = {tuple(agg.rank(s, np.random.default_rng(i))) for i in range(30)}
    assert all(o[0] == 1 for o in orders) and len(orders) > 1
    assert (agg.rank(s, np.random.default_rng(7)) == agg.rank(s, np.random.default_rng(7))).all()


def test_offsets_are_validated():
    with pytest.raises(ValueError, match="offsets"):
        agg.mean(V, np.array([0, 3, 9]))


def test_farthest_first_traversal_by_hand():
    feats = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0], [5.0, 0.0]])
    # labelled: file 0 at x=0. Candidates 1 (x=1), 2 (x=10), 3 (x=11), 4 (x=5).
    got = div.farthest(np.array([1, 2, 3, 4]), feats, np.array([0]), 2)
    assert got.tolist() == [3, 4]  # 11 is farthest from 0; then 5 (dist 5) beats 10 (dist 1)


def test_select_methods():
    ranking = np.arange(10)
    assert div.select("none", ranking, 3).tolist() == [0, 1, 2]
    r = div.select("random_selection", ranking, 3, factor=2, rng=np.random.default_rng(0))
    assert len(r) == 3 and set(r) <= set(range(6))
    with pytest.raises(ValueError, match="unknown diversification"):
        div.select("bogus", ranking, 3)


@pytest.mark.parametrize("k", [1, 3, 10, 200])
def test_padded_and_sorted_paths_agree(k, monkeypatch):
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 30, 200)
    lengths[:3] = [0, 1, 2]
    off = np.concatenate([[0], np.cumsum(lengths)])
    v = rng.random(off[-1]).round(2)  # many ties
    fast_top, fast_med = agg.top_k(v, off, k), agg.median(v, off)
    monkeypatch.setattr(agg, "_padded", lambda *a, **kw: None)
    assert np.allclose(fast_top, agg.top_k(v, off, k))
    assert np.allclose(fast_med, agg.median(v, off))
    # brute force
    for f in range(len(lengths)):
        seg = np.sort(v[off[f]:off[f + 1]])[::-1]
        want = seg[:k].mean() if len(seg) else 0.0
        assert fast_top[f] == pytest.approx(want)
        assert fast_med[f] == pytest.approx(np.median(seg) if len(seg) else 0.0)
