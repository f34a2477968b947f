"""Cheap GraphSnapshots from item / event DataFrames, for tests, benchmarks and quality checks.

No spaCy here: an item's concepts are its lower-cased categories and the content words of
its description; a user's interests are the concepts of the items they interacted with,
weighted by behaviour (top `max_interests`). Interaction weight per event kind:
view 1, click 1.5, purchase 3, rating `rating / 5 * 3`, dislike -1; repeats add up.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pandas as pd

from kg.store import GraphSnapshot

KIND_WEIGHT = {"view": 1.0, "click": 1.5, "purchase": 3.0, "like": 2.0, "dislike": -1.0}
_STOP = {
    "about",
    "with",
    "through",
    "following",
    "inspired",
    "story",
    "told",
    "meets",
    "their",
    "from",
    "that",
    "this",
    "into",
    "when",
    "where",
    "which",
    "there",
    "these",
    "those",
    "play",
}
_WORD = re.compile(r"[a-z]{4,}")


def item_concepts(items: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Concept key -> weight for each item id."""
    out: dict[str, dict[str, float]] = {}
    for row in items.itertuples(index=False):
        found: dict[str, float] = {}
        for cat in getattr(row, "categories", None) or []:
            found[str(cat).lower()] = 1.0
        for word in _WORD.findall(str(getattr(row, "description", "") or "").lower()):
            if word not in _STOP:
                found.setdefault(word, 0.5)
        out[str(row.item_id)] = found
    return out


def event_weight(kind: str, rating: float | None) -> float:
    if kind == "rating" and rating is not None and rating == rating:
        return float(rating) / 5.0 * 3.0
    return KIND_WEIGHT.get(kind, 1.0)


def interactions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, item) with the summed weight and event count."""
    kinds = events["kind"] if "kind" in events.columns else pd.Series("view", index=events.index)
    ratings = events["rating"] if "rating" in events.columns else pd.Series(np.nan, index=events.index)
    weights = [event_weight(k, r) for k, r in zip(kinds, ratings)]
    frame = pd.DataFrame(
        {"src": events["user_id"].astype(str), "dst": events["item_id"].astype(str), "weight": weights}
    )
    grouped = frame.groupby(["src", "dst"], as_index=False, sort=False)
    return grouped.agg(weight=("weight", "sum"), count=("weight", "size"))


def user_interests(
    inter: pd.DataFrame, concepts: dict[str, dict[str, float]], max_interests: int = 10
) -> pd.DataFrame:
    """INTERESTED_IN rows: each user's top concepts, weight = sum of interaction x concept weight, max 1."""
    score: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for user, item, weight in zip(inter["src"], inter["dst"], inter["weight"]):
        if weight <= 0:
            continue
        for key, w in concepts.get(item, {}).items():
            score[user][key] += weight * w
    rows = []
    for user, found in score.items():
        top = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:max_interests]
        peak = top[0][1]
        rows += [{"src": user, "dst": key, "weight": w / peak} for key, w in top]
    return pd.DataFrame(rows, columns=["src", "dst", "weight"])


def snapshot_from_frames(items: pd.DataFrame, events: pd.DataFrame, max_interests: int = 10) -> GraphSnapshot:
    """A GraphSnapshot with User, Item, Domain, Concept nodes and their edges (no topics)."""
    concepts = item_concepts(items)
    inter = interactions(events)
    has_concept = pd.DataFrame(
        [{"src": i, "dst": c, "weight": w} for i, found in concepts.items() for c, w in found.items()],
        columns=["src", "dst", "weight"],
    )
    concept_keys = sorted(set(has_concept["dst"]))
    users = sorted(set(inter["src"]))
    nodes = {
        "User": pd.DataFrame({"key": users}),
        "Item": pd.DataFrame(
            {
                "key": items["item_id"].astype(str),
                "domain": items["domain"].astype(str),
                "title": items["title"].astype(str),
            }
        ),
        "Domain": pd.DataFrame({"key": sorted(set(items["domain"].astype(str)))}),
        "Concept": pd.DataFrame({"key": concept_keys, "name": concept_keys}),
        "Topic": pd.DataFrame({"key": pd.Series(dtype=str)}),
    }
    edges = {
        "INTERACTED": inter,
        "INTERESTED_IN": user_interests(inter, concepts, max_interests),
        "HAS_CONCEPT": has_concept,
        "IN_DOMAIN": pd.DataFrame({"src": items["item_id"].astype(str), "dst": items["domain"].astype(str)}),
    }
    return GraphSnapshot(nodes=nodes, edges=edges)


def item_text(items: pd.DataFrame) -> list[str]:
    """The text encoded for an item: title, categories and description."""
    cats = items["categories"] if "categories" in items.columns else [[]] * len(items)
    descs = items["description"] if "description" in items.columns else [""] * len(items)
    return [f"{t}. {', '.join(c or [])}. {d or ''}" for t, c, d in zip(items["title"], cats, descs)]
