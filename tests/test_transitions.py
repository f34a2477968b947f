"""Learned LEADS_TO transitions: their formula, training events only, and where they show up."""

import numpy as np
import pandas as pd
import pytest

from ikg.eval import synthetic_dataset
from ikg.eval.leakage import assert_no_leakage
from ikg.eval.protocols import make_split
from kg.transitions import learn_transitions
from kg.weights import aggregate_interactions

DOMAINS = pd.Series({"b1": "books", "b2": "books", "f1": "films", "f2": "films"})
CONCEPTS = pd.DataFrame(
    {"item_id": ["b1", "b2", "f1", "f2"], "key": ["space", "cooking", "heist", "romance"]}
)


def _events(pairs):
    return pd.DataFrame(pairs, columns=["user_id", "item_id"]).assign(weight=1.0)


def test_transitions_are_a_shrunk_pmi_over_users_active_in_both_domains():
    events = _events(
        [(f"s{n}", "b1") for n in range(4)]
        + [(f"s{n}", "f1") for n in range(4)]
        + [("c0", "b2"), ("c0", "f2"), ("c1", "b2"), ("c1", "f2")]
        + [(f"solo{n}", "f1") for n in range(20)]  # film-only users never vote
    )
    edges = learn_transitions(events, CONCEPTS, DOMAINS, min_support=3, shrink=1.0)
    row = edges[(edges["src"] == "space") & (edges["dst"] == "heist")].iloc[0]
    # 6 bridging users; 4 have space (books), 4 heist (films), 4 both: log(4 * 6 / ((4 + 1) * 4))
    assert row["support"] == 4 and row["weight"] == pytest.approx(np.log(4 * 6 / (5 * 4)))
    assert (row["source_domain"], row["target_domain"]) == ("books", "films")
    assert not ((edges["src"] == "cooking") & (edges["dst"] == "romance")).any(), "support 2 < 3"
    assert not ((edges["src"] == "space") & (edges["dst"] == "romance")).any(), "no lift, no edge"
    reverse = edges[(edges["src"] == "heist") & (edges["dst"] == "space")].iloc[0]
    assert reverse["source_domain"] == "films" and reverse["support"] == 4


def test_a_disliked_item_votes_for_nothing():
    events = _events([(f"s{n}", i) for n in range(5) for i in ("b1", "f1")])
    events.loc[events["item_id"] == "f1", "weight"] = -1.0
    assert learn_transitions(events, CONCEPTS, DOMAINS, min_support=1).empty


@pytest.mark.models
@pytest.mark.slow
class TestInTheSystem:
    @pytest.fixture(scope="class")
    def built(self):
        from ikg.eval.system import InterestGraphSystem

        data = synthetic_dataset(
            2, n_users=200, items_per_domain=40, events_per_user=16, noise=0.1, bridge_users=0.5
        )
        split = make_split(data, "cold-start", "books", "films", seed=0, n_valid=15, n_test=20)
        system = InterestGraphSystem(use_gnn=False)
        system.fit(split.train, data.items)
        return data, split, system.graph

    def test_leads_to_edges_are_learned_from_training_events_only(self, built):
        data, split, graph = built
        snapshot = graph.store.snapshot()
        edges = snapshot.edge_frame("LEADS_TO")
        assert len(edges) and set(edges.columns) >= {"weight", "support", "source_domain", "target_domain"}
        has = snapshot.edge_frame("HAS_CONCEPT").rename(columns={"src": "item_id", "dst": "key"})
        domains = data.items.set_index("item_id")["domain"]
        concepts = set(snapshot.node_keys("Concept"))

        def support(events):
            learned = learn_transitions(aggregate_interactions(events), has, domains)
            learned = learned[learned["src"].isin(concepts) & learned["dst"].isin(concepts)]
            return films_pairs(learned)

        def films_pairs(frame):
            films = (frame["source_domain"] == "films") | (frame["target_domain"] == "films")
            return frame[films].set_index(["src", "dst", "source_domain"])["support"].astype(int).sort_index()

        assert_no_leakage(split.train, split)
        built = films_pairs(edges)
        assert len(built) and built.equals(support(split.train)), (
            "the graph's edges come from training events"
        )
        everything = support(data.events)
        common = built.index.intersection(everything.index)
        assert (everything[common] != built[common]).any() or len(everything) != len(built), (
            "the hidden film histories would have changed the edges, so the check above is not vacuous"
        )

    def test_explain_and_migrate_show_learned_bridges(self, built):
        _, split, graph = built
        shown, bridged = [], []
        for user in split.test.user_ids:
            for rec in graph.recommend(user, k=5, domain="films"):
                shown += [p for p in graph.explain(user, rec.item_id, limit=20) if p.kind == "transition"]
            bridged += [b for b in graph.migrate(user, "films").bridges if b.via.startswith("people who")]
        assert shown and bridged
        path = shown[0]
        assert path.rels == ["INTERACTED", "HAS_CONCEPT", "LEADS_TO", "HAS_CONCEPT"]
        assert "users" in path.text and not path.nodes[1].key.startswith("fi"), "from another domain"
        for a, rel, b in zip(path.nodes, path.rels, path.nodes[1:]):
            around = graph.store.neighbourhood(a.label, a.key, [rel])
            assert any(n.key == b.key and n.label == b.label for n in around), (a, rel, b)
        assert all(i.startswith("fi") for b in bridged for i in b.target_items)
