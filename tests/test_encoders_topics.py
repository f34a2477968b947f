"""Topic induction and related-concept links over a small cross-domain vocabulary (real MiniLM)."""

from __future__ import annotations

import pytest

from encoders import ConceptVocabulary, induce_topics, related_concepts, resolve_concepts

pytestmark = pytest.mark.models

CONCEPTS = {
    "baking": ({"books", "kitchen"}, "baking"),
    "sourdough-bread": ({"books", "kitchen"}, "sourdough bread"),
    "cake": ({"kitchen"}, "cake"),
    "pastry": ({"kitchen", "films"}, "pastry"),
    "jazz": ({"music"}, "jazz"),
    "saxophone": ({"music"}, "saxophone"),
    "blues": ({"music", "films"}, "blues"),
    "trumpet": ({"music"}, "trumpet"),
    "horror-film": ({"films"}, "horror film"),
    "ghost-story": ({"books", "films"}, "ghost story"),
    "haunted-house": ({"films", "books"}, "haunted house"),
    "zombie": ({"films"}, "zombie"),
}
DOMAINS = {k: d for k, (d, _) in CONCEPTS.items()}


@pytest.fixture(scope="module")
def vocab() -> ConceptVocabulary:
    return resolve_concepts({k: n for k, (_, n) in CONCEPTS.items()})


@pytest.fixture(scope="module")
def topics(vocab):
    return induce_topics(vocab, DOMAINS, n_topics=3)


def topic_of(topics, key):
    return next(t for t in topics if key in t.members)


def test_concepts_cluster_into_named_topics(topics):
    assert len(topics) == 3
    assert topic_of(topics, "baking") is topic_of(topics, "cake")
    assert topic_of(topics, "jazz") is topic_of(topics, "saxophone")
    assert topic_of(topics, "ghost-story") is topic_of(topics, "haunted-house")
    assert topic_of(topics, "jazz") is not topic_of(topics, "baking")
    for t in topics:
        assert t.name and t.id.startswith("topic:") and t.id[len("topic:") :] in t.members


def test_every_concept_in_at_most_one_topic_with_weights_in_unit_interval(topics, vocab):
    seen = [k for t in topics for k in t.members]
    assert len(seen) == len(set(seen)) and set(seen) <= set(vocab.keys)
    assert all(0 < w <= 1 for t in topics for w in t.members.values())


def test_a_topic_spans_the_domains_of_its_concepts(topics):
    horror = topic_of(topics, "haunted-house")
    assert set(horror.domains) == set().union(*(DOMAINS[k] for k in horror.members))
    assert {"books", "films"} <= set(horror.domains)


def test_topic_ids_are_stable_between_runs_on_unchanged_data(vocab, topics):
    again = induce_topics(
        resolve_concepts({k: n for k, (_, n) in reversed(CONCEPTS.items())}), DOMAINS, n_topics=3
    )
    assert [(t.id, t.members) for t in again] == [(t.id, t.members) for t in topics]


def test_default_topic_count_and_empty_vocabulary(vocab):
    assert 1 <= len(induce_topics(vocab)) <= len(vocab.keys)
    assert induce_topics(resolve_concepts({})) == []


def test_related_concepts_are_directed_nearest_neighbours(vocab):
    pairs = related_concepts(vocab, k=2, min_score=0.3)
    assert pairs and all(src != dst and 0.3 <= s <= 1 for src, dst, s in pairs)
    per_src: dict[str, int] = {}
    for src, _, _ in pairs:
        per_src[src] = per_src.get(src, 0) + 1
    assert max(per_src.values()) <= 2
    assert ("horror-film", "zombie") in {(a, b) for a, b, _ in pairs} or ("horror-film", "haunted-house") in {
        (a, b) for a, b, _ in pairs
    }
    assert related_concepts(vocab, k=5, min_score=0.99) == []
