"""encoders: text -> concepts (interest points, keywords, topics) and vectors. No graph code.

Entry points used by kg/:
- get_extractor("local" | "llm", **options) -> ConceptExtractor (extract_items, extract_reviews)
- resolve_concepts(...) -> ConceptVocabulary (near-duplicate merge across the corpus)
- induce_topics(vocab, ...) -> list[Topic];  related_concepts(vocab, ...) -> RELATED_TO pairs
- get_text_encoder().encode(texts) -> (n, 384) L2-normalised float32 vectors
"""

from __future__ import annotations

from typing import Any

from encoders.canonical import canonical_key
from encoders.resolution import MERGE_THRESHOLD, ConceptVocabulary, most_frequent_names, resolve_concepts
from encoders.text_encoder import get_text_encoder
from encoders.topics import Topic, induce_topics, related_concepts
from encoders.types import ConceptExtractor, ExtractedConcept, ItemText


def get_extractor(kind: str = "local", **options: Any) -> ConceptExtractor:
    """A concept extractor.

    "local" (default): LocalExtractor(**options) -- spaCy + MiniLM, no network.
    "llm": LLMExtractor(base_url=..., model=..., api_key_env=..., cache_dir=..., max_calls=...,
    max_tokens=..., concurrency=..., ...) -- an OpenAI-compatible endpoint that falls back to
    the local extractor on failure.
    """
    if kind == "local":
        from encoders.local import LocalExtractor

        return LocalExtractor(**options)
    if kind == "llm":
        from encoders.llm import LLMExtractor

        return LLMExtractor(**options)
    raise ValueError(f"unknown extractor kind {kind!r}; expected 'local' or 'llm'")


__all__ = [
    "MERGE_THRESHOLD",
    "ConceptExtractor",
    "ConceptVocabulary",
    "ExtractedConcept",
    "ItemText",
    "Topic",
    "canonical_key",
    "get_extractor",
    "get_text_encoder",
    "induce_topics",
    "most_frequent_names",
    "related_concepts",
    "resolve_concepts",
]
