"""The Cypher exploration kit: saved queries, run_saved / run_text, and the `ikg cypher` commands.

A small interest graph is built through the Neo4jStore (three domains, four users, concepts,
topics, RELATED_TO bridges, hand-made 384-d text vectors whose nearest neighbours are known),
then every saved query runs against a real Neo4j and its rows are checked against values worked
out by hand below. Header / parameter checks need no server.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from cypher import QueryError, list_queries, load_query, parse_query, referenced_params
from ikg.cypher_kit import (
    ACCESS_MODE_CODE,
    ParamError,
    ReadOnlyError,
    bind_params,
    cypher,
    parse_param_pairs,
    run_saved,
    run_text,
)
from kg.schema import EDGE_TYPES, NODE_TYPES, TEXT_VECTOR_DIM

neo4j = pytest.mark.neo4j

EXPECTED_QUERIES = {
    "user_top_interests",
    "users_sharing_interest",
    "item_concepts_and_neighbours",
    "migration_bridges",
    "topic_communities",
    "explanation_paths",
    "interest_drift",
    "graph_health",
    "domain_transitions",
}

DAY = 86_400
T0 = 656 * 30 * DAY  # 2023-11-19 00:00 UTC, the start of a 30-day epoch-aligned window

DOMAINS = [{"name": "books"}, {"name": "films"}, {"name": "music"}]
ITEMS = [
    {"id": "b1", "domain": "books", "title": "Dune"},
    {"id": "b2", "domain": "books", "title": "Foundation"},
    {"id": "b3", "domain": "books", "title": "The Big Sleep"},
    {"id": "b4", "domain": "books", "title": "Neuromancer"},
    {"id": "f1", "domain": "films", "title": "Alien"},
    {"id": "f2", "domain": "films", "title": "I, Robot"},
    {"id": "f3", "domain": "films", "title": "Blade Runner"},
    {"id": "f4", "domain": "films", "title": "Casablanca"},
    {"id": "f5", "domain": "films", "title": "Untitled"},
    {"id": "m1", "domain": "music", "title": "Kind of Blue"},
    {"id": "m2", "domain": "music", "title": "Noir Jazz"},
]
# f5 has no IN_DOMAIN edge (an orphan item); f4's edge disagrees with its `domain` property.
IN_DOMAIN = [{"src": i["id"], "dst": i["domain"]} for i in ITEMS if i["id"] not in ("f4", "f5")]
IN_DOMAIN.append({"src": "f4", "dst": "music"})
USERS = [{"id": "u1"}, {"id": "u2"}, {"id": "u3"}, {"id": "u4"}]
CONCEPTS = [
    {"key": "science-fiction", "name": "science fiction"},
    {"key": "space-opera", "name": "space opera"},
    {"key": "desert-planet", "name": "desert planet"},
    {"key": "robots", "name": "robots"},
    {"key": "detective", "name": "detective"},
    {"key": "jazz", "name": "jazz"},
    {"key": "romance", "name": "romance"},
    {"key": "orphan-concept", "name": "orphan concept"},  # no edge at all
]
TOPICS = [
    {"id": "t-scifi", "name": "science fiction", "size": 4},
    {"id": "t-crime", "name": "crime", "size": 1},
    {"id": "t-music", "name": "music", "size": 1},
    {"id": "t-empty", "name": "empty", "size": 0},  # no concept: an orphan topic
]
HAS_CONCEPT = [
    ("b1", "science-fiction", 0.9),
    ("b1", "desert-planet", 0.7),
    ("b2", "science-fiction", 0.8),
    ("b2", "space-opera", 0.6),
    ("b3", "detective", 0.9),
    ("b4", "science-fiction", 0.7),
    ("b4", "robots", 0.5),
    ("f1", "science-fiction", 0.8),
    ("f2", "robots", 0.9),
    ("f3", "science-fiction", 0.5),
    ("f3", "detective", 0.6),
    ("f4", "romance", 0.9),
    ("m1", "jazz", 0.9),
    ("m2", "jazz", 0.7),
    ("m2", "detective", 0.4),
]
INTERACTED = [  # (user, item, kind, weight, day)
    ("u1", "b1", "purchase", 4.0, 0),
    ("u1", "b2", "view", 2.0, 5),
    ("u1", "b3", "view", 1.0, 40),
    ("u1", "b4", "view", 1.0, 45),
    ("u2", "b1", "purchase", 3.0, 1),
    ("u2", "f1", "click", 2.0, 2),
    ("u2", "f2", "view", 1.0, 3),
    ("u2", "f3", "dislike", -4.0, 4),
    ("u3", "b3", "view", 1.0, 10),
    ("u3", "m1", "click", 2.0, 11),
    ("u3", "m2", "click", 2.0, 12),
    ("u4", "f4", "view", 1.0, 20),
]
INTERESTED_IN = [
    ("u1", "science-fiction", 0.9),
    ("u1", "desert-planet", 0.6),
    ("u1", "space-opera", 0.5),
    ("u1", "detective", 0.3),
    ("u2", "science-fiction", 0.8),
    ("u2", "robots", 0.4),
    ("u2", "desert-planet", 0.3),
    ("u3", "jazz", 0.9),
    ("u3", "detective", 0.5),
    ("u4", "romance", 0.7),
]
IN_TOPIC = [
    ("science-fiction", "t-scifi"),
    ("space-opera", "t-scifi"),
    ("desert-planet", "t-scifi"),
    ("robots", "t-scifi"),
    ("detective", "t-crime"),
    ("jazz", "t-music"),
]
RELATED_TO = [("science-fiction", "robots", 0.8), ("detective", "jazz", 0.5)]
LEADS_TO = [  # (source concept, target concept, weight, support, source domain, target domain)
    ("science-fiction", "robots", 0.9, 12, "books", "films"),
    ("space-opera", "science-fiction", 0.3, 2, "books", "films"),
    ("detective", "jazz", 0.5, 6, "books", "music"),
    ("robots", "desert-planet", 0.7, 8, "films", "books"),
]


def _unit(*pairs: tuple[int, float]) -> np.ndarray:
    vec = np.zeros(TEXT_VECTOR_DIM, dtype=np.float32)
    for axis, value in pairs:
        vec[axis] = value
    return vec


# Cosine to b1 (axis 0): f1 0.994, b2 0.707, f3 0.447, every other item 0.
TEXT_VECTORS = {
    "b1": _unit((0, 1.0)),
    "b2": _unit((0, 1.0), (2, 1.0)),
    "b3": _unit((4, 1.0)),
    "f1": _unit((0, 0.9), (1, 0.1)),
    "f2": _unit((3, 1.0)),
    "f3": _unit((4, 1.0), (0, 0.5)),
    "m1": _unit((5, 1.0)),
    "m2": _unit((4, 1.0), (5, 1.0)),
}  # b4, f4 and f5 have no text vector


def _neo4j_score(cos: float) -> float:
    """Neo4j's cosine vector-index score."""
    return (1 + cos) / 2


