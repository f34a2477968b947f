"""Inductive vectors with real MiniLM item text: new users and items need no retraining.

Data: kg.synthetic.make_cross_domain, where every item belongs to a planted theme and
users like one or two themes in every domain. A user added after training, who only read
space books, must get a vector from a forward pass whose nearest films are space films.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gnn import GnnConfig, fit_vectors, infer_vectors
from gnn.synthetic import item_text, snapshot_from_frames
from kg.synthetic import make_cross_domain

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from encoders.text_encoder import get_text_encoder

    syn = make_cross_domain(n_users=200, items_per_domain=64, events_per_user=16, seed=11)
    encoder = get_text_encoder()
    new_item = {
        "item_id": "fi9999",
        "domain": "films",
        "title": "Starfall: Alien Contact",
        "description": "A film about space exploration and a starship.",
        "categories": ["science fiction"],
    }
    items = pd.concat([syn.items, pd.DataFrame([new_item])], ignore_index=True)
    snapshot = snapshot_from_frames(syn.items, syn.events)
    concepts = sorted(set(snapshot_from_frames(items, syn.events).node_keys("Concept")))
    text = {
        "Item": (items["item_id"].tolist(), encoder.encode(item_text(items))),
        "Concept": (concepts, encoder.encode(concepts)),
    }
    folder = tmp_path_factory.mktemp("gnn")
    result = fit_vectors(
        snapshot, text, GnnConfig(epochs=40, threads=1, seed=0), checkpoint_dir=folder, progress=False
    )
    return syn, items, text, result


def _nearest(vectors, label: str, query: np.ndarray, keys_wanted: set[str], k: int) -> list[str]:
    keys, matrix = vectors[label]
    idx = [i for i, key in enumerate(keys) if key in keys_wanted]
    scores = matrix[idx] @ query
    return [keys[idx[j]] for j in np.argsort(-scores)[:k]]


def test_new_user_gets_a_vector_without_retraining_and_it_reflects_their_history(world) -> None:
    syn, _items, text, result = world
    space_books = [i for i in syn.items["item_id"] if i.startswith("bo") and syn.item_theme[i] == "space"][:6]
    new_events = pd.DataFrame(
        [
            {"user_id": "newcomer", "item_id": i, "kind": "purchase", "ts": 0.0, "rating": None}
            for i in space_books
        ]
    )
    grown = snapshot_from_frames(syn.items, pd.concat([syn.events, new_events], ignore_index=True))
    assert "newcomer" not in result.vectors["User"][0]

    vectors = infer_vectors(result.checkpoint, grown, text)
    keys, users = vectors["User"]
    user = users[keys.index("newcomer")]
    assert np.isfinite(user).all() and np.linalg.norm(user) > 0

    films = {i for i in syn.items["item_id"] if i.startswith("fi")}
    top = _nearest(vectors, "Item", user, films, 10)
    space_share = np.mean([syn.item_theme[i] == "space" for i in top])
    assert space_share >= 0.6, (top, [syn.item_theme[i] for i in top])


def test_new_item_gets_a_vector_from_its_text_and_concepts(world) -> None:
    syn, items, text, result = world
    grown = snapshot_from_frames(items, syn.events)
    vectors = infer_vectors(result.checkpoint, grown, text)
    keys, matrix = vectors["Item"]
    new = matrix[keys.index("fi9999")]
    assert np.isfinite(new).all() and np.linalg.norm(new) > 0

    normed = {"Item": (keys, matrix / np.linalg.norm(matrix, axis=1, keepdims=True))}
    top = _nearest(normed, "Item", new / np.linalg.norm(new), set(syn.item_theme), 10)
    assert np.mean([syn.item_theme[i] == "space" for i in top]) >= 0.7, top


def test_trained_vectors_rank_each_users_themes_first(world) -> None:
    syn, _, _, result = world
    keys, users = result.vectors["User"]
    item_keys, items = result.vectors["Item"]
    themes = np.asarray([syn.item_theme[i] for i in item_keys])
    top = np.argsort(-(users @ items.T), axis=1)[:, :10]
    share = np.mean([np.isin(themes[row], syn.user_themes[u]).mean() for u, row in zip(keys, top)])
    assert share >= 0.8
