"""The query strategies beyond the study's: each on a constructed pool whose right answer is
known, and each in a real AL run (deterministic)."""

from __future__ import annotations

import numpy as np
import pytest

from sedal.benchmark.al import strategies as S
from sedal.benchmark.cli import main


def _pool(*files):
    """Segment probabilities of files (lists of rows), concatenated, and their offsets."""
    probs = np.array([row for f in files for row in f], float)
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in files])])
    return probs, offsets


CONFIDENT = [0.97, 0.01, 0.01, 0.01]


def test_least_confidence_picks_the_file_with_the_least_confident_segment():
    probs, off = _pool([CONFIDENT] * 3,
                       [CONFIDENT, [0.4, 0.3, 0.2, 0.1], CONFIDENT],  # max p 0.4
                       [CONFIDENT, [0.6, 0.4, 0.0, 0.0], CONFIDENT])  # max p 0.6
    top = S.extra_file_scores("least_confidence_top_k", probs, off, k=1)
    assert np.argmax(top) == 1 and top[1] == pytest.approx(0.6)
    mean = S.extra_file_scores("least_confidence_mean", probs, off)
    assert mean[1] == pytest.approx((0.03 * 2 + 0.6) / 3)


def test_margin_picks_the_file_whose_top_two_classes_are_closest():
    probs, off = _pool([CONFIDENT, [0.5, 0.2, 0.2, 0.1]],   # margin 0.3
                       [CONFIDENT, [0.45, 0.44, 0.1, 0.01]],  # margin 0.01: this one
                       [CONFIDENT, [0.1, 0.6, 0.2, 0.1]])   # margin 0.4
    s = S.extra_file_scores("margin_top_k", probs, off, k=1)
    assert np.argmax(s) == 1 and s[1] == pytest.approx(0.99)
    assert S.margin_uncertainty(np.array([[0.5, 0.5, 0, 0], [1, 0, 0, 0]])).tolist() == [1, 0]


def test_event_presence_ranks_by_the_most_event_like_segment_not_by_uncertainty():
    probs, off = _pool([[0.5, 0.5, 0, 0]] * 4,        # very uncertain, event 0.5 at most
                       [CONFIDENT, [0.05, 0.9, 0.05, 0]],  # a confident event: 0.95
                       [CONFIDENT] * 4)
    s = S.extra_file_scores("event_presence", probs, off)
    assert np.argsort(-s).tolist() == [1, 0, 2]
    # the entropy family ranks the uncertain file first: the two ask different questions
    from sedal.benchmark.al.aggregation import file_scores
    assert np.argmax(file_scores("top_k", probs, off, k=1)) == 0


def test_bald_is_zero_when_members_agree_and_one_bit_when_they_confidently_disagree():
    agree = np.array([[[0.5, 0.5]], [[0.5, 0.5]]])  # uncertain, but the same: no information
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert S.bald(agree)[0] == pytest.approx(0.0, abs=1e-12)
    assert S.bald(disagree)[0] == pytest.approx(1.0)
    # per file: the file whose segment the members disagree on is queried first, although
    # its members are each confident (entropy ranks the other first)
    members = np.concatenate([agree, disagree], axis=1)  # [2 members, 2 segments, 2]
    off = np.array([0, 1, 2])
    assert np.argmax(S.extra_file_scores("bald_top_k", members, off, k=1)) == 1
    assert np.argmax(S.extra_file_scores("bald_mean", members, off)) == 1


def test_coreset_picks_the_files_farthest_from_the_labelled_ones():
    labelled = np.array([[0.0, 0.0]])
    pool = np.array([[0.1, 0.0], [10.0, 0.0], [5.0, 5.0], [9.0, 0.5], [0.0, 0.2]])
    chosen = S.coreset(pool, labelled, 2, random_state=0)
    # first the farthest from the origin (10, 0); then the farthest from both: (5, 5)
    assert chosen.tolist() == [1, 2]


def test_badge_embedding_is_the_summed_last_layer_gradient():
    probs = np.array([[0.7, 0.3], [0.2, 0.8]])
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = S.gradient_embeddings(probs, X, np.array([0, 2]))
    # (p - onehot(argmax p)) per segment: [-0.3, 0.3] and [0.2, -0.2]; summed outer products
    want = np.outer([-0.3, 0.3], [1, 2]) + np.outer([0.2, -0.2], [3, 4])
    assert np.allclose(g[0], want.ravel())