def build_graph(store) -> None:
    store.upsert_nodes("Domain", DOMAINS)
    store.upsert_nodes("Item", ITEMS)
    store.upsert_nodes("User", USERS)
    store.upsert_nodes("Concept", CONCEPTS)
    store.upsert_nodes("Topic", TOPICS)
    store.upsert_edges("IN_DOMAIN", IN_DOMAIN)
    store.upsert_edges(
        "HAS_CONCEPT", [{"src": i, "dst": c, "weight": w, "source": "category"} for i, c, w in HAS_CONCEPT]
    )
    store.upsert_edges(
        "INTERACTED",
        [
            {
                "src": u,
                "dst": i,
                "kind": k,
                "weight": w,
                "count": 1,
                "first_ts": T0 + d * DAY,
                "last_ts": T0 + d * DAY,
            }
            for u, i, k, w, d in INTERACTED
        ],
    )
    store.upsert_edges(
        "INTERESTED_IN",
        [{"src": u, "dst": c, "weight": w, "source": "behaviour"} for u, c, w in INTERESTED_IN],
    )
    store.upsert_edges("IN_TOPIC", [{"src": c, "dst": t, "weight": 1.0} for c, t in IN_TOPIC])
    store.upsert_edges("RELATED_TO", [{"src": a, "dst": b, "score": s} for a, b, s in RELATED_TO])
    store.upsert_edges(
        "LEADS_TO",
        [
            {"src": a, "dst": b, "weight": w, "support": n, "source_domain": x, "target_domain": y}
            for a, b, w, n, x, y in LEADS_TO
        ],
    )
    keys = list(TEXT_VECTORS)
    store.write_vectors(
        "Item", keys, np.stack([TEXT_VECTORS[k] for k in keys]), prop="text_embedding", model_version="minilm"
    )
    store.write_vectors("Item", ["b1", "f1"], np.ones((2, 64), dtype=np.float32), prop="embedding")
    store.set_meta("active_version", "v7")


