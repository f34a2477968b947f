"""Ranking metrics, coverage and bootstrap intervals of the evaluation harness."""

import math

import numpy as np
import pytest

from ikg.eval.metrics import bootstrap_ci, coverage, paired_bootstrap, top_k, user_metrics


def test_recall_ndcg_hit_for_a_known_ranking():
    m = user_metrics(["a", "x", "b", "y"], {"a", "b", "c"}, k=4)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["hit"] == 1.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)


def test_only_the_first_k_items_count():
    assert user_metrics(["x", "y", "a"], {"a"}, k=2) == {"recall": 0.0, "ndcg": 0.0, "hit": 0.0}
    assert user_metrics(["a", "y"], {"a"}, k=2)["ndcg"] == pytest.approx(1.0)


def test_top_k_is_sorted_best_first_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 2.0, 1.0, 0.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2], [0, 1, 2]]
    assert top_k(scores, 10).shape == (2, 4)


def test_coverage_is_the_share_of_candidates_ever_recommended():
    assert coverage([["a", "b"], ["b", "c"]], n_candidates=10) == pytest.approx(0.3)


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_more_users():
    rng = np.random.default_rng(0)
    small = bootstrap_ci(rng.random(50))
    large = bootstrap_ci(rng.random(5000))
    assert small.low <= small.mean <= small.high
    assert (large.high - large.low) < (small.high - small.low)


def test_paired_bootstrap_detects_a_consistent_winner_and_a_tie():
    rng = np.random.default_rng(1)
    b = rng.random(300)
    diff, p_win = paired_bootstrap(b + 0.05, b)
    assert p_win == 1.0 and diff.low > 0
    diff, p_win = paired_bootstrap(b, b)
    assert p_win == 0.5 and diff.mean == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap(b, b[:10])
