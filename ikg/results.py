"""Plain result types of the public API; each converts to dicts, JSON and DataFrames."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


class _Plain:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)


def to_frame(results: Any) -> pd.DataFrame:
    """Any result of the API as one DataFrame, one row per record (nested fields stay Python objects).

    Takes: a list of `Recommendation` (from `recommend`), the dict of `recommend_batch` (rows
    of every user, in the dict's order), a `Migration` (one row per recommended item, with
    `target_domain` and `migration_cold_start`; its bridges via `to_frame(m.bridges)`), a `Profile`
    (one row per interest point; topics and drift via `pd.DataFrame(p.topics)` / `p.drift`),
    a list of `Explanation`, `Bridge` or `Interest`, or any single result (one row).
    """
    if isinstance(results, Recommendations):
        return _frame(results, Recommendation)
    if isinstance(results, Mapping):
        rows = [r for recs in results.values() for r in _records(recs, "recommend_batch value")]
        return _frame(rows, Recommendation)
    if isinstance(results, Migration):
        frame = _frame(results.items, Recommendation)
        frame.insert(1, "target_domain", results.target_domain)
        frame["migration_cold_start"] = results.cold_start
        return frame
    if isinstance(results, Profile):
        frame = _frame(results.interests, Interest)
        frame.insert(0, "user_id", results.user_id)
        return frame
    if isinstance(results, _Plain):
        return pd.DataFrame([results.to_dict()])
    rows = _records(results, "to_frame")
    return _frame(rows, type(rows[0]) if rows else None)


def _records(values: Any, where: str) -> list[_Plain]:
    """The result objects of a list, or TypeError saying what to_frame takes."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{where}: expected a list of results, got {type(values).__name__}; to_frame takes a list of "
            "Recommendation/Explanation/Bridge/Interest, the dict of recommend_batch, a Migration or a Profile"
        )
    rows = list(values)
    for r in rows:
        if not isinstance(r, _Plain):
            raise TypeError(
                f"{where}: {type(r).__name__} is not an ikg result (see ikg.to_frame's docstring)"
            )
    return rows


def _frame(rows: Sequence[_Plain], kind: type | None) -> pd.DataFrame:
    """Rows as a DataFrame; an empty list still has its type's columns."""
    if rows:
        return pd.DataFrame([r.to_dict() for r in rows])
    columns = [f.name for f in dataclasses.fields(kind)] if kind and dataclasses.is_dataclass(kind) else []
    return pd.DataFrame(columns=columns)


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
    version: str | None = None
    """The serving version (graph + vectors) this answer came from."""
    cold_start: bool = False
    """True when the user has no history in the graph: the item is only popular, not personal."""

    @property
    def match(self) -> str:
        return f"{round(100 * self.similarity)}% match"

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives (fresh copies of components and reasons), without its
        generic deep-copy walk, which cost more than scoring on a served request."""
        out = {name: getattr(self, name) for name in _RECOMMENDATION_FIELDS}
        out["components"] = dict(self.components)
        out["reasons"] = list(self.reasons)
        return out


_RECOMMENDATION_FIELDS = tuple(f.name for f in dataclasses.fields(Recommendation))


class Recommendations(list):
    """The list `recommend` returns; `cold_start` is True when the user had no history (popular items)."""

    def __init__(self, items: Iterable[Recommendation] = (), cold_start: bool = False) -> None:
        super().__init__(items)
        self.cold_start = cold_start


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
    version: str | None = None


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
    version: str | None = None
    cold_start: bool = False
    """True when the user has no history in the graph (the profile is empty)."""
    drift_windows: list[dict[str, str]] = field(default_factory=list)
    """The periods of `drift[*]["by_window"]`, in order: {"start", "end"} as ISO-8601 UTC times."""


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