@pytest.fixture(scope="module")
def graph(neo4j_session_store, neo4j_config):
    """The Neo4jConfig of a server holding the test graph (built once for this module)."""
    neo4j_session_store.clear()
    build_graph(neo4j_session_store)
    run_text(neo4j_config, "CALL db.awaitIndexes(60)")
    yield neo4j_config
    neo4j_session_store.clear()


def _env(config) -> dict[str, str]:
    return {
        "NEO4J_URI": config.uri,
        "NEO4J_USER": config.user,
        "NEO4J_PASSWORD": config.password,
        "NEO4J_DATABASE": config.database,
    }


def _round(value, places: int = 6):
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, list):
        return [_round(v, places) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, places) for k, v in value.items()}
    return value


# ---- the saved queries themselves (no server) -----------------------------------------------
def test_every_saved_query_has_a_complete_header_matching_its_text():
    queries = list_queries()
    assert {q.name for q in queries} == EXPECTED_QUERIES
    for q in queries:
        assert q.purpose and q.text and q.path.stem == q.name
        assert q.example.startswith(f"ikg cypher run {q.name}"), q.name
        assert [p.name for p in q.params] == referenced_params(q.text), f"{q.name}: header vs $params"
        example = parse_param_pairs(re.findall(r"--param (\S+)", q.example))
        bind_params(q, example)  # the example gives every required parameter, well typed


def test_saved_queries_are_read_only_and_use_only_schema_labels_and_types():
    labels = set(NODE_TYPES) | {"IkgMeta"}
    for q in list_queries():
        code = re.sub(r"'[^']*'", "''", q.text)
        assert not re.search(r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DETACH|LOAD CSV|FOREACH)\b", code, re.I), (
            q.name
        )
        used_labels = set(re.findall(r"\(\s*\w*\s*:\s*(\w+)", code)) | set(
            re.findall(r"(?<![\[\w])\w+:(\w+)", code)
        )
        rel_types = set(re.findall(r"\[\s*\w*\s*:\s*(\w+)", code))
        assert used_labels <= labels, (q.name, used_labels - labels)
        assert rel_types <= set(EDGE_TYPES), (q.name, rel_types - set(EDGE_TYPES))


def test_an_unknown_query_name_lists_the_saved_ones():
    with pytest.raises(QueryError, match=r"unknown saved query 'nope'.*graph_health.*user_top_interests"):
        load_query("nope")


def test_parameters_are_coerced_from_strings_by_the_declared_type():
    bound = bind_params(
        load_query("migration_bridges"),
        {
            "user_id": "42",
            "source_domain": "books",
            "target_domain": "films",
            "topic_factor": "0.25",
            "limit": "7",
        },
    )
    assert bound == {
        "user_id": "42",
        "source_domain": "books",
        "target_domain": "films",
        "topic_factor": 0.25,
        "limit": 7,
        "paths_per_item": 5,
    }
    assert bind_params(load_query("users_sharing_interest"), {"user_id": "u1"})["concept"] is None
    header = "// params: $flag (bool = false); $n (int)\nRETURN $flag AS flag, $n AS n"
    assert bind_params(parse_query(header), {"flag": "yes", "n": "3"}) == {"flag": True, "n": 3}
    with pytest.raises(ParamError, match=r"\$k must be an int, got 'three'"):
        bind_params(load_query("item_concepts_and_neighbours"), {"item_id": "b1", "k": "three"})


