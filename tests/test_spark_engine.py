"""The Spark engine (ikg.spark) against the local engine: same rules, same graph, same recommendations.

Spark runs in `local[2]` with one SparkSession for the whole test session (tests/conftest.py). The stage tests use
synthetic data of 200k events and compare each Spark stage with the local function on the
same input; the end-to-end tests refresh the same graph with both engines (real spaCy and
MiniLM extraction, made once and shared; no GNN: its training is not bit-reproducible).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from ikg import InterestGraph
from ikg.demo_data import load_catalog, make_demo_events
from ikg.refresh import engine_stages
from kg import builder
from kg.proximity import build_index
from kg.store import GraphSnapshot
from kg.synthetic import make_cross_domain
from kg.weights import WeightConfig, aggregate_interactions

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def synthetic():
    """200k events: 5,000 users x 40 events over 3 x 100 items, with ratings and timestamps."""
    return make_cross_domain(n_users=5000, items_per_domain=100, events_per_user=40, seed=11)


def _item_concepts(items: pd.DataFrame) -> pd.DataFrame:
    """HAS_CONCEPT-like rows without a model: each item's categories and title words as concepts."""
    rows = []
    for item_id, title, cats in zip(items["item_id"], items["title"], items["categories"]):
        for cat in cats:
            rows.append((item_id, cat, 0.9))
        for word in title.split(": ")[-1].lower().split():
            rows.append((item_id, word, 0.5))
    frame = pd.DataFrame(rows, columns=["item_id", "key", "weight"])
    return frame.drop_duplicates(["item_id", "key"]).reset_index(drop=True)


def _index_matrix(frame: pd.DataFrame, items: list[str]):
    import scipy.sparse as sp

    pos = {k: i for i, k in enumerate(items)}
    return sp.csr_matrix(
        (frame["score"].to_numpy(), (frame["src"].map(pos), frame["dst"].map(pos))), shape=(len(items),) * 2
    )


def assert_same_index(spark_frame: pd.DataFrame, local, items: list[str]) -> None:
    """Equal scores (float32 vs float64: rtol 1e-4) and equal neighbour sets except ties at the cut."""
    ours = _index_matrix(spark_frame, items).tocsr()
    theirs = local.tocsr()
    assert ours.nnz == theirs.nnz
    differing = 0
    for row in range(len(items)):
        a = dict(zip(ours[row].indices, ours[row].data))
        b = dict(zip(theirs[row].indices, theirs[row].data))
        common = a.keys() & b.keys()
        np.testing.assert_allclose([a[c] for c in common], [b[c] for c in common], rtol=1e-4)
        if a.keys() != b.keys():
            differing += 1
            cut = min(b.values())
            for c in a.keys() ^ b.keys():
                assert abs(a.get(c, b.get(c)) - cut) <= 1e-4 * cut, (items[row], c)
    assert differing <= 0.01 * len(items)


def test_interactions_stage_equals_the_local_weights(spark, synthetic, tmp_path):
    events = synthetic.events.astype({"user_id": "str", "item_id": "str", "kind": "str"})
    events["text"] = None
    config = WeightConfig(rating_scale=(0.0, 5.0))
    with engine_stages("spark", scratch=tmp_path) as stages:
        ours = stages.interactions(events, config)
    theirs = aggregate_interactions(events, config)
    assert len(events) == 200_000
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def test_interests_and_walk_index_equal_the_local_ones(spark, synthetic, tmp_path):
    events = synthetic.events.astype({"user_id": "str", "item_id": "str", "kind": "str"})
    items = synthetic.items
    item_concepts = _item_concepts(items)
    reviews = events.sample(3000, random_state=1)[["user_id", "item_id"]].drop_duplicates()
    review_concepts = reviews.assign(key="plot twist", weight=0.7)
    with engine_stages("spark", scratch=tmp_path) as stages:
        interactions = stages.interactions(events, WeightConfig())
        ours = stages.interests(interactions, item_concepts, items, review_concepts)
        index = stages.item_item(alpha=0.5, beta=0.2).toPandas()
    theirs = builder.user_interests(interactions, item_concepts, items, review_concepts)
    pd.testing.assert_frame_equal(
        ours.drop(columns="domains"), theirs.drop(columns="domains"), check_exact=False, rtol=1e-9
    )
    assert ours["domains"].tolist() == [list(d) for d in theirs["domains"]]

    user_nodes, interacted = builder.interaction_rows(interactions)
    snapshot = GraphSnapshot(
        nodes={
            "Item": items.rename(columns={"item_id": "key"})[["key", "domain"]],
            "User": user_nodes.rename(columns={"id": "key"}),
        },
        edges={"INTERACTED": interacted},
    )
    local = build_index(snapshot, alpha=0.5, beta=0.2)
    assert_same_index(index, local.item_item, local.items)


def _refresh_both(tmp_path, items: pd.DataFrame, events: pd.DataFrame, new: int):
    """A local base version from all but the last `new` events, then those events through each engine.

    The base (with the model-bound extraction) is made once and copied; each engine then
    recomputes interactions, interests and the index from all events, old and new.
    """
    base = InterestGraph.open(tmp_path / "local", use_gnn=False)
    base.ingest_items(items)
    base.ingest_events(events.iloc[:-new])
    base.refresh(progress=False)
    base.close()
    shutil.copytree(tmp_path / "local", tmp_path / "spark")
    graphs = {}
    for engine in ("local", "spark"):
        ig = InterestGraph.open(tmp_path / engine, use_gnn=False)
        ig.ingest_events(events.iloc[-new:])
        graphs[engine] = (ig, ig.refresh(progress=False, engine=engine))
    return graphs


def _assert_parity(graphs, users: list[str]) -> None:
    (local, local_report), (spark_ig, spark_report) = graphs["local"], graphs["spark"]
    assert spark_report.graph == local_report.graph
    assert spark_ig.store.counts() == local.store.counts()
    a = local.recommend_batch(users, k=20, with_reasons=False)
    b = spark_ig.recommend_batch(users, k=20, with_reasons=False)
    same = sum([r.item_id for r in a[u]] == [r.item_id for r in b[u]] for u in users)
    assert same == len(users), f"{len(users) - same} of {len(users)} users differ"
    walk = spark_ig.workdir.load_state().meta.get("walk") or {}
    version = spark_ig.workdir.active()["version"]
    index = pd.read_parquet(spark_ig.workdir.path / f"state-{version}" / "walk_index")
    model = local.model()
    assert_same_index(index, model.index.item_item, model.index.items)
    assert walk == (local.workdir.load_state().meta.get("walk") or {})
    for ig, _ in graphs.values():
        ig.close()


@pytest.mark.models
def test_demo_catalog_refresh_is_the_same_on_both_engines(spark, tmp_path):
    events = make_demo_events()
    graphs = _refresh_both(tmp_path, load_catalog(), events, new=len(events) // 10)
    _assert_parity(graphs, sorted(events["user_id"].unique()))


@pytest.mark.models
def test_synthetic_refresh_is_the_same_on_both_engines(spark, synthetic, tmp_path):
    graphs = _refresh_both(tmp_path, synthetic.items, synthetic.events, new=20_000)
    _assert_parity(graphs, sorted(synthetic.events["user_id"].unique()))
