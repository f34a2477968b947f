"""Item and review concept extraction with the real spaCy pipeline and the real MiniLM model."""

from __future__ import annotations

import time

import numpy as np
import pytest

from encoders import ExtractedConcept, ItemText, get_extractor
from encoders.canonical import canonical_key
from encoders.local import LocalExtractor
from encoders.text_encoder import get_text_encoder
from encoders.textclean import MAX_CHARS, clean_text, looks_english
from encoders.types import SOURCES

pytestmark = pytest.mark.models

DUNE = ItemText(
    "b1",
    "Dune",
    "A sweeping sci-fi epic set on a desert planet, where a young heir is caught in political intrigue, "
    "religious prophecy and a war over the spice that giant sandworms guard.",
    categories=("Books > Science Fiction & Fantasy > Science Fiction",),
    tags=("political intrigue", "ecology"),
    domain="books",
)
SKILLET = ItemText(
    "k1",
    "Cast Iron Skillet, 12-inch, 2-pack",
    "<p>Great product! This pre-seasoned <b>cast iron skillet</b> is perfect for searing steaks &amp; "
    "baking cornbread. Oven safe to 500 degrees.</p>",
    categories=("Home & Kitchen > Kitchen & Dining > Cookware > Skillets",),
    domain="kitchen",
)
JAZZ = ItemText(
    "m1",
    "Blue Hour Sessions",
    "A late-night modal jazz album with Miles Davis on trumpet and a tenor saxophone; relaxed improvisation.",
    categories=("CDs & Vinyl > Jazz > Cool Jazz",),
    domain="music",
)


@pytest.fixture(scope="module")
def extractor() -> LocalExtractor:
    return get_extractor("local")


@pytest.fixture(scope="module")
def extracted(extractor):
    return extractor.extract_items([DUNE, SKILLET, JAZZ])


def keys(concepts: list[ExtractedConcept]) -> list[str]:
    return [c.key for c in concepts]


def test_sci_fi_description_yields_science_fiction(extractor):
    item = ItemText(
        "b2",
        "Starfall",
        "A sci-fi novel about a mining colony on a frozen moon and the rebellion of its robots.",
    )
    assert "science-fiction" in keys(extractor.extract_items([item])[0])


def test_concepts_come_from_text_categories_and_tags_with_provenance(extracted):
    by_key = {c.key: c for c in extracted[0]}
    assert by_key["science-fiction"].source == "category"
    assert by_key["political-intrigue"].source == "tag"
    assert any(c.source == "noun_chunk" for c in extracted[0])
    assert {"jazz", "cool-jazz"} & set(keys(extracted[2]))
    assert "saxophone" in keys(extracted[2]) or "tenor-saxophone" in keys(extracted[2])


def test_at_most_eight_concepts_weighted_in_unit_interval_with_known_sources(extracted):
    for concepts in extracted:
        assert 0 < len(concepts) <= 8
        assert len(set(keys(concepts))) == len(concepts)
        for c in concepts:
            assert 0 < c.weight <= 1
            assert c.source in SOURCES
            assert c.key == canonical_key(c.key.replace("-", " ")) or c.key in canonical_key(c.key)


def test_generic_phrases_units_and_numbers_are_dropped(extracted, extractor):
    generic = ItemText(
        "g1",
        "Value Pack",
        "This book is a great product. It comes in a 12 oz jar, 3-pack, 500 ml. I love it.",
        domain="kitchen",
    )
    got = keys(extractor.extract_items([generic])[0]) + keys(extracted[1])
    for bad in ("book", "product", "great-product", "it", "12-oz", "oz", "3-pack", "500-ml", "500", "i"):
        assert bad not in got


def test_html_is_stripped_and_the_product_type_is_found(extracted):
    skillet = extracted[1]
    assert "cast-iron-skillet" in keys(skillet)
    assert not any("<" in c.name or "&amp" in c.name for c in skillet)
    assert not any(c.key.startswith(("12", "inch", "2-pack")) for c in skillet)


def test_category_path_root_is_skipped_and_plural_folds_to_singular(extracted):
    assert "book" not in keys(extracted[0])
    assert "skillet" in keys(extracted[1])


def test_keys_are_deterministic_whatever_the_order_and_cache_state():
    first = LocalExtractor().extract_items([DUNE, SKILLET, JAZZ])
    again = LocalExtractor().extract_items([JAZZ, DUNE, SKILLET])
    assert first == [again[1], again[2], again[0]]


def test_standalone_phrase_vectors_find_the_same_core_concepts():
    got = LocalExtractor(phrase_vectors="standalone").extract_items([DUNE])[0]
    assert "science-fiction" in keys(got)


def test_reviews_yield_interest_points_and_nothing_for_generic_or_empty_text(extractor):
    got = extractor.extract_reviews(
        [
            "I loved the slow-burning romance and the Victorian London setting; the murder mystery kept me guessing.",
            "Great product, would buy again!",
            "",
            "This book is great. I love it.",
        ]
    )
    assert "murder-mystery" in keys(got[0])
    assert 0 < len(got[0]) <= 5 and all(c.source == "review" for c in got[0])
    assert got[1] == [] and got[2] == [] and got[3] == []


def test_empty_non_english_and_very_long_texts_never_crash(extractor):
    items = [
        ItemText("e1", ""),
        ItemText("e2", "東京物語", "小津安二郎監督の家族ドラマ", categories=("Movies & TV > Drama",)),
        ItemText("e3", "Sourdough", "Bread baking with a sourdough starter. " * 3000),
        ItemText("e4", "   ", "<div><script>alert(1)</script></div>"),
    ]
    start = time.perf_counter()
    got = extractor.extract_items(items, show_progress=True)
    assert time.perf_counter() - start < 30
    assert got[0] == [] and got[3] == []
    assert got[1][0].key == "drama" and all(c.source == "category" for c in got[1])
    assert "sourdough" in " ".join(keys(got[2]))


def test_entities_option_adds_entity_provenance():
    got = LocalExtractor(use_entities=True).extract_items([JAZZ])[0]
    assert any(c.source == "entity" and c.key == "miles-davis" for c in got)


def test_text_cleaning_rules():
    assert clean_text("<p>Fish &amp; chips</p><br>today") == "Fish & chips. today"
    assert clean_text(None) == ""
    long = clean_text("word " * 5000)
    assert len(long) <= MAX_CHARS and not long.endswith(" ")
    assert looks_english("A quiet story about a family and their old house by the sea.")
    assert not looks_english("小津安二郎監督の家族ドラマ")
    assert not looks_english("Una novela sobre una familia que vive en una casa junto al mar durante años")


def test_one_model_pass_gives_text_vectors_equal_to_encode_and_phrase_vectors():
    enc = get_text_encoder()
    texts = ["A science fiction saga on a desert planet.", "Cast iron skillet for searing steaks."]
    docs, spans = enc.encode_with_spans(texts, [[(2, 17)], [(0, 17), (500, 510)]])
    assert np.allclose(docs, enc.encode(texts), atol=1e-5)
    standalone = enc.encode(["science fiction", "cast iron skillet"])
    assert float(spans[0][0] @ standalone[0]) > 0.5 and float(spans[1][0] @ standalone[1]) > 0.7
    assert not spans[1][1].any()


def test_unknown_extractor_kind_is_an_error():
    with pytest.raises(ValueError):
        get_extractor("magic")