def test_missing_and_unknown_parameters_are_named_before_anything_runs():
    with pytest.raises(
        ParamError, match=r"missing required parameter\(s\): \$source_domain, \$target_domain"
    ):
        run_saved(object(), "migration_bridges", {"user_id": "u1"})  # not even a driver: never reached
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) colour.*\$user_id \(string\)"):
        run_saved(object(), "user_top_interests", {"user_id": "u1", "colour": "red"})
    with pytest.raises(ParamError, match="unknown parameter\\(s\\) user_id; it takes no parameters"):
        run_saved(object(), "graph_health", {"user_id": "u1"})
    with pytest.raises(ParamError, match=r"missing required parameter\(s\): \$who"):
        run_text(object(), "MATCH (u:User {id: $who}) RETURN u.id // not $this")
    with pytest.raises(ParamError, match="key=value"):
        parse_param_pairs(["user_id"])


# ---- every saved query against the graph ----------------------------------------------------
@neo4j
def test_user_top_interests(graph):
    rows = run_saved(graph, "user_top_interests", {"user_id": "u1"})
    assert [(r["concept"], r["weight"], r["topics"]) for r in rows] == [
        ("science-fiction", 0.9, ["science fiction"]),
        ("desert-planet", 0.6, ["science fiction"]),
        ("space-opera", 0.5, ["science fiction"]),
        ("detective", 0.3, ["crime"]),
    ]
    assert rows[0]["name"] == "science fiction" and rows[0]["source"] == "behaviour"
    assert rows[0]["topic_ids"] == ["t-scifi"]
    assert [
        r["concept"] for r in run_saved(graph, "user_top_interests", {"user_id": "u1", "limit": "2"})
    ] == ["science-fiction", "desert-planet"]
    assert run_saved(graph, "user_top_interests", {"user_id": "u4"}) == [
        {
            "concept": "romance",
            "name": "romance",
            "weight": 0.7,
            "source": "behaviour",
            "domains": None,
            "topics": [],
            "topic_ids": [],
        }
    ]
    assert run_saved(graph, "user_top_interests", {"user_id": "nobody"}) == []


@neo4j
def test_users_sharing_interest(graph):
    rows = _round(run_saved(graph, "users_sharing_interest", {"user_id": "u1"}))
    # u2 shares science-fiction (min 0.9, 0.8) and desert-planet (min 0.6, 0.3); u3 shares detective.
    assert rows == [
        {
            "user_id": "u2",
            "shared": 2,
            "overlap": 1.1,
            "jaccard": 0.4,
            "shared_concepts": ["science-fiction", "desert-planet"],
        },
        {"user_id": "u3", "shared": 1, "overlap": 0.3, "jaccard": 0.2, "shared_concepts": ["detective"]},
    ]
    only = run_saved(graph, "users_sharing_interest", {"user_id": "u1", "concept": "detective"})
    assert [r["user_id"] for r in only] == ["u3"]
    assert run_saved(graph, "users_sharing_interest", {"user_id": "u4"}) == []


@neo4j
def test_item_concepts_and_neighbours(graph):
    [row] = run_saved(graph, "item_concepts_and_neighbours", {"item_id": "b1", "k": "3"})
    assert row["item_id"] == "b1" and row["has_text_embedding"] is True
    assert [(c["key"], c["weight"]) for c in row["concepts"]] == [
        ("science-fiction", 0.9),
        ("desert-planet", 0.7),
    ]
    assert [n["id"] for n in row["neighbours"]] == ["f1", "b2", "f3"]
    expected = [
        _neo4j_score(0.9 / np.sqrt(0.82)),
        _neo4j_score(1 / np.sqrt(2)),
        _neo4j_score(0.5 / np.sqrt(1.25)),
    ]
    # the index quantises vectors by default (vector.quantization.enabled): scores are close, not exact
    np.testing.assert_allclose([n["score"] for n in row["neighbours"]], expected, atol=5e-3)
    assert row["neighbours"][0] == {
        "id": "f1",
        "title": "Alien",
        "domain": "films",
        "score": row["neighbours"][0]["score"],
    }

    [b3] = run_saved(graph, "item_concepts_and_neighbours", {"item_id": "b3", "k": "2"})
    assert [n["id"] for n in b3["neighbours"]] == ["f3", "m2"]

    # No text vector: the concepts still come back, with no neighbours.
    [f4] = run_saved(graph, "item_concepts_and_neighbours", {"item_id": "f4"})
    assert f4["has_text_embedding"] is False and f4["neighbours"] == []
    assert [c["key"] for c in f4["concepts"]] == ["romance"]
    [f5] = run_saved(graph, "item_concepts_and_neighbours", {"item_id": "f5"})
    assert f5["concepts"] == [] and f5["neighbours"] == []
    assert run_saved(graph, "item_concepts_and_neighbours", {"item_id": "ghost"}) == []


