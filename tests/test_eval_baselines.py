"""The built-in baselines compute what their definitions say, on matrices small enough to check by hand."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ikg.eval.baselines import (
    EASE,
    ItemKNN,
    LightGCNRecommender,
    LowPassFilter,
    Popularity,
    RidgeMap,
    RP3beta,
    TextSimilarity,
    asymmetric_cosine,
    ease_weights,
    fit_ridge_map,
    rp3beta_similarity,
)
from ikg.eval.baselines.matrix import InteractionMatrix

ITEMS = pd.DataFrame(
    {
        "item_id": ["a", "b", "c", "d"],
        "domain": ["x", "x", "y", "y"],
        "title": ["red apple", "green apple", "apple pie dish", "steel knife"],
    }
)
TRAIN = pd.DataFrame(
    {
        "user_id": ["u1", "u1", "u2", "u2", "u3", "u3", "u4"],
        "item_id": ["a", "c", "a", "c", "b", "d", "a"],
        "ts": [1, 2, 1, 2, 1, 2, 5],
    }
)


def test_interaction_matrix_is_binary_and_covers_untrained_items():
    items = pd.concat([ITEMS, pd.DataFrame({"item_id": ["e"], "domain": ["y"], "title": ["new"]})])
    m = InteractionMatrix.build(pd.concat([TRAIN, TRAIN.head(1)]), items)
    assert m.X.shape == (4, 5) and m.X.max() == 1.0
    assert m.popularity.tolist() == [3, 1, 2, 1, 0]
    assert m.user_rows(["nobody", "u3"]).toarray()[0].sum() == 0


def test_recency_decay_weighs_the_latest_item_most():
    m = InteractionMatrix.build(TRAIN, ITEMS)
    row = m.user_rows(["u1"], decay=0.5).toarray()[0]
    assert row[m.item_index["c"]] == 1.0 and row[m.item_index["a"]] == 0.5


def test_asymmetric_cosine_matches_its_formula():
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [1, 0, 1]], dtype=np.float32))
    WT = asymmetric_cosine(X, alpha=0.75, shrink=1.0).toarray()
    n = np.array([3.0, 2.0, 2.0])
    # sim(0 -> 1) = c_01 / (n_0^0.75 * n_1^0.25 + shrink), stored at WT[1, 0]
    assert WT[1, 0] == pytest.approx(2 / (n[0] ** 0.75 * n[1] ** 0.25 + 1))
    assert WT[0, 1] == pytest.approx(2 / (n[1] ** 0.75 * n[0] ** 0.25 + 1))
    assert np.diag(WT).sum() == 0


def test_rp3beta_is_a_three_step_walk_with_popularity_penalty():
    X = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32))
    W = rp3beta_similarity(X, alpha=1.0, beta=0.0).toarray()
    # from item 0: to user 0 (p=1), then to items 0 or 1 (1/2 each): W[0,1] = 1/2
    assert W[0, 1] == pytest.approx(0.5) and W[0, 2] == 0
    # from item 1: users 0 or 1 (1/2), then 1/2 -> W[1,0] = W[1,2] = 1/4
    assert W[1, 0] == pytest.approx(0.25) and W[1, 2] == pytest.approx(0.25)
    penalised = rp3beta_similarity(X, alpha=1.0, beta=1.0).toarray()
    assert penalised[0, 1] == pytest.approx(0.5 / 2)


def test_collaborative_baselines_follow_co_occurrence():
    for rec in (ItemKNN(shrink=0.0, neighbors=None), RP3beta(beta=0.0)):
        rec.fit(TRAIN, ITEMS)
        scores = rec.score(["u4"], ["c", "d"])
        assert scores.shape == (1, 2) and scores[0, 0] > scores[0, 1], rec.name


def test_popularity_counts_users_per_item():
    rec = Popularity()
    rec.fit(TRAIN, ITEMS)
    assert rec.score(["u1", "new"], ["c", "d", "a"]).tolist() == [[2, 1, 3], [2, 1, 3]]


def _bag_of_words(texts):
    vocab = sorted({w for t in texts for w in t.lower().replace(".", " ").split()})
    return np.array([[w in t.lower().split() for w in vocab] for t in texts], dtype=np.float32)


def test_text_similarity_uses_the_history_text():
    rec = TextSimilarity(user="last", encode=_bag_of_words)
    rec.fit(TRAIN, ITEMS)
    scores = rec.score(["u4", "new"], ["c", "d"])
    assert scores[0, 0] > scores[0, 1]
    assert np.all(scores[1] == 0)
    with pytest.raises(ValueError):
        TextSimilarity(user="median")


def test_lightgcn_is_deterministic_for_a_seed():
    def run(seed):
        rec = LightGCNRecommender(dim=8, layers=2, epochs=3, batch_size=4, seed=seed)
        rec.fit(TRAIN, ITEMS)
        return rec.score(["u1", "u4", "unknown"], ["a", "b", "c", "d"])

    first = run(0)
    assert first.shape == (3, 4) and np.all(first[2] == 0)
    np.testing.assert_allclose(first, run(0))
    assert not np.allclose(first, run(1))


def test_lightgcn_resumed_training_equals_training_from_scratch():
    from ikg.eval.baselines import lightgcn

    def fit(epochs):
        rec = LightGCNRecommender(dim=8, layers=2, epochs=epochs, batch_size=4, seed=7)
        rec.fit(TRAIN, ITEMS)
        return rec.score(["u1", "u2"], ["a", "b", "c", "d"])

    lightgcn._CHECKPOINTS.clear()
    fit(2)
    resumed = fit(5)
    lightgcn._CHECKPOINTS.clear()
    np.testing.assert_allclose(resumed, fit(5), rtol=1e-5, atol=1e-6)


def test_fast_propagation_matches_pyg_get_embedding():
    import torch
    from torch_geometric.nn.models import LightGCN

    from ikg.eval.baselines.lightgcn import normalised_adjacency, propagate

    m = InteractionMatrix.build(TRAIN, ITEMS)
    adj = normalised_adjacency(m.X)
    model = LightGCN(sum(m.X.shape), 8, 3, normalize=False)
    with torch.no_grad():
        np.testing.assert_allclose(
            propagate(model, adj).numpy(), model.get_embedding(adj).numpy(), rtol=1e-5, atol=1e-6
        )


def test_tfidf_stand_in_encoder_puts_similar_titles_close():
    from ikg.eval.baselines.text import tfidf_lsa_encode

    texts = ["green tea leaves", "green tea bags", "steel chef knife", "steel bread knife", "tea"]
    v = tfidf_lsa_encode(texts, dim=3)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_ease_solves_its_closed_form_with_a_zero_diagonal():
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], dtype=np.float32))
    B = ease_weights(X, lam=2.0)
    gram = (X.T @ X).toarray() + 2.0 * np.eye(3)
    # off the diagonal B minimises ||X - X B||^2 + lam ||B||^2: each column solves its own ridge
    for j in range(3):
        others = [i for i in range(3) if i != j]
        expected = np.linalg.solve(gram[np.ix_(others, others)], gram[others, j] - 0.0)
        assert B[others, j] == pytest.approx(expected, rel=1e-4)
    assert np.diag(B).tolist() == [0.0, 0.0, 0.0]


def test_ease_ranks_co_occurring_items_first():
    rec = EASE(lam=1.0)
    rec.fit(TRAIN, ITEMS)
    scores = rec.score(["u4"], ["c", "d"])
    assert scores[0, 0] > scores[0, 1]


def test_ridge_map_equals_the_primal_ridge_over_overlap_users():
    X = sp.csr_matrix(np.array([[1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0]], dtype=np.float32))
    target = np.array([False, False, True, True])
    A, dual, cols = fit_ridge_map(X, target, lam=0.5)
    # users 0-2 are active in both domains; user 3 has no target item and does not train the map
    assert A.shape[0] == 3 and cols.tolist() == [2, 3]
    Ad = A.toarray()
    ridge = 0.5 * np.trace(Ad @ Ad.T) / 3
    primal = np.linalg.solve(Ad.T @ Ad + ridge * np.eye(2), Ad.T @ X[:3][:, [2, 3]].toarray())
    assert (Ad.T @ dual) == pytest.approx(primal, rel=1e-4)


def test_ridge_map_carries_a_cold_user_into_the_target_domain():
    rec = RidgeMap(lam=0.1)
    rec.fit(TRAIN, ITEMS)
    scores = rec.score(["u4"], ["c", "d"])  # u4 bought apple 'a' only; buyers of 'a' bought 'c'
    assert scores[0, 0] > scores[0, 1] and scores[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_lowpass_filter_carries_a_cold_user_to_the_items_of_their_taste_group():
    rec = LowPassFilter(rank=2)
    rec.fit(TRAIN, ITEMS)
    scores = rec.score(["u4"], ["c", "d"])  # u4 bought apple 'a'; buyers of 'a' bought 'c', not 'd'
    assert scores[0, 0] > scores[0, 1]
    assert rec.score(["nobody"], ["c", "d"]) == pytest.approx(np.zeros((1, 2)))