def test_badge_seeding_starts_at_the_largest_gradient_and_spreads_out():
    g = np.array([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0], [0.0, 2.0], [2.9, 0.1]])
    picks = [S.kmeanspp_seeds(g, 2, np.random.default_rng(s)).tolist() for s in range(20)]
    assert all(p[0] == 2 for p in picks)  # the largest norm first
    # the second is drawn by squared distance to (3, 0): (0, 2) or the origin side, rarely
    # (2.9, 0.1) (distance^2 0.02 of a total ~ 31)
    assert sum(p[1] == 4 for p in picks) <= 2
    assert len(set(S.kmeanspp_seeds(g, 5, np.random.default_rng(0)).tolist())) == 5


@pytest.mark.parametrize("strategy", S.EXTRA_STRATEGIES)
def test_each_strategy_runs_an_al_run_deterministically(al_dataset, strategy):
    from sedal.benchmark.al.loop import RunConfig, load_run_data, run_al
    from sedal.sed.features import ensure_store, load_dataset_manifest

    store = ensure_store(al_dataset)
    doc, sha = load_dataset_manifest(al_dataset)
    data = load_run_data(store, doc, al_dataset.name)
    cfg = RunConfig(str(al_dataset), sha, strategy, 0, schedule=(0.005, 0.02, 0.05))
    a, b = run_al(data, cfg), run_al(data, cfg)
    drop = ("fit_seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == \
        [{k: v for k, v in r.items() if k not in drop} for r in b]
    assert [r["n_labelled"] for r in a] == [1, 5, 12]
    assert a[0]["strategy"] == strategy


@pytest.mark.parametrize("strategy", S.BATCH_STRATEGIES)
def test_batch_strategies_refuse_a_diversification(al_dataset, tmp_path, capsys, strategy):
    assert main(["run", str(al_dataset), "--strategy", strategy, "--diversify", "farthest",
                 "--seeds", "0", "--out", str(tmp_path / "r"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "takes no --diversify" in err and "\n" not in err


def test_query_does_not_offer_the_run_only_strategies(tmp_path, capsys):
    assert main(["query", str(tmp_path), "--out", str(tmp_path / "o"), "--strategy",
                 "badge"]) == 2
    assert "invalid choice: 'badge'" in capsys.readouterr().err


def test_typiclust_takes_the_most_typical_file_of_each_cluster_largest_first():
    from sedal.benchmark.al.pool import draw_seed_set, typiclust

    rng = np.random.default_rng(0)
    blobs = [rng.normal(c, 0.3, size=(m, 2)) for c, m in (((0, 0), 50), ((10, 0), 30),
                                                           ((0, 10), 20))]
    X = np.concatenate(blobs)
    X[0] = (0.0, 0.0)  # the densest point of the first blob
    train = np.arange(len(X))
    chosen = typiclust(train, 3, X, np.random.default_rng(1))
    blob = np.repeat([0, 1, 2], [50, 30, 20])
    assert sorted(blob[chosen].tolist()) == [0, 1, 2]  # one file per cluster
    assert 0 in chosen.tolist()
    # each is its cluster's most typical file (the smallest mean distance to 20 neighbours)
    for c in chosen:
        d = np.sort(np.linalg.norm(X - X[c], axis=1))[1:21].mean()
        same = np.flatnonzero(blob == blob[c])
        others = [np.sort(np.linalg.norm(X - X[j], axis=1))[1:21].mean() for j in same]
        assert d == pytest.approx(min(others))
    again = draw_seed_set(train, 3, np.random.default_rng(1), "typiclust",
                          file_features=lambda: X)
    assert again.tolist() == chosen.tolist()


def test_a_typiclust_seed_set_runs_an_al_run_deterministically(al_dataset):
    from sedal.benchmark.al.loop import RunConfig, load_run_data, run_al
    from sedal.sed.features import ensure_store, load_dataset_manifest

    store = ensure_store(al_dataset)
    doc, sha = load_dataset_manifest(al_dataset)
    data = load_run_data(store, doc, al_dataset.name)
    cfg = RunConfig(str(al_dataset), sha, "top_k", 0, schedule=(0.02, 0.05),
                    seed_set="typiclust")
    a, b = run_al(data, cfg), run_al(data, cfg)
    assert [r["n_labelled"] for r in a] == [5, 12]
    assert [r["total_iou"] for r in a] == [r["total_iou"] for r in b]
