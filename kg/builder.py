"""Graph construction: clean items, interactions and extracted concepts -> node and edge rows.

Pure functions from DataFrames to DataFrames (node and edge rows, one column per property);
`write_graph` is the only one that touches a store. Each derived table has a stable row key
so refresh jobs can diff old against new and write only what changed (`diff_rows`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kg.schema import frame_records, is_missing
from kg.store import GraphStore

INTEREST_TOP_N = 40
"""A user's INTERESTED_IN edges keep their strongest concepts only."""

REVIEW_INTEREST_WEIGHT = 0.5
"""Weight of an interest point found in a user's own review, relative to their top behaviour concept."""

NODE_ORDER = ["Domain", "Item", "User", "Concept", "Topic"]
EDGE_ORDER = ["IN_DOMAIN", "HAS_CONCEPT", "INTERACTED", "INTERESTED_IN", "IN_TOPIC", "RELATED_TO", "LEADS_TO"]


@dataclass
class GraphRows:
    """Node and edge rows ready for `GraphStore.upsert_nodes` / `upsert_edges`, as DataFrames."""

    nodes: dict[str, pd.DataFrame] = field(default_factory=dict)
    edges: dict[str, pd.DataFrame] = field(default_factory=dict)
    added: dict[str, np.ndarray] = field(default_factory=dict)
    """Per label or type, which rows a diff found absent from the store (a store may CREATE them)."""

    def counts(self) -> dict[str, int]:
        return {**{k: len(v) for k, v in self.nodes.items()}, **{k: len(v) for k, v in self.edges.items()}}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts without missing values (NaN/None mean "not set")."""
    return frame_records(frame)


def item_rows(items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Item nodes, Domain nodes and IN_DOMAIN edges from clean items."""
    frame = items.rename(columns={"item_id": "id"})
    keep = [
        c for c in ("id", "domain", "title", "description", "categories", "tags", "popularity") if c in frame
    ]
    nodes = frame[keep].reset_index(drop=True)
    for col in ("categories", "tags"):
        if col in nodes:
            nodes[col] = _string_lists(nodes[col])
    domains = pd.DataFrame({"name": sorted(items["domain"].unique())})
    in_domain = pd.DataFrame({"src": items["item_id"].to_numpy(), "dst": items["domain"].to_numpy()})
    return nodes, domains, in_domain


def _string_lists(column: pd.Series) -> pd.Series:
    """Each cell as a list of str (Parquet gives arrays); missing cells stay missing."""
    cells = [None if is_missing(v) else [str(x) for x in v] for v in column.tolist()]
    return pd.Series(cells, index=column.index, dtype=object)