@neo4j
def test_migration_bridges(graph):
    rows = run_saved(
        graph, "migration_bridges", {"user_id": "u1", "source_domain": "books", "target_domain": "films"}
    )
    # Worked out by hand (interest x bridge score x target HAS_CONCEPT weight, topic factor 0.5):
    #   f2: sf -RELATED_TO 0.8- robots .648, robots same .45, sf/dp/so via topic .405 + .27 + .225
    #   f1: sf same .72, robots -RELATED_TO- sf .32, dp/so/robots via topic .24 + .2 + .2
    #   f3: sf same .45, detective same .18, robots -RELATED_TO- sf .2, dp/so/robots topic .15 + .125 + .125
    item_scores = {r["item_id"]: round(r["item_score"], 6) for r in rows}
    assert item_scores == {"f2": 1.998, "f1": 1.68, "f3": 1.23}, "f4 shares nothing; b* are not films"
    # best items first, each with its best $paths_per_item (5) paths; f3 has 6, one is cut
    assert [r["item_id"] for r in rows] == ["f2"] * 5 + ["f1"] * 5 + ["f3"] * 5
    assert {r["item_id"]: r["paths"] for r in rows} == {"f2": 5, "f1": 5, "f3": 6}
    top = rows[0]
    assert (top["concept"], top["bridge"], top["via"], round(top["path_score"], 6)) == (
        "science-fiction",
        "related_to",
        "robots",
        0.648,
    )
    assert top["interest"] == 0.9 and sorted(top["source_items"]) == ["b1", "b2", "b4"]
    robots_same = next(r for r in rows if r["item_id"] == "f2" and r["bridge"] == "same_concept")
    assert robots_same["concept"] == "robots" and robots_same["interest"] == 0.5, (
        "no INTERESTED_IN: item weight"
    )
    topic = next(r for r in rows if r["item_id"] == "f1" and r["concept"] == "desert-planet")
    assert (topic["bridge"], topic["via"], round(topic["path_score"], 6)) == (
        "topic",
        "t-scifi / science-fiction",
        0.24,
    )
    for item in ("f1", "f2", "f3"):
        scores = [r["path_score"] for r in rows if r["item_id"] == item]
        assert scores == sorted(scores, reverse=True)
    f3 = [round(r["path_score"], 6) for r in rows if r["item_id"] == "f3"]
    assert f3 == [0.45, 0.2, 0.18, 0.15, 0.125], "the weakest of the two 0.125 paths is cut"
    everything = run_saved(
        graph,
        "migration_bridges",
        {"user_id": "u1", "source_domain": "books", "target_domain": "films", "paths_per_item": "10"},
    )
    assert len(everything) == 16

    no_topics = run_saved(
        graph,
        "migration_bridges",
        {
            "user_id": "u1",
            "source_domain": "books",
            "target_domain": "films",
            "topic_factor": "0",
            "limit": "1",
        },
    )
    # without topic bridges only f2's RELATED_TO (0.648) and same-concept (0.45) paths remain
    assert [(r["item_id"], r["bridge"], round(r["path_score"], 6)) for r in no_topics] == [
        ("f2", "related_to", 0.648),
        ("f2", "same_concept", 0.45),
    ]
    assert round(no_topics[0]["item_score"], 6) == 1.098 and no_topics[0]["paths"] == 2
    # u2 has interacted with every film that a bridge reaches (f3 disliked): nothing left.
    assert (
        run_saved(
            graph, "migration_bridges", {"user_id": "u2", "source_domain": "books", "target_domain": "films"}
        )
        == []
    )


