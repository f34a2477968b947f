"""Graph construction: clean items, interactions and extracted concepts -> node and edge rows.

Pure functions over DataFrames; `write_graph` is the only one that touches a store. Each
derived table has a stable row key so refresh jobs can diff old against new and write
only what changed (`diff_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from kg.schema import is_missing
from kg.store import GraphStore

INTEREST_TOP_N = 40
"""A user's INTERESTED_IN edges keep their strongest concepts only."""

REVIEW_INTEREST_WEIGHT = 0.5
"""Weight of an interest point found in a user's own review, relative to their top behaviour concept."""

NODE_ORDER = ["Domain", "Item", "User", "Concept", "Topic"]
EDGE_ORDER = ["IN_DOMAIN", "HAS_CONCEPT", "INTERACTED", "INTERESTED_IN", "IN_TOPIC", "RELATED_TO"]


@dataclass
class GraphRows:
    """Node and edge rows ready for `GraphStore.upsert_nodes` / `upsert_edges`."""

    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    edges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {**{k: len(v) for k, v in self.nodes.items()}, **{k: len(v) for k, v in self.edges.items()}}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts without missing values (NaN/None mean "not set").

    Built column-wise (`tolist` is bulk) because `to_dict("records")` is slow on Arrow strings.
    """
    columns = list(frame.columns)
    values = [frame[c].tolist() for c in columns]
    rows = [dict(zip(columns, row)) for row in zip(*values)]
    for column in columns:
        if frame[column].isna().any():
            for rec in rows:
                if is_missing(rec[column]):
                    del rec[column]
    return rows


def item_rows(items: pd.DataFrame) -> tuple[list[dict], list[dict], list[dict]]:
    """Item nodes, Domain nodes and IN_DOMAIN edges from clean items."""
    frame = items.rename(columns={"item_id": "id"})
    keep = [c for c in ("id", "domain", "title", "description", "categories", "tags", "popularity") if c in frame]
    nodes = []
    for rec in records(frame[keep]):
        for col in ("categories", "tags"):
            if col in rec:
                rec[col] = [str(x) for x in rec[col]]
        nodes.append(rec)
    domains = [{"name": d} for d in sorted(items["domain"].unique())]
    in_domain = [{"src": i, "dst": d} for i, d in zip(items["item_id"], items["domain"])]
    return nodes, domains, in_domain


def interaction_rows(interactions: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """User nodes and INTERACTED edges from aggregated interactions (kg.weights)."""
    users = interactions.groupby("user_id").agg(first_ts=("first_ts", "min"), last_ts=("last_ts", "max"))
    user_nodes = records(users.reset_index().rename(columns={"user_id": "id"}))
    cols = ["user_id", "item_id", "kind", "weight", "count", "rating", "first_ts", "last_ts"]
    edges = records(interactions[cols].rename(columns={"user_id": "src", "item_id": "dst"}))
    return user_nodes, edges


def user_interests(
    interactions: pd.DataFrame,
    item_concepts: pd.DataFrame,
    items: pd.DataFrame,
    review_concepts: pd.DataFrame | None = None,
    top_n: int = INTEREST_TOP_N,
) -> pd.DataFrame:
    """A user's interest points: concepts of what they engaged with, weighted by behaviour.

    weight(u, c) = sum over items i of max(w_ui, 0) * w_ic, scaled so the user's strongest
    concept is 1; plus concepts from the user's own reviews at REVIEW_INTEREST_WEIGHT * review
    weight; capped at 1. Disliked items add nothing. Each user keeps their `top_n` strongest.
    Returns user_id, key, weight, source ("behaviour", "review" or both), domains.
    """
    columns = ["user_id", "key", "weight", "source", "domains"]
    domain_of = items[["item_id", "domain"]]
    positive = interactions.loc[interactions["weight"] > 0, ["user_id", "item_id", "weight"]]
    joined = positive.merge(item_concepts[["item_id", "key", "weight"]], on="item_id", suffixes=("_ui", "_ic"))
    joined = joined.assign(w=joined["weight_ui"] * joined["weight_ic"]).merge(domain_of, on="item_id")
    behaviour = joined.groupby(["user_id", "key"])["w"].sum()
    if len(behaviour):
        behaviour = behaviour / behaviour.groupby(level="user_id").transform("max")
    parts = [joined[["user_id", "key", "domain"]]]
    review = pd.Series(dtype=float)
    if review_concepts is not None and len(review_concepts):
        rev = review_concepts.merge(domain_of, on="item_id", how="left")
        review = rev.groupby(["user_id", "key"])["weight"].max() * REVIEW_INTEREST_WEIGHT
        parts.append(rev[["user_id", "key", "domain"]])
    if len(review) and len(behaviour):
        total = behaviour.add(review, fill_value=0.0)
    else:
        total = behaviour if len(behaviour) else review
    total = total.clip(upper=1.0).round(6)
    if total.empty:
        return pd.DataFrame(columns=columns)
    in_b = total.index.isin(behaviour.index) if len(behaviour) else np.zeros(len(total), bool)
    in_r = total.index.isin(review.index) if len(review) else np.zeros(len(total), bool)
    out = total.rename("weight").reset_index()
    out["source"] = np.where(in_b & in_r, "behaviour+review", np.where(in_b, "behaviour", "review"))
    out = out.sort_values(["user_id", "weight", "key"], ascending=[True, False, True])
    out = out.groupby("user_id", sort=False).head(top_n)
    out["domains"] = _domain_lists(out, pd.concat(parts, ignore_index=True))
    return out[columns].reset_index(drop=True)


def _domain_lists(kept: pd.DataFrame, pairs: pd.DataFrame) -> list[list[str]]:
    """For each (user_id, key) row of `kept`, the sorted domains it was seen in (bitmask groupby)."""
    pairs = pairs.dropna(subset=["domain"]).drop_duplicates()
    names = sorted(pairs["domain"].unique())
    code = {d: 1 << i for i, d in enumerate(names)}
    masks = pairs.assign(m=pairs["domain"].map(code).astype("int64")).groupby(["user_id", "key"])["m"].sum()
    row_masks = masks.reindex(pd.MultiIndex.from_frame(kept[["user_id", "key"]])).fillna(0).astype("int64")
    decode = {m: [d for d in names if m & code[d]] for m in set(row_masks.tolist())}
    return [decode[m] for m in row_masks.tolist()]


def interest_rows(interests: pd.DataFrame, updated: float) -> list[dict]:
    """INTERESTED_IN edges from `user_interests`."""
    frame = interests.rename(columns={"user_id": "src", "key": "dst"}).copy()
    frame["updated"] = float(updated)
    return records(frame[["src", "dst", "weight", "source", "updated", "domains"]])


def concept_rows(
    vocab_names: Mapping[str, str],
    aliases: Mapping[str, list[str]],
    item_concepts: pd.DataFrame,
    origins: Mapping[str, str] | None = None,
) -> list[dict]:
    """Concept nodes with document frequency (how many items carry them)."""
    df = item_concepts.groupby("key")["item_id"].nunique().to_dict() if len(item_concepts) else {}
    rows = []
    for key in sorted(vocab_names):
        row = {"key": key, "name": vocab_names[key], "df": int(df.get(key, 0)),
               "aliases": list(aliases.get(key, [])), "origin": (origins or {}).get(key, "item")}
        rows.append(row)
    return rows


def has_concept_rows(item_concepts: pd.DataFrame) -> list[dict]:
    """HAS_CONCEPT edges."""
    return records(item_concepts.rename(columns={"item_id": "src", "key": "dst"})[["src", "dst", "weight", "source"]])


def topic_rows(topics: Iterable[Any]) -> tuple[list[dict], list[dict]]:
    """Topic nodes and IN_TOPIC edges from `encoders.induce_topics` results."""
    nodes, edges = [], []
    for topic in topics:
        nodes.append({"id": topic.id, "name": topic.name, "size": len(topic.members),
                      "domains": list(getattr(topic, "domains", ()) or ())})
        edges.extend({"src": key, "dst": topic.id, "weight": float(w)} for key, w in sorted(topic.members.items()))
    return nodes, edges


def related_rows(pairs: Iterable[tuple[str, str, float]]) -> list[dict]:
    """RELATED_TO edges from `encoders.related_concepts` pairs."""
    return [{"src": a, "dst": b, "score": round(float(s), 6)} for a, b, s in pairs]


def row_key(row: Mapping[str, Any]) -> tuple:
    """The identity of a node or edge row: its endpoints, or its key property."""
    if "src" in row:
        return (row["src"], row["dst"])
    for key in ("id", "key", "name"):
        if key in row:
            return (row[key],)
    raise KeyError("row has no key")


def _comparable(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def diff_rows(old: list[dict], new: list[dict]) -> tuple[list[dict], list[tuple]]:
    """Rows of `new` that are added or changed against `old`, and keys present only in `old`."""
    before = {row_key(r): {k: _comparable(v) for k, v in r.items()} for r in old}
    changed = [r for r in new if before.get(row_key(r)) != {k: _comparable(v) for k, v in r.items()}]
    new_keys = {row_key(r) for r in new}
    removed = [k for k in before if k not in new_keys]
    return changed, removed


def write_graph(store: GraphStore, changed: GraphRows, removed: GraphRows | None = None,
                progress: Any = None) -> dict[str, int]:
    """Write changed rows (nodes first, then edges) and delete removed ones; return counts written."""
    written: dict[str, int] = {}
    for label in NODE_ORDER:
        rows = changed.nodes.get(label) or []
        if rows:
            written[label] = store.upsert_nodes(label, rows)
        if progress:
            progress(label)
    for rel in EDGE_ORDER:
        rows = changed.edges.get(rel) or []
        if rows:
            written[rel] = store.upsert_edges(rel, rows)
        if removed is not None and removed.edges.get(rel):
            written[f"-{rel}"] = store.delete_edges(rel, [tuple(k) for k in removed.edges[rel]])
        if progress:
            progress(rel)
    if removed is not None:
        for label in reversed(NODE_ORDER):
            keys = [k[0] for k in removed.nodes.get(label) or []]
            if keys:
                written[f"-{label}"] = store.delete_nodes(label, keys)
    return written