def interaction_rows(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """User nodes and INTERACTED edges from aggregated interactions (kg.weights)."""
    users = interactions.groupby("user_id").agg(first_ts=("first_ts", "min"), last_ts=("last_ts", "max"))
    user_nodes = users.reset_index().rename(columns={"user_id": "id"})
    cols = ["user_id", "item_id", "kind", "weight", "count", "rating", "first_ts", "last_ts"]
    edges = interactions[cols].rename(columns={"user_id": "src", "item_id": "dst"}).reset_index(drop=True)
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
    Works on integer codes (sorted like the strings), since joins that carry strings dominate.
    """
    columns = ["user_id", "key", "weight", "source", "domains"]
    positive = interactions.loc[interactions["weight"] > 0, ["user_id", "item_id", "weight"]]
    more = [review_concepts] if review_concepts is not None and len(review_concepts) else []
    (item_of, concept_item, known_item, *review_item), item_ids = _codes(
        [positive["item_id"], item_concepts["item_id"], items["item_id"], *[r["item_id"] for r in more]]
    )
    user_codes, users = _codes([positive["user_id"], *[r["user_id"] for r in more]])
    key_codes, keys = _codes([item_concepts["key"], *[r["key"] for r in more]])
    domain_of, domains = _domain_of(items["domain"], known_item, len(item_ids))
    n_keys = len(keys)
    left, right = _join(item_of, concept_item)
    in_catalog = domain_of[item_of[left]] >= 0
    left, right = left[in_catalog], right[in_catalog]
    pair = user_codes[0][left] * n_keys + key_codes[0][right]
    weight = _floats(positive["weight"])[left] * _floats(item_concepts["weight"])[right]
    behaviour = pd.Series(weight).groupby(pair).sum()
    if len(behaviour):
        behaviour = behaviour / behaviour.groupby(behaviour.index // n_keys).transform("max")
    seen_in = [(pair, domain_of[item_of[left]])]
    review = pd.Series(dtype=float)
    if more:
        review_pair = user_codes[1] * n_keys + key_codes[1]
        review = pd.Series(_floats(more[0]["weight"])).groupby(review_pair).max() * REVIEW_INTEREST_WEIGHT
        seen_in.append((review_pair, domain_of[review_item[0]]))
    total = (
        behaviour.add(review, fill_value=0.0)
        if len(review) and len(behaviour)
        else (behaviour if len(behaviour) else review)
    )
    total = total.clip(upper=1.0).round(6)
    if total.empty:
        return pd.DataFrame(columns=columns)
    kept = _strongest(total, n_keys, top_n)
    in_b = kept.index.isin(behaviour.index) if len(behaviour) else np.zeros(len(kept), bool)
    in_r = kept.index.isin(review.index) if len(review) else np.zeros(len(kept), bool)
    pairs = kept.index.to_numpy()
    return pd.DataFrame(
        {
            "user_id": pd.Series(np.asarray(users, dtype=object)[pairs // n_keys], dtype="str"),
            "key": pd.Series(np.asarray(keys, dtype=object)[pairs % n_keys], dtype="str"),
            "weight": kept.to_numpy(),
            "source": np.where(in_b & in_r, "behaviour+review", np.where(in_b, "behaviour", "review")),
            "domains": _domain_lists(pairs, seen_in, list(domains)),
        },
        columns=columns,
    )


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype="float64")


def _domain_of(domain: pd.Series, item_codes: np.ndarray, n_items: int) -> tuple[np.ndarray, pd.Index]:
    """Domain code per item code (-1 for items not in the catalog, and for the slot of code -1)."""
    (codes,), names = _codes([domain])
    out = np.full(n_items + 1, -1, dtype=np.int64)
    out[item_codes[item_codes >= 0]] = codes[item_codes >= 0]
    return out, names


def _codes(columns: list[pd.Series]) -> tuple[list[np.ndarray], pd.Index]:
    """Shared integer codes for the values of several columns, numbered in sorted value order."""
    codes, uniques = pd.factorize(pd.concat(columns, ignore_index=True), sort=True)
    bounds = np.cumsum([0, *(len(c) for c in columns)])
    return [codes[a:b] for a, b in itertools.pairwise(bounds)], pd.Index(uniques)


def _join(left_keys: np.ndarray, right_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i, j) with left_keys[i] == right_keys[j], in left order then right order (an inner merge)."""
    order = np.argsort(right_keys, kind="stable")
    size = int(max(left_keys.max(initial=-1), right_keys.max(initial=-1))) + 1
    counts = np.bincount(right_keys[right_keys >= 0], minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) + int((right_keys < 0).sum())
    valid = left_keys >= 0
    per_row = np.where(valid, counts[np.where(valid, left_keys, 0)], 0)
    left = np.repeat(np.arange(len(left_keys)), per_row)
    within = np.arange(len(left)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    return left, order[starts[left_keys[left]] + within]


def _strongest(total: pd.Series, n_keys: int, top_n: int) -> pd.Series:
    """Each user's `top_n` heaviest pairs (ties by key), ordered by user, weight down, key."""
    pairs = total.index.to_numpy()
    users, weights = pairs // n_keys, total.to_numpy()
    order = np.lexsort((pairs % n_keys, -weights, users))
    users = users[order]
    first = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    rank = np.arange(len(users)) - np.repeat(first, np.diff(np.r_[first, len(users)]))
    return total.iloc[order[rank < top_n]]


def _domain_lists(
    pairs: np.ndarray, seen_in: list[tuple[np.ndarray, np.ndarray]], names: list[str]
) -> list[list[str]]:
    """For each (user, key) pair code, the sorted domains it was seen in (bitmask of distinct domains)."""
    pair = np.concatenate([p for p, _ in seen_in])
    domain = np.concatenate([d for _, d in seen_in])
    pair, domain = pair[domain >= 0], domain[domain >= 0]
    width = max(len(names), 1)
    distinct = pd.unique(pair * width + domain)
    masks = pd.Series(np.left_shift(1, distinct % width).astype("int64")).groupby(distinct // width).sum()
    row_masks = masks.reindex(pairs).fillna(0).astype("int64").tolist()
    decode = {m: [d for i, d in enumerate(names) if m >> i & 1] for m in set(row_masks)}
    return [decode[m] for m in row_masks]


def interest_rows(interests: pd.DataFrame, updated: float) -> pd.DataFrame:
    """INTERESTED_IN edges from `user_interests`."""
    frame = interests.rename(columns={"user_id": "src", "key": "dst"})
    frame = frame[["src", "dst", "weight", "source", "domains"]].reset_index(drop=True)
    frame.insert(4, "updated", float(updated))
    return frame


def concept_rows(
    vocab_names: Mapping[str, str],
    aliases: Mapping[str, list[str]],
    item_concepts: pd.DataFrame,
    origins: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Concept nodes with document frequency (how many items carry them), sorted by key."""
    keys = sorted(vocab_names)
    df = item_concepts.groupby("key")["item_id"].nunique() if len(item_concepts) else pd.Series(dtype="int64")
    origins = origins or {}
    return pd.DataFrame(
        {
            "key": pd.Series(keys, dtype=object),
            "name": pd.Series([vocab_names[k] for k in keys], dtype=object),
            "df": df.reindex(keys).fillna(0).astype("int64").to_numpy(),
            "aliases": pd.Series([list(aliases.get(k, [])) for k in keys], dtype=object),
            "origin": pd.Series([origins.get(k, "item") for k in keys], dtype=object),
        }
    )


def has_concept_rows(item_concepts: pd.DataFrame) -> pd.DataFrame:
    """HAS_CONCEPT edges."""
    frame = item_concepts.rename(columns={"item_id": "src", "key": "dst"})
    return frame[["src", "dst", "weight", "source"]].reset_index(drop=True)


def topic_rows(topics: Iterable[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Topic nodes and IN_TOPIC edges from `encoders.induce_topics` results."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for topic in topics:
        nodes.append(
            {
                "id": topic.id,
                "name": topic.name,
                "size": len(topic.members),
                "domains": list(getattr(topic, "domains", ()) or ()),
            }
        )
        edges.extend(
            {"src": key, "dst": topic.id, "weight": float(w)} for key, w in sorted(topic.members.items())
        )
    return (
        pd.DataFrame(nodes, columns=["id", "name", "size", "domains"]),
        pd.DataFrame(edges, columns=["src", "dst", "weight"]),
    )


def related_rows(pairs: Iterable[tuple[str, str, float]]) -> pd.DataFrame:
    """RELATED_TO edges from `encoders.related_concepts` pairs."""
    rows = [(a, b, round(float(s), 6)) for a, b, s in pairs]
    return pd.DataFrame(rows, columns=["src", "dst", "score"])


def row_keys(frame: pd.DataFrame) -> list[str]:
    """The columns that identify a node or edge row: its endpoints, or its key property."""
    if "src" in frame:
        return ["src", "dst"]
    for key in ("id", "key", "name"):
        if key in frame:
            return [key]
    raise KeyError("rows have no key column")


def _comparable(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _same_cells(new: pd.Series, old: pd.Series) -> np.ndarray:
    """Per row: both cells missing, or both set and equal (floats to 6 places, lists as tuples)."""
    new_missing, old_missing = new.isna().to_numpy(), old.isna().to_numpy()
    if _is_number(new) and _is_number(old):
        equal = np.round(new.to_numpy(dtype="float64", na_value=np.nan), 6) == np.round(
            old.to_numpy(dtype="float64", na_value=np.nan), 6
        )
    else:
        equal = np.fromiter(
            (_comparable(a) == _comparable(b) for a, b in zip(new.tolist(), old.tolist())),
            dtype=bool,
            count=len(new),
        )
    return (new_missing & old_missing) | (~new_missing & ~old_missing & equal)


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


def _key_index(frame: pd.DataFrame, keys: list[str]) -> pd.Index:
    if len(keys) == 1:
        return pd.Index(frame[keys[0]])
    return pd.MultiIndex.from_arrays([frame[k] for k in keys])


def diff_rows(
    old: pd.DataFrame, new: pd.DataFrame, ignore: Iterable[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of `new` added or changed against `old` (`ignore` columns aside), and the keys only in `old`.

    A missing cell means "not set", so a row equals its old self when the same properties are set
    to the same values; floats compare to 6 places and lists element-wise.
    """
    if old.empty or not len(old.columns):
        keys = row_keys(new) if len(new.columns) else []
        return new, pd.DataFrame({k: pd.Series(dtype=object) for k in keys})
    keys = row_keys(old)
    old = old.drop_duplicates(keys, keep="last")
    skip = {*keys, *ignore}
    props = [c for c in dict.fromkeys([*new.columns, *old.columns]) if c not in skip]
    before = old[[*keys, *[c for c in props if c in old]]].rename(columns={c: f"old:{c}" for c in props})
    joined = new[keys].reset_index(drop=True).merge(before, on=keys, how="left", indicator=True)
    same = (joined["_merge"] == "both").to_numpy(copy=True)
    nothing = pd.Series(np.nan, index=joined.index)
    for column in props:
        now = new[column].reset_index(drop=True) if column in new else nothing
        same &= _same_cells(now, joined[f"old:{column}"] if column in old else nothing)
    removed = old.loc[~_key_index(old, keys).isin(_key_index(new, keys)), keys].reset_index(drop=True)
    return new[~same], removed


def added_mask(old: pd.DataFrame, changed: pd.DataFrame) -> np.ndarray:
    """Which rows of `changed` (from `diff_rows(old, ...)`) have a key that `old` does not hold."""
    if old.empty or not len(old.columns):
        return np.ones(len(changed), dtype=bool)
    keys = row_keys(old)
    return ~_key_index(changed, keys).isin(_key_index(old, keys))


def write_graph(
    store: GraphStore, changed: GraphRows, removed: GraphRows | None = None, progress: Any = None
) -> dict[str, int]:
    """Write changed rows (nodes first, then edges) and delete removed ones; return counts written.

    Each written row ends with exactly its own properties (`GraphStore.replace_nodes`), so a
    property a row no longer has is removed; rows in `changed.added` may be created without matching.
    """
    removed = removed or GraphRows()
    written: dict[str, int] = {}
    for label in NODE_ORDER:
        rows = changed.nodes.get(label)
        if rows is not None and len(rows):
            written[label] = store.replace_nodes(label, rows, changed.added.get(label))
        if progress:
            progress(label)
    for rel in EDGE_ORDER:
        rows, gone = changed.edges.get(rel), removed.edges.get(rel)
        if rows is not None and len(rows):
            written[rel] = store.replace_edges(rel, rows, changed.added.get(rel))
        if gone is not None and len(gone):
            written[f"-{rel}"] = store.delete_edges(
                rel, list(zip(gone["src"].tolist(), gone["dst"].tolist()))
            )
        if progress:
            progress(rel)
    for label in reversed(NODE_ORDER):
        gone = removed.nodes.get(label)
        if gone is not None and len(gone):
            written[f"-{label}"] = store.delete_nodes(label, gone.iloc[:, 0].tolist())
    return written
