"""The data types and the extractor protocol shared by every extractor (local, LLM)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SOURCES = frozenset({"noun_chunk", "entity", "category", "tag", "llm", "review"})
"""Allowed values of ExtractedConcept.source (provenance of a concept)."""


@dataclass(frozen=True)
class ItemText:
    """What an item says about itself: the input of item concept extraction."""

    item_id: str
    title: str
    description: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    domain: str = ""


@dataclass(frozen=True)
class ExtractedConcept:
    """One weighted concept found in a text.

    key: canonical deterministic slug ("science-fiction"); name: display form;
    weight: relevance in (0, 1]; source: provenance, one of SOURCES.
    """

    key: str
    name: str
    weight: float
    source: str


@runtime_checkable
class ConceptExtractor(Protocol):
    """Text -> weighted concepts. kg/ depends only on this interface."""

    def extract_items(
        self, items: Sequence[ItemText], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Top concepts per item (default at most 8), best first."""
        ...

    def extract_reviews(
        self, texts: Sequence[str], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Interest points (source="review", default at most 5) per review text; [] when empty or generic."""
        ...
