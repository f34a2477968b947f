"""Concept names and topics on a small mixed catalog (podcasts, board games, hiking gear), real models.

The catalog (tests/data/mixed_catalog.jsonl, written for this test) is the kind a new user
brings: foreign food words ("ramen"), fields in -ics ("astrophysics"), nouns with no singular
("binoculars"), proper nouns ("Tokyo", "Appalachian Trail"), and themes that share few words.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from encoders import ItemText, get_extractor, induce_topics, most_frequent_names, resolve_concepts
from encoders.canonical import singular_of
from encoders.topics import MAX_TOPIC_SHARE

CATALOG = Path(__file__).resolve().parent / "data" / "mixed_catalog.jsonl"


@pytest.mark.parametrize(
    ("word", "lemma", "expected"),
    [
        ("ramen", "raman", "ramen"),
        ("astrophysics", "astrophysic", "astrophysics"),
        ("linguistics", "linguistic", "linguistics"),
        ("binoculars", "binocular", "binoculars"),
        ("fabrics", "fabric", "fabric"),
        ("stories", "story", "story"),
        ("knives", "knife", "knife"),
        ("boxes", "box", "box"),
        ("games", "game", "game"),
        ("children", "child", "child"),
        ("fishermen", "fisherman", "fisherman"),
        ("omen", "oman", "omen"),
    ],
)
def test_a_lemma_is_kept_only_when_it_is_a_plausible_english_singular(word, lemma, expected):
    assert singular_of(word, lemma) == expected


def test_the_most_frequent_surface_form_names_a_key():
    keys = ["board-game", "board-game", "board-game", "movie"]
    names = ["board games", "board games", "board game", "movies"]
    assert most_frequent_names(keys, names) == {"board-game": "board games", "movie": "movies"}
    assert most_frequent_names(["a", "a"], ["x", "w"]) == {"a": "w"}


@pytest.fixture(scope="module")
def extracted():
    rows = [json.loads(line) for line in CATALOG.read_text().splitlines() if line.strip()]
    items = [
        ItemText(
            r["item_id"], r["title"], r["description"], tuple(r["categories"]), tuple(r["tags"]), r["domain"]
        )
        for r in rows
    ]
    found = get_extractor("local").extract_items(items)
    return [c for concepts in found for c in concepts]


@pytest.fixture(scope="module")
def vocab(extracted):
    keys = [c.key for c in extracted]
    return resolve_concepts(most_frequent_names(keys, [c.name for c in extracted]), Counter(keys))


@pytest.mark.models
def test_concept_names_are_what_a_person_wrote(extracted, vocab):
    names = {c.name.lower() for c in extracted}
    assert {"ramen", "astrophysics", "binoculars"} <= names
    assert not {"raman", "astrophysic", "binocular"} & names
    assert {"ramen", "astrophysics", "binoculars"} <= set(vocab.keys)
    shown = {n.lower() for n in vocab.names.values()}
    assert {"ramen", "astrophysics", "binoculars"} <= shown


@pytest.mark.models
def test_proper_nouns_keep_their_case_and_plurals_share_a_lemma_key(extracted, vocab):
    names = {c.name for c in extracted}
    assert {"Tokyo", "Appalachian Trail", "Himalayas"} <= names
    assert "himalayas" in vocab.keys and "himalaya" not in vocab.keys
    assert vocab.names["hiking-boot"] == "hiking boots"
    assert {c.key for c in extracted if c.name == "hiking boots"} == {"hiking-boot"}


@pytest.mark.models
def test_no_topic_is_a_catch_all_on_a_mixed_catalog(vocab):
    topics = induce_topics(vocab)
    largest = max(len(t.members) for t in topics)
    assert largest <= MAX_TOPIC_SHARE * len(vocab.keys), [(t.name, len(t.members)) for t in topics]

    def topic_of(key: str) -> str | None:
        return next((t.id for t in topics if key in t.members), None)

    assert topic_of("military") is not None and topic_of("clothing") is not None
    assert topic_of("military") != topic_of("clothing")
    assert topic_of("military") == topic_of("weapon")
    assert topic_of("ramen") != topic_of("military")
    for t in topics:
        first = t.name.split(", ")[0]
        assert vocab.names[t.id.removeprefix("topic:")] == first
    assert [(t.id, t.members) for t in induce_topics(vocab)] == [(t.id, t.members) for t in topics]
