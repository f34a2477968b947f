"""Concept resolution across the corpus with the real MiniLM model: hand-written cases."""

from __future__ import annotations

import random

import numpy as np
import pytest

from encoders import MERGE_THRESHOLD, ConceptVocabulary, get_text_encoder, resolve_concepts

pytestmark = pytest.mark.models

NAMES = {
    "sci-fi": "sci-fi",
    "science-fiction": "science fiction",
    "movies": "movies",
    "movie": "movie",
    "horror-movie": "horror movie",
    "horror-film": "horror film",
    "kids": "kids",
    "children": "children",
    "apple-pie": "apple pie",
    "apple-watch": "apple watch",
    "python-snake": "python snake",
    "python-programming": "python programming",
    "vegan-recipes": "vegan recipes",
    "vegetarian-recipes": "vegetarian recipes",
    "red-wine": "red wine",
    "white-wine": "white wine",
    "hip-hop": "hip hop",
    "rap": "rap",
}
COUNTS = {"movie": 5, "movies": 2, "horror-film": 3, "horror-movie": 1, "sci-fi": 4, "science-fiction": 1}


@pytest.fixture(scope="module")
def vocab() -> ConceptVocabulary:
    return resolve_concepts(NAMES, COUNTS)


@pytest.mark.parametrize(
    "a, b",
    [
        ("sci-fi", "science-fiction"),
        ("movies", "movie"),
        ("horror-movie", "horror-film"),
        ("kids", "children"),
    ],
)
def test_near_duplicates_merge(vocab, a, b):
    assert vocab.canonical(a) == vocab.canonical(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("apple-pie", "apple-watch"),
        ("python-snake", "python-programming"),
        ("vegan-recipes", "vegetarian-recipes"),
        ("red-wine", "white-wine"),
        ("hip-hop", "rap"),
    ],
)
def test_distinct_concepts_stay_apart(vocab, a, b):
    assert vocab.canonical(a) != vocab.canonical(b)


def test_canonical_spelling_is_the_alias_target_or_the_most_frequent(vocab):
    assert vocab.canonical("sci-fi") == "science-fiction"
    assert vocab.names["science-fiction"] == "science fiction"
    assert vocab.canonical("movies") == "movie"
    assert vocab.canonical("horror-movie") == "horror-film"
    assert vocab.aliases["horror-film"] == ["horror-movie"]


def test_vocabulary_shape_and_rows(vocab):
    assert vocab.keys == sorted(vocab.keys)
    assert vocab.vectors.shape == (len(vocab.keys), 384)
    assert all(vocab.canonical(k) == k for k in vocab.keys)
    row = vocab.keys.index("apple-pie")
    expected = get_text_encoder().encode(["apple pie"])[0]
    assert float(vocab.vectors[row] @ expected) > 0.999
    assert 0.8 < MERGE_THRESHOLD < 0.9


def test_result_does_not_depend_on_input_order(vocab):
    items = list(NAMES.items())
    for seed in (1, 2):
        random.Random(seed).shuffle(items)
        again = resolve_concepts(dict(items), dict(reversed(list(COUNTS.items()))))
        assert again.keys == vocab.keys
        assert again.aliases == vocab.aliases
        assert again.names == vocab.names


def test_incremental_refresh_keeps_existing_canonicals(vocab):
    new = {"horror-movies": "horror movies", "film": "film", "films": "films", "jazz": "jazz", "ww2": "WW2"}
    grown = resolve_concepts(new, existing=vocab)
    assert set(vocab.keys) <= set(grown.keys)
    for k in vocab.keys:
        assert np.allclose(grown.vectors[grown.keys.index(k)], vocab.vectors[vocab.keys.index(k)])
        assert grown.names[k] == vocab.names[k]
    assert grown.canonical("horror-movies") == "horror-film"
    assert grown.canonical("horror-movie") == "horror-film"
    assert grown.canonical("films") == "film"
    assert grown.canonical("ww2") == "world-war-ii"
    assert "jazz" in grown.keys


def test_empty_input_gives_an_empty_vocabulary():
    empty = resolve_concepts({})
    assert empty.keys == [] and empty.vectors.shape == (0, 384)