@neo4j
def test_topic_communities(graph):
    rows = run_saved(graph, "topic_communities", {})
    assert [(r["topic_id"], r["size"], r["stored_size"], r["domains"], r["users"]) for r in rows] == [
        ("t-scifi", 4, 4, ["books", "films"], 2),
        ("t-crime", 1, 1, ["books", "films", "music"], 2),
        ("t-music", 1, 1, ["music"], 1),
        ("t-empty", 0, 0, [], 0),
    ]
    assert rows[0]["cross_domain_concepts"] == [
        {"key": "robots", "name": "robots", "domains": ["books", "films"]},
        {"key": "science-fiction", "name": "science fiction", "domains": ["books", "films"]},
    ]
    assert [c["key"] for c in rows[1]["cross_domain_concepts"]] == ["detective"]
    assert rows[2]["cross_domain_concepts"] == [] and rows[3]["cross_domain_concepts"] == []
    three = run_saved(graph, "topic_communities", {"min_domains": "3", "limit": "2"})
    assert [(r["topic_id"], [c["key"] for c in r["cross_domain_concepts"]]) for r in three] == [
        ("t-scifi", []),
        ("t-crime", ["detective"]),
    ]


@neo4j
def test_domain_transitions(graph):
    rows = _round(
        run_saved(graph, "domain_transitions", {"source_domain": "books", "target_domain": "films"})
    )
    assert [
        (
            r["source_concept"],
            r["target_concept"],
            r["weight"],
            r["support"],
            r["source_items"],
            r["target_items"],
        )
        for r in rows
    ] == [
        ("science-fiction", "robots", 0.9, 12, ["b1", "b2", "b4"], ["f2"]),  # b1 has two buyers
        ("space-opera", "science-fiction", 0.3, 2, ["b2"], ["f1", "f3"]),  # f3's only user disliked it
    ]
    assert rows[0]["source_name"] == "science fiction" and rows[0]["target_name"] == "robots"
    strong = run_saved(
        graph,
        "domain_transitions",
        {"source_domain": "books", "target_domain": "films", "min_support": "3", "examples": "1"},
    )
    assert [(r["source_concept"], r["source_items"]) for r in strong] == [("science-fiction", ["b1"])]
    back = run_saved(graph, "domain_transitions", {"source_domain": "films", "target_domain": "books"})
    assert [(r["source_concept"], r["target_concept"]) for r in back] == [("robots", "desert-planet")]


@neo4j
def test_explanation_paths(graph):
    rows = _round(run_saved(graph, "explanation_paths", {"user_id": "u1", "item_id": "f1"}))
    assert [(r["kind"], r["score"], r["nodes"]) for r in rows] == [
        ("concept", 0.72, ["u1", "science-fiction", "f1"]),
        ("co_interaction", 24.0, ["u1", "b1", "u2", "f1"]),
    ]
    assert rows[0]["path"] == (
        "(User u1)-[:INTERESTED_IN 0.9]->(Concept science-fiction)<-[:HAS_CONCEPT 0.8]-(Item f1)"
    )
    assert (
        rows[1]["path"]
        == "(User u1)-[:INTERACTED 4.0]->(Item b1)<-[:INTERACTED 3.0]-(User u2)-[:INTERACTED 2.0]->(Item f1)"
    )
    # u2 disliked f3: that is no co-interaction path; two concept paths remain.
    f3 = _round(run_saved(graph, "explanation_paths", {"user_id": "u1", "item_id": "f3"}))
    assert [(r["kind"], r["score"], r["nodes"][1]) for r in f3] == [
        ("concept", 0.45, "science-fiction"),
        ("concept", 0.18, "detective"),
    ]
    assert len(run_saved(graph, "explanation_paths", {"user_id": "u1", "item_id": "f3", "limit": "1"})) == 1
    m2 = _round(run_saved(graph, "explanation_paths", {"user_id": "u1", "item_id": "m2"}))
    assert [(r["kind"], r["score"], r["nodes"]) for r in m2] == [
        ("concept", 0.12, ["u1", "detective", "m2"]),
        ("co_interaction", 2.0, ["u1", "b3", "u3", "m2"]),
    ]
    assert run_saved(graph, "explanation_paths", {"user_id": "u4", "item_id": "m1"}) == []


