"""gnn.model and gnn.train mechanics, on small graphs with random text features (fast)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn import GnnConfig, GnnResult, fit_vectors, infer_vectors, write_vectors
from gnn.export import to_heterodata
from gnn.model import InterestGNN, build_prop_graph, id_rows_for
from gnn.synthetic import snapshot_from_frames
from gnn.train import DomainSampler, load_checkpoint, split_validation, warm_start_from
from kg.embedded import EmbeddedStore
from kg.schema import TEXT_VECTOR_DIM
from kg.synthetic import make_cross_domain

FAST = GnnConfig(epochs=20, eval_every=5, patience=10, threads=1, seed=7)


def _random_text(snapshot) -> dict[str, tuple[list[str], np.ndarray]]:
    """A fixed random 'text vector' per key, the same in every snapshot that has the key."""
    out = {}
    for label in ("Item", "Concept"):
        keys = snapshot.node_keys(label)
        rows = [np.random.default_rng(zlib.crc32(k.encode())).normal(size=TEXT_VECTOR_DIM) for k in keys]
        out[label] = (keys, np.asarray(rows, dtype=np.float32).reshape(len(keys), TEXT_VECTOR_DIM))
    return out


@pytest.fixture(scope="module")
def synthetic():
    return make_cross_domain(n_users=120, items_per_domain=40, events_per_user=12, seed=3)


@pytest.fixture(scope="module")
def snapshot(synthetic):
    return snapshot_from_frames(synthetic.items, synthetic.events)


def test_adjacency_is_symmetric_normalised_and_ignores_dislikes(snapshot) -> None:
    snap = snapshot_from_frames(*_with_dislike(snapshot))
    data, ids = to_heterodata(snap, _random_text(snap))
    graph = build_prop_graph(
        data, {"item": id_rows_for(ids.keys["item"], []), "concept": id_rows_for(ids.keys["concept"], [])}
    )
    dense = graph.adj.to_dense()
    assert torch.allclose(dense, dense.T, atol=1e-6)
    u, i = ids.index("user")["u0000"], ids.index("item")["fi0001"]
    assert dense[u, graph.offsets["item"] + i] == 0
    index, weight = (
        data["user", "interacted", "item"].edge_index,
        data["user", "interacted", "item"].edge_weight,
    )
    assert (weight < 0).sum() == 1 and ((index[0] == u) & (index[1] == i) & (weight < 0)).any()
    eig = torch.linalg.eigvalsh(dense)
    assert eig.max() <= 1.0 + 1e-4


def _with_dislike(snapshot):
    synthetic = make_cross_domain(n_users=120, items_per_domain=40, events_per_user=12, seed=3)
    events = synthetic.events.copy()
    events.loc[len(events)] = {
        "user_id": "u0000",
        "item_id": "fi0001",
        "kind": "dislike",
        "ts": 0.0,
        "rating": None,
    }
    events = events[
        ~((events.user_id == "u0000") & (events.item_id == "fi0001") & (events.kind != "dislike"))
    ]
    return synthetic.items, events


def test_user_starts_as_weighted_mean_of_items_and_concepts(snapshot) -> None:
    data, ids = to_heterodata(snapshot, _random_text(snapshot))
    rows = {"item": id_rows_for(ids.keys["item"], []), "concept": id_rows_for(ids.keys["concept"], [])}
    graph = build_prop_graph(data, rows)
    model = InterestGNN(TEXT_VECTOR_DIM, 16, 2)
    with torch.no_grad():
        h = model.initial(graph)
        items = model.item_proj(data["item"].x)
        concepts = model.concept_proj(data["concept"].x)
    u = ids.index("user")["u0005"]
    inter, interest = data["user", "interacted", "item"], data["user", "interested_in", "concept"]
    mi, mc = inter.edge_index[0] == u, interest.edge_index[0] == u
    wi, wc = inter.edge_weight[mi], interest.edge_weight[mc]
    expected = (wi @ items[inter.edge_index[1, mi]] + wc @ concepts[interest.edge_index[1, mc]]) / (
        wi.sum() + wc.sum()
    )
    assert torch.allclose(h[graph.offsets["user"] + u], expected, atol=1e-5)


def test_a_trained_user_adds_its_id_row_and_an_unseen_user_has_none(snapshot) -> None:
    data, ids = to_heterodata(snapshot, _random_text(snapshot))
    trained = [k for k in ids.keys["user"] if k != "u0007"]
    rows = {
        "item": id_rows_for(ids.keys["item"], []),
        "concept": id_rows_for(ids.keys["concept"], []),
        "user": id_rows_for(ids.keys["user"], trained),
    }
    model = InterestGNN(TEXT_VECTOR_DIM, 16, 2, num_user_ids=len(trained))
    with torch.no_grad():
        with_ids = model.initial(build_prop_graph(data, rows))
        content = model.initial(build_prop_graph(data, {k: v for k, v in rows.items() if k != "user"}))
    seen, unseen = ids.index("user")["u0005"], ids.index("user")["u0007"]
    assert rows["user"][unseen] == -1
    assert torch.allclose(with_ids[seen] - content[seen], model.user_id.weight[trained.index("u0005")])
    assert torch.equal(with_ids[unseen], content[unseen])


def test_negatives_come_from_the_positive_items_domain() -> None:
    domain = torch.tensor([0, 0, 1, 1, 1, 2, -1])
    sampler = DomainSampler(domain)
    pos = torch.tensor([0, 2, 5, 6] * 50)
    neg = sampler.sample(pos, 3, torch.Generator().manual_seed(0))
    assert neg.shape == (600,)
    assert torch.equal(domain[neg[pos.repeat(3) != 6]], domain[pos.repeat(3)[pos.repeat(3) != 6]])
    assert set(neg[pos.repeat(3) == 6].tolist()) > {0, 2}


def test_validation_split_holds_out_a_fraction_and_spares_small_users() -> None:
    users = torch.tensor([0] * 10 + [1] * 2 + [2] * 5)
    flags = split_validation(users, 0.2, torch.Generator().manual_seed(0))
    assert flags[users == 0].sum() == 2 and flags[users == 1].sum() == 0 and flags[users == 2].sum() == 1


def test_fixed_seed_reproduces_the_same_vectors(snapshot) -> None:
    text = _random_text(snapshot)
    threads, rng_state = torch.get_num_threads(), torch.get_rng_state()
    first = fit_vectors(snapshot, text, FAST, progress=False)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng_state)
    second = fit_vectors(snapshot, text, FAST, progress=False)
    other = fit_vectors(snapshot, text, GnnConfig(**{**FAST.__dict__, "seed": 8}), progress=False)
    for label in ("User", "Item", "Concept"):
        assert first.vectors[label][0] == second.vectors[label][0]
        np.testing.assert_array_equal(first.vectors[label][1], second.vectors[label][1])
    assert not np.allclose(first.vectors["User"][1], other.vectors["User"][1])
    assert first.version.split("-")[2] == second.version.split("-")[2]


def test_checkpoint_round_trip_and_store_write(snapshot, tmp_path: Path) -> None:
    text = _random_text(snapshot)
    result = fit_vectors(snapshot, text, FAST, checkpoint_dir=tmp_path, progress=False)
    assert re.fullmatch(r"gnn-\d{14}-[0-9a-f]{8}", result.version)
    assert result.checkpoint == tmp_path / "checkpoint.pt" and result.checkpoint.exists()
    assert load_checkpoint(tmp_path)["version"] == result.version
    payload = load_checkpoint(result.checkpoint)
    assert payload["version"] == result.version and payload["id_maps"]["user"] == snapshot.node_keys("User")
    again = infer_vectors(result.checkpoint, snapshot, text)
    for label, (keys, matrix) in result.vectors.items():
        assert again[label][0] == keys
        np.testing.assert_allclose(again[label][1], matrix, atol=1e-5)
        assert matrix.dtype == np.float32 and matrix.shape[1] == 64
    assert 0 < result.metrics["val_recall@k"] <= 1 and result.metrics["val_edges"] > 0

    store = EmbeddedStore(None)
    for label in ("User", "Item", "Concept"):
        key = "key" if label == "Concept" else "id"
        store.upsert_nodes(label, [{key: k} for k in snapshot.node_keys(label)])
    write_vectors(store, GnnResult(result.version, {k: v for k, v in result.vectors.items() if k != "Topic"}))
    keys, matrix = store.read_vectors("Item")
    assert sorted(keys) == sorted(snapshot.node_keys("Item")) and matrix.shape == (len(keys), 64)
    assert store.get_nodes("Item", [keys[0]])[keys[0]]["model_version"] == result.version


def test_warm_start_copies_rows_of_matching_ids(snapshot, synthetic, tmp_path: Path) -> None:
    text = _random_text(snapshot)
    first = fit_vectors(snapshot, text, FAST, checkpoint_dir=tmp_path, progress=False)
    grown_items = synthetic.items.copy()
    grown_items.loc[len(grown_items)] = {
        "item_id": "bo9999",
        "domain": "books",
        "title": "New",
        "description": "A novel about dragon and wizard.",
        "categories": ["fantasy"],
    }
    events = synthetic.events.copy()
    events.loc[len(events)] = {
        "user_id": "u0001",
        "item_id": "bo9999",
        "kind": "view",
        "ts": 0.0,
        "rating": None,
    }
    grown = snapshot_from_frames(grown_items, events)
    grown_text = _random_text(grown)
    payload = load_checkpoint(first.checkpoint)
    _data, ids = to_heterodata(grown, grown_text)
    model = InterestGNN(TEXT_VECTOR_DIM, 64, FAST.layers, len(ids.keys["item"]), len(ids.keys["concept"]))
    copied = warm_start_from(model, payload, ids.keys["item"], ids.keys["concept"])
    old_items = payload["item_keys"]
    assert copied == len(old_items) + len(payload["concept_keys"])
    row_old = old_items.index("fi0003")
    row_new = ids.index("item")["fi0003"]
    assert torch.equal(model.item_id.weight[row_new], payload["state_dict"]["item_id.weight"][row_old])
    assert torch.equal(model.item_proj.weight, payload["state_dict"]["item_proj.weight"])

    frozen = GnnConfig(**{**FAST.__dict__, "epochs": 1, "lr": 1e-12, "warmup_epochs": 1})
    same = fit_vectors(snapshot, text, frozen, warm_start=first.checkpoint, progress=False)
    fresh = fit_vectors(snapshot, text, frozen, progress=False)
    for label in ("User", "Item", "Concept"):
        np.testing.assert_allclose(same.vectors[label][1], first.vectors[label][1], atol=1e-5)
    assert not np.allclose(fresh.vectors["Item"][1], first.vectors["Item"][1], atol=1e-3)

    assert payload["user_keys"] == snapshot.node_keys("User")
    with_users = InterestGNN(
        TEXT_VECTOR_DIM,
        64,
        FAST.layers,
        len(ids.keys["item"]),
        len(ids.keys["concept"]),
        len(ids.keys["user"]),
    )
    copied_users = warm_start_from(
        with_users, payload, ids.keys["item"], ids.keys["concept"], ids.keys["user"]
    )
    assert copied_users == copied + len(payload["user_keys"])
    assert torch.equal(
        with_users.user_id.weight[ids.index("user")["u0001"]],
        payload["state_dict"]["user_id.weight"][payload["user_keys"].index("u0001")],
    )

    warm = fit_vectors(grown, grown_text, FAST, warm_start=first.checkpoint, progress=False)
    assert warm.metrics["warm_start_rows"] == copied_users
    assert "bo9999" in warm.vectors["Item"][0]
