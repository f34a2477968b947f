"""INTERACTED rows kept up to date from new inbox batches only: running sums per (user, item) on Spark.

kg.weights gives a pair with events e the weight (sum_e a_e s_e d_e / sum_e a_e) g(n), with
d_e = floor + (1 - floor) 2^(-max(ref - ts_e, 0) / h) and ref the reference time. For an event
at or before ref, 2^(-(ref - ts)/h) = 2^((K - ref)/h) 2^((ts - K)/h) for any anchor K, so the
pair keeps L = sum a s and P = sum a s 2^((ts - K)/h) over those events, U = sum a s over
untimed events, A = sum a, n, and the few events after ref as they are (`pending`; ingest
allows a day into the future). A refresh moves the anchor to the new ref (P scaled by
2^((K - ref)/h)), settles pending events the new ref has reached, adds the new events and
recomputes every pair's weight: it reads the new batches and this state, never the old events.
The strongest kind, first/last ts, last rating and review texts are kept so they merge exactly
(order by ts, then by position: batch sequence number, then row within the batch).

The same rule as kg.weights up to float rounding (sums in another order: about 1e-15 relative).
Position decay (`half_life_events`) depends on the user's whole history, so with it, with a
changed WeightConfig, or with a reference time that moved back, the engine recomputes from all
events instead.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kg.weights import EXPLICIT_KINDS, WeightConfig

STATE_TABLE = "pair_stats.parquet"
"""The pair state inside a version folder (a Parquet dataset; load_state and forget see it as a table)."""
STATE_META = "spark_state.json"
"""Anchor, latest past timestamp and config of that state, plus what the refresh read."""
DAY = 86_400.0
NO_TIME = float("-inf")
"""Sort key of an event without a timestamp (first, as kg.weights orders them)."""


def _exp2(power: Any) -> Any:
    """2 ** power as a Spark column (Spark SQL has no exp2)."""
    from pyspark.sql import functions as F

    return F.pow(F.lit(2.0), power)


def config_key(config: WeightConfig) -> str:
    """A fingerprint of the weight rules: a state made under other rules is not reused."""
    return hashlib.sha1(repr(config).encode()).hexdigest()[:16]


def kind_order(config: WeightConfig) -> list[str]:
    """Every configured kind, strongest first (kg.weights' order among the kinds present)."""
    priority = {k: i for i, k in enumerate(config.kind_priority)}
    return sorted(
        config.kind_weights, key=lambda k: (priority.get(k, len(priority)), -abs(config.kind_weights[k]), k)
    )


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The state meta of a version folder, or None when it has no pair state."""
    meta, table = folder / STATE_META, folder / STATE_TABLE
    if not meta.exists() or not table.exists():
        return None
    return json.loads(meta.read_text())


def event_pairs(events: Any, config: WeightConfig, ref: float | None) -> Any:
    """One pair-state row per event (columns user_id, item_id, kind, ts, rating, text, gen, row)."""
    from pyspark.sql import functions as F

    kinds = kind_order(config)
    lo, hi = (float(x) for x in config.rating_scale)
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    kind = F.coalesce(F.col("kind"), F.lit("view"))
    rating = F.when(~F.isnan("rating"), F.col("rating"))
    rated = rating.isNotNull()
    base = F.create_map(*[x for k in kinds for x in (F.lit(k), F.lit(float(config.kind_weights[k])))])[kind]
    centred = F.least(F.greatest((rating - mid) / half, F.lit(-1.0)), F.lit(1.0))
    signal = F.when(rated, float(config.kind_weights.get("rating", 0.0)) + config.rating_weight * centred)
    a = F.when(rated | kind.isin(*EXPLICIT_KINDS), float(config.explicit_weight)).otherwise(1.0)
    ts = F.when(~F.isnan("ts"), F.col("ts"))
    timed = ts.isNotNull()
    as_ = a * signal.otherwise(base)
    decays = config.half_life_days is not None
    settled = timed & (ts <= F.lit(ref)) if decays else F.lit(False)
    later = timed & (ts > F.lit(ref)) if decays else F.lit(False)
    order = F.coalesce(ts, F.lit(NO_TIME))
    text = F.when(F.length("text") > 0, F.col("text"))
    rank = F.create_map(*[x for i, k in enumerate(kinds) for x in (F.lit(k), F.lit(i))])[kind]
    return events.select(
        "user_id",
        "item_id",
        F.lit(1).cast("long").alias("n"),
        a.alias("a_sum"),
        F.when(~settled & ~later, as_).otherwise(0.0).alias("untimed"),
        F.when(settled, as_).otherwise(0.0).alias("settled"),
        F.when(settled, as_ * _exp2((ts - F.lit(ref)) / (DAY * (config.half_life_days or 1.0))))
        .otherwise(0.0)
        .alias("decayed"),
        F.when(later, F.array(F.struct(ts.alias("ts"), as_.alias("as_"))))
        .otherwise(F.array().cast("array<struct<ts:double,as_:double>>"))
        .alias("pending"),
        rank.alias("kind_rank"),
        ts.alias("first_ts"),
        ts.alias("last_ts"),
        F.when(rated, F.struct(order.alias("t"), F.col("gen"), F.col("row"), rating.alias("r"))).alias(
            "last_rating"
        ),
        F.when(
            text.isNotNull(),
            F.array(F.struct(order.alias("t"), F.col("gen"), F.col("row"), text.alias("text"))),
        )
        .otherwise(F.array().cast("array<struct<t:double,gen:bigint,row:bigint,text:string>>"))
        .alias("texts"),
    )


def carried_pairs(state: Any, config: WeightConfig, anchor: float, ref: float) -> Any:
    """The previous pair state moved to the new anchor `ref`; pending events it has reached settle."""
    from pyspark.sql import functions as F

    h = DAY * float(config.half_life_days or 1.0)
    reached = F.filter("pending", lambda e: e["ts"] <= F.lit(ref))
    waiting = F.filter("pending", lambda e: e["ts"] > F.lit(ref))
    zero = F.lit(0.0)
    return state.select(
        "user_id",
        "item_id",
        "n",
        "a_sum",
        "untimed",
        (F.col("settled") + F.aggregate(reached, zero, lambda acc, e: acc + e["as_"])).alias("settled"),
        (
            F.col("decayed") * _exp2(F.lit((anchor - ref) / h))
            + F.aggregate(reached, zero, lambda acc, e: acc + e["as_"] * _exp2((e["ts"] - F.lit(ref)) / h))
        ).alias("decayed"),
        waiting.alias("pending"),
        "kind_rank",
        "first_ts",
        "last_ts",
        "last_rating",
        "texts",
    )


def merged(parts: Any) -> Any:
    """Pair-state rows summed per (user, item)."""
    from pyspark.sql import functions as F

    return parts.groupBy("user_id", "item_id").agg(
        F.sum("n").alias("n"),
        F.sum("a_sum").alias("a_sum"),
        F.sum("untimed").alias("untimed"),
        F.sum("settled").alias("settled"),
        F.sum("decayed").alias("decayed"),
        F.flatten(F.collect_list("pending")).alias("pending"),
        F.min("kind_rank").alias("kind_rank"),
        F.min("first_ts").alias("first_ts"),
        F.max("last_ts").alias("last_ts"),
        F.max("last_rating").alias("last_rating"),
        F.array_sort(F.flatten(F.collect_list("texts"))).alias("texts"),
    )


def weights_of(pairs: Any, config: WeightConfig) -> Any:
    """INTERACTED rows (kg.weights.OUTPUT_COLUMNS) from the pair state anchored at the reference time."""
    from pyspark.sql import functions as F

    floor = float(config.recency_floor) if config.half_life_days is not None else 1.0
    later = F.aggregate("pending", F.lit(0.0), lambda acc, e: acc + e["as_"])
    total = F.col("untimed") + floor * F.col("settled") + (1.0 - floor) * F.col("decayed") + later
    n = F.col("n").cast("double")
    if config.frequency == "log":
        g = 1.0 + F.log(F.greatest(n, F.lit(1.0)))
    elif config.frequency == "exp":
        c = float(config.saturation)
        g = -F.expm1(-n / c) / -F.expm1(F.lit(-1.0 / c))
    else:
        raise ValueError(f"frequency must be 'exp' or 'log', got {config.frequency!r}")
    kinds = F.array(*[F.lit(k) for k in kind_order(config)])
    return pairs.select(
        "user_id",
        "item_id",
        F.element_at(kinds, F.col("kind_rank") + 1).alias("kind"),
        (total / F.col("a_sum") * g).alias("weight"),
        F.col("n").alias("count"),
        F.col("last_rating.r").alias("rating"),
        "first_ts",
        "last_ts",
        F.when(
            F.size("texts") > 0,
            F.array_join(F.transform("texts", lambda x: x["text"]), config.text_separator),
        ).alias("text"),
    )
