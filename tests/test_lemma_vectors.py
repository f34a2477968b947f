"""Extraction embeds and the extraction score matches concepts by their lemma (key) form; the name
people read stays the surface form. So "Thrillers" and "Thriller" get one vector and one weight,
each shown as written. Real spaCy and MiniLM models."""

from __future__ import annotations

import pytest

from encoders import ItemText, get_extractor
from encoders.canonical import key_text
from encoders.evaluation import match_count

pytestmark = pytest.mark.models

DESCRIPTION = "A detective hunts a killer through the rain-soaked streets of Glasgow."


def test_key_text_is_the_lemma_form_or_the_alias_name():
    assert key_text("board-game") == "board game"
    assert key_text("ramen") == "ramen"
    assert key_text("science-fiction") == "science fiction"


def test_a_plural_label_gets_the_weight_of_its_singular_and_keeps_its_written_name():
    extractor = get_extractor("local")
    plural, singular = extractor.extract_items(
        [
            ItemText("a", "Night Rain", DESCRIPTION, ("Thrillers",), (), "books"),
            ItemText("b", "Night Rain", DESCRIPTION, ("Thriller",), (), "books"),
        ]
    )
    as_plural = next(c for c in plural if c.key == "thriller")
    as_singular = next(c for c in singular if c.key == "thriller")
    assert (as_plural.name, as_singular.name) == ("thrillers", "thriller")
    assert as_plural.weight == pytest.approx(as_singular.weight, abs=1e-6)


def test_the_extraction_score_ignores_the_surface_name():
    expected = [("baking", "baking"), ("bread-dough", "bread dough"), ("sourdough", "sourdough")]
    as_lemma = [("dough", "dough"), ("recipe", "recipe"), ("loaf", "loaf")]
    as_written = [("dough", "doughs"), ("recipe", "recipes"), ("loaf", "loaves")]
    assert match_count(as_written, expected) == match_count(as_lemma, expected)
