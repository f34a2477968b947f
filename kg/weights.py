"""Behaviour weights: many events of one user on one item become one weighted interaction.

The result feeds the `(User)-[:INTERACTED {kind, weight, count, rating, first_ts, last_ts}]->(Item)`
edges, so a positive weight says "this user is interested in this item" and a negative
weight says "this user explicitly does not want it".

Formula, for the events e of one (user, item) pair, n = their number:

    c(r)   = clip((r - mid) / half, -1, 1)      mid, half = centre and half-width of rating_scale
    s_e    = kind_weight[kind_e]                 if e has no rating
           = kind_weight["rating"] + rating_weight * c(r_e)    if e has a rating
    d_e    = floor + (1 - floor) * 0.5 ** (age_e / half_life)
                                                 age_e = (reference - ts_e) in days, >= 0;
                                                 d_e = 1 when ts_e is missing or half_life is None
             * 0.5 ** (later_e / half_life_events)  later_e = the user's events after e (when set)
    a_e    = explicit_weight if e is explicit (rated, 'like' or 'dislike') else 1
    g(n)   = (1 - exp(-n / saturation)) / (1 - exp(-1 / saturation))    ("exp", bounded), or
           = 1 + log(n)                                                   ("log", unbounded)
    weight = (sum_e a_e * s_e * d_e / sum_e a_e) * g(n)

So a single event weighs its kind's weight (view 1 < click 2 < cart 3 < purchase 4 ...),
scaled by its age (one half-life old counts half). Repeats raise the weight with
diminishing returns (g(1) = 1; g(10) is about 4.8 with the default saturation 5, never more
than about 5.5). Explicit opinions outweigh implicit behaviour: a purchase followed by a
1-star rating ends negative.

Recency is measured against the data's own time, never the raw wall clock: the reference is
`now` if given, else `WeightConfig.as_of`, else the latest event at or before the wall clock
(so one stray future timestamp cannot make every other event "old"). With the default
half-life of 30 days and floor of 0.2, an event a month old counts 0.6 and a year-old event
0.2: old history fades but one new like cannot erase it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

DEFAULT_KIND_WEIGHTS: Mapping[str, float] = {
    "view": 1.0,
    "click": 2.0,
    "cart": 3.0,
    "purchase": 4.0,
    "like": 4.0,
    "review": 3.0,
    "share": 3.0,
    "rating": 1.0,
    "dislike": -4.0,
}
"""Base weight of one event of each kind; 'rating' is the engagement part of a rated event."""

DEFAULT_KIND_PRIORITY: tuple[str, ...] = (
    "dislike",
    "purchase",
    "like",
    "rating",
    "review",
    "cart",
    "share",
    "click",
    "view",
)
"""Which kind names a pair when it has several: the first one present in this order."""

EXPLICIT_KINDS = frozenset({"like", "dislike"})

OUTPUT_COLUMNS = ["user_id", "item_id", "kind", "weight", "count", "rating", "first_ts", "last_ts", "text"]


@dataclass(frozen=True)
class WeightConfig:
    """How events turn into interaction weights (see the module docstring for the formula).

    kind_weights:    base weight per event kind; negative for explicit rejection.
    kind_priority:   order that picks the pair's `kind` column (strongest first).
    rating_scale:    (low, high) of ratings; its midpoint is neutral (1..5 stars: 3 is neutral).
    rating_weight:   how far a top (bottom) rating moves an event's weight up (down).
    explicit_weight: how much more a rated / liked / disliked event counts in the pair's mean.
    frequency:       'exp' (bounded saturation) or 'log' (1 + log n).
    saturation:      the 'exp' scale c: g(n) approaches 1 / (1 - exp(-1/c)) as n grows.
    half_life_days:  age (days before the reference time) at which the decaying part of an
                     event's weight halves; None turns recency decay off.
    recency_floor:   the share of its weight an event keeps however old it is (0 = full decay).
    as_of:           the reference time (epoch seconds) for recency; None = the latest event
                     at or before the wall clock.
    half_life_events: optionally also decay by position in the user's own history: an event
                     followed by this many later events of the same user counts half (for
                     sequence data without real timestamps, and for "what did they do last").
    text_separator:  joins a pair's review texts.
    """

    kind_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    kind_priority: tuple[str, ...] = DEFAULT_KIND_PRIORITY
    rating_scale: tuple[float, float] = (1.0, 5.0)
    rating_weight: float = 3.0
    explicit_weight: float = 3.0
    frequency: Literal["exp", "log"] = "exp"
    saturation: float = 5.0
    half_life_days: float | None = 30.0
    recency_floor: float = 0.2
    as_of: float | None = None
    half_life_events: float | None = None
    text_separator: str = "\n\n"

    def frequency_factor(self, count: np.ndarray) -> np.ndarray:
        """g(n): 1 for one event, growing with diminishing returns."""
        n = np.asarray(count, dtype="float64")
        if self.frequency == "log":
            return 1.0 + np.log(np.maximum(n, 1.0))
        if self.frequency == "exp":
            c = float(self.saturation)
            return -np.expm1(-n / c) / -np.expm1(-1.0 / c)
        raise ValueError(f"frequency must be 'exp' or 'log', got {self.frequency!r}")


def reference_time(ts: np.ndarray, as_of: float | None = None, wall: float | None = None) -> float:
    """The "now" recency is measured against: `as_of`, else the latest ts at or before the wall clock.

    Falls back to the earliest ts when every event lies after the wall clock.
    """
    if as_of is not None:
        return float(as_of)
    wall = time.time() if wall is None else float(wall)
    timed = ts[~np.isnan(ts)]
    past = timed[timed <= wall]
    return float(past.max()) if len(past) else float(timed.min())


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": pd.Series(dtype="str"),
            "item_id": pd.Series(dtype="str"),
            "kind": pd.Series(dtype="str"),
            "weight": pd.Series(dtype="float64"),
            "count": pd.Series(dtype="int64"),
            "rating": pd.Series(dtype="float64"),
            "first_ts": pd.Series(dtype="float64"),
            "last_ts": pd.Series(dtype="float64"),
            "text": pd.Series(dtype=object),
        }
    )


def aggregate_interactions(
    events: pd.DataFrame, config: WeightConfig = WeightConfig(), now: float | None = None
) -> pd.DataFrame:
    """One weighted row per (user_id, item_id) from clean events (e.g. `ingest_events(...).clean`).

    Needs user_id and item_id; kind (default 'view'), ts, rating and text are optional.
    Returns OUTPUT_COLUMNS sorted by (user_id, item_id): the strongest kind seen, the weight
    (negative = dislike), the event count, the last rating given (NaN if none), first and
    last ts (NaN if none), and the pair's review texts joined (None if none).
    Raises ValueError for a kind that `config.kind_weights` does not define.
    """
    missing = [c for c in ("user_id", "item_id") if c not in events]
    if missing:
        raise ValueError(f"events lack column(s) {missing}; found {list(events.columns)}")
    n = len(events)
    if n == 0:
        return _empty()

    kind = (
        events["kind"].astype("str").fillna("view")
        if "kind" in events
        else pd.Series("view", index=events.index, dtype="str")
    )
    kind_code, kind_index = pd.factorize(kind)
    kinds = [str(k) for k in kind_index]
    unknown = [k for k in kinds if k not in config.kind_weights]
    if unknown:
        raise ValueError(
            f"no weight for event kind(s) {unknown}; known: {sorted(config.kind_weights)}. "
            "Normalise events with kg.ingest.ingest_events or extend WeightConfig.kind_weights."
        )
    base = np.array([config.kind_weights[k] for k in kinds], dtype="float64")[kind_code]
    priority = {k: i for i, k in enumerate(config.kind_priority)}
    ordered = sorted(kinds, key=lambda k: (priority.get(k, len(priority)), -abs(config.kind_weights[k]), k))
    rank = np.array([ordered.index(k) for k in kinds], dtype="int64")[kind_code]

    ts = events["ts"].to_numpy(dtype="float64", na_value=np.nan) if "ts" in events else np.full(n, np.nan)
    rating = (
        events["rating"].to_numpy(dtype="float64", na_value=np.nan)
        if "rating" in events
        else np.full(n, np.nan)
    )

    lo, hi = (float(x) for x in config.rating_scale)
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    rated = ~np.isnan(rating)
    centred = np.clip((np.where(rated, rating, mid) - mid) / half, -1.0, 1.0)
    signal = np.where(rated, config.kind_weights.get("rating", 0.0) + config.rating_weight * centred, base)

    decay = np.ones(n)
    timed = ~np.isnan(ts)
    if config.half_life_days is not None and timed.any():
        reference = reference_time(ts[timed], now if now is not None else config.as_of)
        age_days = np.maximum(reference - ts[timed], 0.0) / 86_400.0
        floor = float(config.recency_floor)
        decay[timed] = floor + (1.0 - floor) * np.exp2(-age_days / float(config.half_life_days))
    if config.half_life_events is not None and n:
        order = pd.DataFrame(
            {
                "u": events["user_id"].astype("str").to_numpy(),
                "t": np.where(np.isnan(ts), -np.inf, ts),
                "p": np.arange(n),
            }
        )
        later = (
            order.sort_values(["t", "p"], kind="stable").groupby("u", sort=False).cumcount(ascending=False)
        )
        decay *= np.exp2(-later.reindex(range(n)).to_numpy(dtype="float64") / float(config.half_life_events))

    explicit = rated | np.isin(kind_code, [i for i, k in enumerate(kinds) if k in EXPLICIT_KINDS])
    a = np.where(explicit, float(config.explicit_weight), 1.0)

    u_code, users = pd.factorize(events["user_id"].astype("str"), sort=True)
    i_code, items = pd.factorize(events["item_id"].astype("str"), sort=True)
    if (u_code < 0).any() or (i_code < 0).any():
        raise ValueError("events have missing user_id or item_id; ingest them with kg.ingest.ingest_events")
    key = u_code.astype("int64") * len(items) + i_code
    pair, pairs = pd.factorize(key, sort=True)
    m = len(pairs)

    count = np.bincount(pair, minlength=m)
    weighted = np.bincount(pair, weights=a * signal * decay, minlength=m)
    norm = np.bincount(pair, weights=a, minlength=m)
    weight = weighted / norm * config.frequency_factor(count)

    best = np.full(m, len(ordered), dtype="int64")
    np.minimum.at(best, pair, rank)
    best_kind = np.array(ordered, dtype=object)[best]

    first_ts = np.full(m, np.inf)
    last_ts = np.full(m, -np.inf)
    np.minimum.at(first_ts, pair[timed], ts[timed])
    np.maximum.at(last_ts, pair[timed], ts[timed])
    first_ts[np.isinf(first_ts)] = np.nan
    last_ts[np.isinf(last_ts)] = np.nan

    last_rating = np.full(m, np.nan)
    if rated.any():
        order = np.flatnonzero(rated)
        order = order[np.lexsort((order, np.where(timed[order], ts[order], -np.inf)))]
        last_rating[pair[order]] = rating[order]

    text = np.full(m, None, dtype=object)
    if "text" in events:
        raw_text = events["text"].to_numpy(dtype=object, na_value=None)
        has = pd.notna(raw_text)
        has[has] = pd.Series(raw_text[has], dtype="str").str.len().to_numpy() > 0
        if has.any():
            idx = np.flatnonzero(has)
            idx = idx[np.lexsort((idx, np.where(timed[idx], ts[idx], -np.inf)))]
            joined = pd.Series(raw_text[idx]).groupby(pair[idx], sort=False).agg(config.text_separator.join)
            text[joined.index.to_numpy()] = joined.to_numpy(dtype=object)

    return pd.DataFrame(
        {
            "user_id": pd.Series(users.take(pairs // len(items)), dtype="str"),
            "item_id": pd.Series(items.take(pairs % len(items)), dtype="str"),
            "kind": pd.Series(best_kind, dtype="str"),
            "weight": weight,
            "count": count.astype("int64"),
            "rating": last_rating,
            "first_ts": first_ts,
            "last_ts": last_ts,
            "text": pd.Series(text, dtype=object),
        }
    )
