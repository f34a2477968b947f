"""The public API contract of DESIGN.md, on the embedded store and on a real Neo4j.

One small synthetic world with planted cross-domain themes is built once per store with the
real spaCy and MiniLM models and a short GNN training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gnn
from ikg import InterestGraph, UnknownItemError
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_GNN = gnn.GnnConfig(epochs=15, eval_every=5, patience=2)
COLD = "u-cold"


def world():
    data = make_cross_domain(n_users=60, items_per_domain=32, events_per_user=16, seed=3)
    books_space = [i for i, t in data.item_theme.items() if t == "space" and i.startswith("bo")]
    films_space = [i for i, t in data.item_theme.items() if t == "space" and i.startswith("fi")]
    cold = pd.DataFrame(
        {
            "user_id": COLD,
            "item_id": books_space[:3] + films_space[:2],
            "kind": "purchase",
            "ts": 1_700_000_000.0 + np.arange(5) * 86_400.0,
        }
    )
    events = pd.concat([data.events, cold], ignore_index=True)
    return data, events


def build(ig: InterestGraph):
    data, events = world()
    ig.ingest_items(data.items)
    ig.ingest_events(events)
    report = ig.refresh(progress=False)
    return data, report


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    ig = InterestGraph.open(tmp_path_factory.mktemp("embedded"), gnn_config=FAST_GNN)
    data, report = build(ig)
    yield ig, data, report
    ig.close()


@pytest.fixture(scope="module")
def on_neo4j(tmp_path_factory, neo4j_config):
    from kg.neo4j_store import Neo4jStore

    store = Neo4jStore(neo4j_config)
    store.clear()
    ig = InterestGraph(store, tmp_path_factory.mktemp("neo4j-state"), gnn_config=FAST_GNN)
    data, report = build(ig)
    yield ig, data, report
    store.clear()
    ig.close()


def test_both_stores_hold_the_same_graph_and_give_the_same_top_k(embedded, on_neo4j):
    (emb, _, emb_report), (neo, _, neo_report) = embedded, on_neo4j
    assert emb_report.counts == neo_report.counts
    for user in ["u0001", "u0002", COLD]:
        for domain in [None, "music"]:
            a = [r.item_id for r in emb.recommend(user, k=10, domain=domain)]
            b = [r.item_id for r in neo.recommend(user, k=10, domain=domain)]
            assert a == b, (user, domain)


def test_recommendations_respect_the_domain_filter_and_exclude_seen(embedded):
    ig, data, _ = embedded
    seen = set(data.events.loc[data.events["user_id"] == "u0003", "item_id"])
    recs = ig.recommend("u0003", k=15, domain="films")
    assert len(recs) == 15
    assert {r.domain for r in recs} == {"films"}
    assert not seen & {r.item_id for r in recs}
    with_seen = ig.recommend("u0003", k=200, domain="films", exclude_seen=False)
    assert seen & {r.item_id for r in with_seen}
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= r.similarity <= 1.0 and r.reasons for r in recs)


def test_recommendations_follow_the_planted_themes(embedded):
    ig, data, _ = embedded
    music = [i for i in data.item_theme if i.startswith("mu")]
    hits = total = chance = 0.0
    for user, themes in list(data.user_themes.items())[:30]:
        chance += sum(data.item_theme[i] in themes for i in music) / len(music)
        for r in ig.recommend(user, k=3, domain="music"):
            hits += data.item_theme[r.item_id] in themes
            total += 1
    assert hits / total > 0.5, "most music picks come from the user's planted themes"
    assert hits / total > 2.5 * chance / 30, "far more often than a random pick would"


def test_recommend_batch_gives_the_same_results_as_recommend(embedded):
    ig, _, _ = embedded
    users = ["u0004", "u0005", COLD, "nobody-yet"]
    batch = ig.recommend_batch(users, k=8, domain="books")
    for user in users:
        assert [r.item_id for r in batch[user]] == [
            r.item_id for r in ig.recommend(user, k=8, domain="books")
        ]


def test_each_score_is_the_blend_of_its_components_and_results_come_best_first(embedded):
    ig, _, _ = embedded
    model = ig.model()
    blend = model.domain_blends.get("films") or model.blend  # the films blend when tuning chose one
    for user in ("u0004", COLD):
        recs = ig.recommend(user, k=10, domain="films")
        assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
        for r in recs:
            blended = sum(w * r.components[name] for name, w in blend.items()) / sum(blend.values())
            assert r.score == pytest.approx(blended, abs=2e-4), (r.item_id, r.components)
            assert 0.0 <= r.similarity <= 1.0 and r.reasons


def test_an_unknown_domain_is_a_clear_error(embedded):
    ig, _, _ = embedded
    with pytest.raises(ValueError, match=r"unknown domain 'games'.*books"):
        ig.recommend("u0001", domain="games")


def test_migration_carries_a_cold_start_user_into_a_new_domain(embedded):
    ig, data, _ = embedded
    migration = ig.migrate(COLD, "music", k=10)
    assert migration.cold_start
    assert migration.bridges, "a user with space books and films has bridges into music"
    assert all(b.target_items and all(i.startswith("mu") for i in b.target_items) for b in migration.bridges)
    assert all(i.startswith(("bo", "fi")) for b in migration.bridges for i in b.source_items)
    space_music = sum(t == "space" and i.startswith("mu") for i, t in data.item_theme.items())
    assert {r.domain for r in migration.items} == {"music"}
    first = [data.item_theme[r.item_id] for r in migration.items[:space_music]]
    assert first[0] == "space" and first.count("space") >= space_music - 1, "the space albums lead the list"


def test_explanations_are_real_paths_in_the_store(embedded):
    ig, _, _ = embedded
    item = ig.recommend("u0006", k=1, domain="books")[0].item_id
    paths = ig.explain("u0006", item)
    assert paths and paths[0].nodes[0].key == "u0006" and paths[-1].nodes[-1].key == item
    for path in paths:
        for a, rel, b in zip(path.nodes, path.rels, path.nodes[1:]):
            around = ig.store.neighbourhood(a.label, a.key, [rel])
            assert any(n.key == b.key and n.label == b.label for n in around), (a, rel, b)


def test_the_cypher_of_an_explanation_returns_that_path_in_neo4j(on_neo4j):
    ig, _, _ = on_neo4j
    item = ig.recommend("u0007", k=1, domain="films")[0].item_id
    paths = ig.explain("u0007", item)
    assert paths
    with ig.store._driver.session(database=ig.store.config.database) as session:
        for path in paths:
            records = session.execute_read(lambda tx, path=path: list(tx.run(path.cypher, **path.params)))
            assert records, path.cypher
            returned = records[0]["p"]
            keys = [dict(n).get("id") or dict(n).get("key") for n in returned.nodes]
            assert keys == [s.key for s in path.nodes]


def test_the_cypher_of_a_learned_transition_path_returns_it_in_neo4j(on_neo4j):
    ig, _, _ = on_neo4j
    paths = [
        p
        for user in ("u0001", "u0002", "u0003", COLD)
        for r in ig.recommend(user, k=5, domain="music")
        for p in ig.explain(user, r.item_id, limit=20)
        if p.kind == "transition"
    ]
    assert paths, "every user of this world spans the domains, so LEADS_TO edges lead into music"
    with ig.store._driver.session(database=ig.store.config.database) as session:
        for path in paths[:5]:
            records = session.execute_read(lambda tx, path=path: list(tx.run(path.cypher, **path.params)))
            assert records, path.cypher
            keys = [dict(n).get("id") or dict(n).get("key") for n in records[0]["p"].nodes]
            assert keys == [s.key for s in path.nodes]
            assert [r.type for r in records[0]["p"].relationships] == path.rels


def test_a_profile_has_interests_topics_domains_and_drift(embedded):
    ig, data, _ = embedded
    prof = ig.profile("u0008")
    assert prof.interests and prof.interests[0].weight == 1.0
    assert prof.topics and prof.domains
    assert sum(prof.domains.values()) == len(
        data.events.loc[data.events.user_id == "u0008"].drop_duplicates(["item_id"])
    )
    assert prof.drift and {d["direction"] for d in prof.drift} <= {"rising", "fading", "stable"}


def test_refreshing_with_nothing_new_changes_nothing(embedded):
    ig, _, report = embedded
    again = ig.refresh(progress=False)
    assert again.noop and again.model_version == report.model_version
    assert again.counts == report.counts


def test_a_dislike_filters_at_once_and_learning_waits_for_refresh(tmp_path):
    data = make_cross_domain(n_users=20, items_per_domain=12, events_per_user=10, seed=5)
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    ig.refresh(progress=False)
    top = ig.recommend("u0001", k=3)[0].item_id
    assert ig.feedback("u0001", top, "dislike")["filtered_now"]
    assert top not in [r.item_id for r in ig.recommend("u0001", k=30)]
    with pytest.raises(UnknownItemError):
        ig.feedback("u0001", "no-such-item", "like")
    with pytest.raises(ValueError, match="unknown feedback kind"):
        ig.feedback("u0001", top, "love")
    report = ig.refresh(progress=False)
    assert not report.noop and report.new_events == 1
    edge = next(
        n.edge for n in ig.store.neighbourhood("User", "u0001", ["INTERACTED"], "out") if n.key == top
    )
    assert edge["kind"] == "dislike" and edge["weight"] < 0


def test_new_events_touch_only_what_they_reach(tmp_path):
    data = make_cross_domain(n_users=40, items_per_domain=16, events_per_user=12, seed=9)
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    first, rest = data.events.iloc[:-5], data.events.iloc[-5:]
    ig.ingest_events(first)
    ig.refresh(progress=False)
    ig.ingest_events(rest.assign(ts=rest["ts"] + 10.0))
    report = ig.refresh(progress=False)
    touched_users = rest["user_id"].nunique()
    assert report.new_items == 0 and report.new_events == 5
    assert report.written.get("INTERACTED", 0) <= touched_users * 12
    assert report.written.get("User", 0) <= touched_users
    assert "Item" not in report.written and "HAS_CONCEPT" not in report.written


def test_the_blend_is_retuned_on_a_full_refresh_or_after_enough_new_events(tmp_path):
    data = make_cross_domain(n_users=40, items_per_domain=16, events_per_user=12, seed=9)
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    events = data.events.sample(frac=1.0, random_state=0)
    ig.ingest_events(events.iloc[:-60])
    first = ig.refresh(progress=False)
    assert not first.blend["chosen"].startswith("kept")
    ig.ingest_events(events.iloc[-60:-55])
    few = ig.refresh(progress=False)
    assert (
        few.blend["chosen"].startswith("kept from version") and few.blend["weights"] == first.blend["weights"]
    )
    ig.ingest_events(events.iloc[-55:])
    many = ig.refresh(progress=False)
    assert not many.blend["chosen"].startswith("kept"), "60 new events on 420 is over the 10% threshold"
    assert not ig.refresh(full=True, progress=False).blend["chosen"].startswith("kept")


def test_a_failed_refresh_leaves_the_previous_version_serving(tmp_path):
    data = make_cross_domain(n_users=20, items_per_domain=12, events_per_user=10, seed=6)
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    good = ig.refresh(progress=False)
    before = [r.item_id for r in ig.recommend("u0002", k=5)]
    ig.ingest_items(pd.DataFrame({"item_id": ["new1"], "domain": ["books"], "title": ["A new space saga"]}))
    ig.extractor = "no-such-extractor"
    with pytest.raises(ValueError, match="unknown extractor"):
        ig.refresh(progress=False)
    assert ig.workdir.active()["version"] == good.model_version
    assert [r.item_id for r in ig.recommend("u0002", k=5)] == before
    assert InterestGraph.open(tmp_path).store.get_nodes("Item", ["new1"]) == {}
    ig.extractor = "local"
    assert not ig.refresh(progress=False).noop
    assert ig.store.get_nodes("Item", ["new1"])


@pytest.mark.parametrize("backend", ["embedded", "neo4j"])
def test_forgetting_a_user_leaves_no_trace(backend, tmp_path, request):
    data = make_cross_domain(n_users=15, items_per_domain=10, events_per_user=8, seed=8)
    if backend == "embedded":
        ig = InterestGraph.open(tmp_path, use_gnn=False)
    else:
        from kg.neo4j_store import Neo4jStore

        store = Neo4jStore(request.getfixturevalue("neo4j_config"))
        store.clear()
        ig = InterestGraph(store, tmp_path, use_gnn=False)
    events = pd.concat(
        [
            data.events,
            pd.DataFrame(
                [
                    {
                        "user_id": "u0001",
                        "item_id": "bo0001",
                        "kind": "review",
                        "text": "A quiet zeppelin odyssey over glaciers.",
                    }
                ]
            ),
        ]
    )
    ig.ingest_items(data.items)
    ig.ingest_events(events)
    ig.refresh(progress=False)
    ig.feedback("u0001", "bo0002", "dislike")
    removed = ig.forget_user("u0001")
    assert removed["User"] == 1
    snap = ig.store.snapshot()
    assert "u0001" not in set(snap.node_keys("User"))
    for rel in ("INTERACTED", "INTERESTED_IN"):
        assert "u0001" not in set(snap.edge_frame(rel)["src"])
    state = ig.workdir.load_state()
    for name, frame in state.tables.items():
        for column in ("user_id", "src", "id"):
            if column in frame:
                assert "u0001" not in set(frame[column]), name
    assert not any(
        "u0001" in str(pd.read_parquet(p)["user_id"].tolist())
        for _, k, p in ig.workdir.pending()
        if k == "events"
    )
    assert "u0001" not in (ig.workdir.path / "dislikes.json").read_text()
    assert ig.refresh(progress=False).counts["User"] == 14
    ig.close()


def test_diversity_reranks_without_losing_the_domain_filter(embedded):
    ig, _, _ = embedded
    plain = ig.recommend("u0009", k=8, domain="films")
    diverse = ig.recommend("u0009", k=8, domain="films", diversity=0.7)
    assert len(diverse) == 8 and {r.domain for r in diverse} == {"films"}
    assert diverse[0].item_id == plain[0].item_id
    assert [r.item_id for r in diverse] != [r.item_id for r in plain]
