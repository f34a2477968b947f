"""Plain result types of the public API; each converts to dicts, JSON and DataFrames."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


class _Plain:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)


def to_frame(results: Sequence[_Plain]) -> pd.DataFrame:
    """A list of results as one DataFrame (nested fields stay as Python objects)."""
    return pd.DataFrame([r.to_dict() for r in results])


@dataclass
class PathStep(_Plain):
    """One node on an explanation path."""

    label: str
    key: str
    name: str


@dataclass
class Explanation(_Plain):
    """A real graph path from a user to an item, its strength, and Cypher that returns it."""

    kind: str
    nodes: list[PathStep]
    rels: list[str]
    score: float
    text: str
    cypher: str
    params: dict[str, str]


@dataclass
class Recommendation(_Plain):
    """One recommended item: blended score, a readable 0-1 match, components and top reasons."""

    user_id: str
    item_id: str
    title: str
    domain: str
    score: float
    similarity: float
    components: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def match(self) -> str:
        return f"{round(100 * self.similarity)}% match"


@dataclass
class Bridge(_Plain):
    """An interest carried into a target domain: the concept, what it came from, where it leads."""

    concept: str
    name: str
    weight: float
    source_items: list[str]
    target_items: list[str]
    via: str


@dataclass
class Migration(_Plain):
    """A user's interests carried into `target_domain`, with bridges and recommended items."""

    user_id: str
    target_domain: str
    cold_start: bool
    bridges: list[Bridge]
    items: list[Recommendation]


@dataclass
class Interest(_Plain):
    key: str
    name: str
    weight: float
    domains: list[str]
    source: str


@dataclass
class Profile(_Plain):
    """A user's interest points and topics with weights, per domain, and their drift over time."""

    user_id: str
    interests: list[Interest]
    topics: list[dict[str, Any]]
    domains: dict[str, int]
    drift: list[dict[str, Any]]


@dataclass
class RefreshReport(_Plain):
    """What a refresh job did."""

    noop: bool
    model_version: str | None
    counts: dict[str, int]
    written: dict[str, int]
    new_items: int
    new_events: int
    quarantined: int
    timings: dict[str, float]
    graph: dict[str, int] = field(default_factory=dict)
    gnn: dict[str, Any] = field(default_factory=dict)
    blend: dict[str, Any] = field(default_factory=dict)