@neo4j
def test_interest_drift(graph):
    rows = _round(run_saved(graph, "interest_drift", {"user_id": "u1", "window_days": "30"}))
    assert [(r["window_start"], r["window_start_ts"], r["interactions"]) for r in rows] == [
        ("2023-11-19", float(T0), 2),
        ("2023-12-19", float(T0 + 30 * DAY), 2),
    ]
    # Window 1: b1 (weight 4) and b2 (2); window 2: b3 (1) and b4 (1).
    assert rows[0]["concepts"] == [
        {"key": "science-fiction", "weight": 5.2, "change": 5.2},
        {"key": "desert-planet", "weight": 2.8, "change": 2.8},
        {"key": "space-opera", "weight": 1.2, "change": 1.2},
    ]
    assert rows[0]["new_concepts"] == ["science-fiction", "desert-planet", "space-opera"]
    assert rows[0]["dropped_concepts"] == []
    assert rows[1]["concepts"] == [
        {"key": "detective", "weight": 0.9, "change": 0.9},
        {"key": "science-fiction", "weight": 0.7, "change": -4.5},
        {"key": "robots", "weight": 0.5, "change": 0.5},
    ]
    assert rows[1]["new_concepts"] == ["detective", "robots"]
    assert rows[1]["dropped_concepts"] == ["desert-planet", "space-opera"]

    [one] = _round(run_saved(graph, "interest_drift", {"user_id": "u2", "window_days": "365", "top": "2"}))
    # A dislike counts against its concepts: science-fiction 3*0.9 + 2*0.8 - 4*0.5 = 2.3.
    assert one["interactions"] == 4
    assert one["concepts"] == [
        {"key": "science-fiction", "weight": 2.3, "change": 2.3},
        {"key": "desert-planet", "weight": 2.1, "change": 2.1},
    ]
    assert run_saved(graph, "interest_drift", {"user_id": "nobody"}) == []


@neo4j
def test_graph_health(graph):
    rows = run_saved(graph, "graph_health", {})
    got = {(r["check"], r["name"]): r["value"] for r in rows}
    assert len(got) == len(rows)
    expected = {
        ("nodes", "User"): len(USERS),
        ("nodes", "Item"): len(ITEMS),
        ("nodes", "Domain"): len(DOMAINS),
        ("nodes", "Concept"): len(CONCEPTS),
        ("nodes", "Topic"): len(TOPICS),
        ("nodes", "IkgMeta"): 1,
        ("relationships", "INTERACTED"): len(INTERACTED),
        ("relationships", "INTERESTED_IN"): len(INTERESTED_IN),
        ("relationships", "HAS_CONCEPT"): len(HAS_CONCEPT),
        ("relationships", "IN_DOMAIN"): len(IN_DOMAIN),
        ("relationships", "IN_TOPIC"): len(IN_TOPIC),
        ("relationships", "RELATED_TO"): len(RELATED_TO),
        ("relationships", "LEADS_TO"): len(LEADS_TO),
        ("orphan_nodes", "Concept"): 1,
        ("orphan_nodes", "Item"): 1,
        ("orphan_nodes", "Topic"): 1,
        ("items", "without_embedding"): len(ITEMS) - 2,
        ("items", "without_text_embedding"): len(ITEMS) - len(TEXT_VECTORS),
        ("items", "without_in_domain"): 1,
        ("items", "domain_property_mismatch"): 1,
        ("meta", "active_version"): "v7",
    }
    assert got == expected
    assert rows[-1] == {"check": "meta", "name": "active_version", "value": "v7"}


# ---- read-only by default -------------------------------------------------------------------
@neo4j
def test_a_write_is_refused_by_the_database_unless_write_is_asked_for(graph, neo4j_session_store):
    create = "CREATE (n:Scratch {id: $id}) RETURN n.id AS id"
    count = "MATCH (n:Scratch) RETURN count(n) AS n"
    try:
        with pytest.raises(ReadOnlyError, match="refused a write in a read transaction") as err:
            run_text(graph, create, {"id": "x"})
        from neo4j.exceptions import ClientError

        assert isinstance(err.value.__cause__, ClientError) and err.value.__cause__.code == ACCESS_MODE_CODE
        assert run_text(graph, count) == [{"n": 0}], "nothing was written"
        with pytest.raises(ReadOnlyError):  # the same through run_saved's path: a header-typed query
            run_text(
                graph,
                "// params: $n (int)\nUNWIND range(1, $n) AS i CREATE (:Scratch {id: toString(i)})",
                {"n": "2"},
            )
        assert run_text(graph, count) == [{"n": 0}]

        assert run_text(graph, create, {"id": "x"}, write=True) == [{"id": "x"}]
        assert run_text(graph, count) == [{"n": 1}]
        health = run_saved(
            neo4j_session_store, "graph_health", {}, write=True
        )  # read query, write tx; a store works too
        assert {"check": "unknown_label_nodes", "name": "Scratch", "value": 1} in health
    finally:
        run_text(graph, "MATCH (n:Scratch) DETACH DELETE n", write=True)
    assert run_text(graph, count) == [{"n": 0}]


# ---- the CLI --------------------------------------------------------------------------------
def test_cli_list_shows_every_saved_query():
    runner = CliRunner()
    result = runner.invoke(cypher, ["list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {q["name"]: q for q in json.loads(result.output)}
    assert set(listed) == EXPECTED_QUERIES
    assert listed["interest_drift"]["params"][1] == {
        "name": "window_days",
        "type": "float",
        "required": False,
        "default": 30.0,
        "description": "window length in days",
    }
    table = runner.invoke(cypher, ["list"], terminal_width=200)
    assert table.exit_code == 0 and all(name in table.output for name in EXPECTED_QUERIES)
    shown = runner.invoke(cypher, ["show", "graph_health"])
    assert shown.exit_code == 0 and shown.output.startswith("// name: graph_health")
    assert shown.output.rstrip().endswith(";"), "a file cypher-shell -f can run as is"
    browser = runner.invoke(cypher, ["show", "users_sharing_interest", "--browser", "-p", "user_id=u1"])
    assert browser.exit_code == 0
    assert browser.output.splitlines()[0] == ':params {user_id: "u1", concept: null, limit: 20}'
    assert runner.invoke(cypher, ["show", "user_top_interests", "--browser"]).output.startswith(
        ':params {user_id: "<user_id>", limit: 20}'
    )


@neo4j
def test_cli_run_prints_json_and_tables(graph):
    runner = CliRunner()
    env = _env(graph)
    result = runner.invoke(
        cypher,
        ["run", "user_top_interests", "--param", "user_id=u1", "--param", "limit=2", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["concept"], r["weight"], r["topics"]) for r in rows] == [
        ("science-fiction", 0.9, ["science fiction"]),
        ("desert-planet", 0.6, ["science fiction"]),
    ]

    table = runner.invoke(
        cypher, ["run", "users_sharing_interest", "-p", "user_id=u1"], env={**env, "COLUMNS": "200"}
    )
    assert table.exit_code == 0, table.output
    assert "u2" in table.output and "u3" in table.output and "2 rows" in table.output
    assert "[science-fiction, desert-planet]" in table.output, "list cells are shown, not eaten as markup"

    refused = runner.invoke(cypher, ["run", "user_top_interests"], env=env)
    assert refused.exit_code != 0 and "missing required parameter(s): $user_id" in refused.output
    unknown = runner.invoke(cypher, ["run", "nope"], env=env)
    assert unknown.exit_code != 0 and "saved queries: domain_transitions, explanation_paths" in unknown.output
    wrong = runner.invoke(cypher, ["run", "graph_health"], env={**env, "NEO4J_PASSWORD": "not-the-pw-123"})
    assert (
        wrong.exit_code == 1
        and f"cannot reach Neo4j at {graph.uri} as user 'neo4j': AuthError" in wrong.output
    )
    assert "not-the-pw-123" not in wrong.output and graph.password not in wrong.output


def test_cli_run_without_a_connection_says_how_to_set_one(tmp_path):
    from ikg.neo4j_local import free_port

    runner = CliRunner()
    unset = runner.invoke(
        cypher, ["run", "graph_health"], env={"NEO4J_URI": None, "NEO4J_PASSWORD": "s3cret-pw"}
    )
    assert unset.exit_code == 1
    assert "NEO4J_URI is not set" in unset.output and "export NEO4J_URI=bolt://" in unset.output
    assert "s3cret-pw" not in unset.output
    down = runner.invoke(
        cypher,
        ["run", "graph_health"],
        env={
            "NEO4J_URI": f"bolt://127.0.0.1:{free_port()}",
            "NEO4J_USER": "neo4j",
            "NEO4J_PASSWORD": "s3cret-pw",
        },
    )
    assert down.exit_code == 1 and "cannot reach Neo4j at bolt://127.0.0.1:" in down.output
    assert "s3cret-pw" not in down.output
