"""The refresh stages as Spark jobs: weights, INTERACTED aggregation, user interests, RP3beta index.

Each per-user rule is the local engine's own pandas function, called per user group with
`applyInPandas` (kg.weights.aggregate_interactions, kg.builder.user_interests), so both
engines share one set of rules. The one global input of the weights, the reference time
(kg.weights.reference_time), comes from two aggregates brought to the driver. The RP3beta item-item index is
Spark joins: each user's history capped, normalised like kg.proximity.row_normalise, a
self-join on user, summed per item pair, and each item's top-N neighbours kept with a
window. Only job inputs go in as Parquet and outputs come back as Parquet files: nothing
collects the graph to the driver.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kg import builder
from kg.proximity import ITEM_NEIGHBOURS
from kg.weights import OUTPUT_COLUMNS, WeightConfig, aggregate_interactions, reference_time


def _arrow_schema(**types: str) -> Any:
    import pyarrow as pa

    return pa.schema([(name, pa.type_for_alias(kind)) for name, kind in types.items()])


HISTORY_CAP = 2000
"""Items per user kept for the item-item self-join (the strongest; ties by item id).

The join's shuffle is sum over users of min(history, cap)^2; the local engine has no cap, so
the two indexes are equal whenever no user has more positive interactions than this.
"""

ROWS_PER_GROUP = 500_000
"""Rows given to one call of a pandas rule (a group of whole users); bounds an executor's memory."""
CONCEPTS_PER_ITEM_GUESS = 8
BROADCAST_NEW_EVENTS = 2_000_000
"""Up to this many new events, the pairs they touch are broadcast: untouched pairs pass through without a shuffle."""
TEXTS_PER_TASK = 4096
"""Texts given to one extraction task at most (whole extractor batches); more tasks when there are more."""

INTERACTION_SCHEMA = (
    "user_id string, item_id string, kind string, weight double, count long, rating double, "
    "first_ts double, last_ts double, text string"
)
EVENTS_ARROW = _arrow_schema(
    user_id="string",
    item_id="string",
    kind="string",
    ts="float64",
    rating="float64",
    text="string",
    _seq="int64",
)
INTEREST_SCHEMA = "user_id string, key string, weight double, source string, domains array<string>"
INDEX_SCHEMA = ["src", "dst", "score"]


def _ingest_date(path: Path) -> str:
    """The UTC date a batch reached the inbox (its file's modification time)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()


def _user_interactions(events: pd.DataFrame, config: WeightConfig, now: float | None) -> pd.DataFrame:
    """kg.weights.aggregate_interactions on a group of users' events, in their original order."""
    events = events.sort_values("_seq", kind="stable").drop(columns="_seq").reset_index(drop=True)
    return aggregate_interactions(events, config, now=now)[OUTPUT_COLUMNS]


def _user_interests(behaviour: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """kg.builder.user_interests on a group of users' rows, rebuilt into the frames it takes."""
    if "item_id" not in reviews:
        reviews = pd.DataFrame(columns=["user_id", "item_id", "key", "weight", "domain"])
    if "item_id" not in behaviour:
        behaviour = pd.DataFrame(columns=["user_id", "item_id", "weight", "key", "ic_weight", "domain"])
    interactions = behaviour[["user_id", "item_id", "weight"]].drop_duplicates(["user_id", "item_id"])
    item_concepts = behaviour[["item_id", "key", "ic_weight"]].rename(columns={"ic_weight": "weight"})
    item_concepts = item_concepts.drop_duplicates(["item_id", "key"])
    items = pd.concat([behaviour[["item_id", "domain"]], reviews[["item_id", "domain"]]], ignore_index=True)
    items = items.dropna(subset=["domain"]).drop_duplicates("item_id")
    review_concepts = reviews[["user_id", "item_id", "key", "weight"]] if len(reviews) else None
    out = builder.user_interests(interactions, item_concepts, items, review_concepts)
    out["domains"] = [list(d) for d in out["domains"]]
    return out


def _ship_rules_by_value() -> None:
    """Send this module's functions to the Python workers by value, so a worker imports kg only.

    By reference a worker would import the `ikg` package, whose __init__ loads torch.
    """
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


class SparkStages:
    """The refresh's heavy stages on one SparkSession; files of a job live under `scratch`."""

    def __init__(
        self, session: Any, scratch: Path, history_cap: int | None = HISTORY_CAP, gnn_processes: int = 2
    ) -> None:
        self.spark = session
        self.gnn_processes = gnn_processes
        _ship_rules_by_value()
        self.scratch = Path(scratch) / f"job-{uuid.uuid4().hex[:8]}"
        self.history_cap = history_cap
        self.interactions_path: Path | None = None
        self.previous: tuple[Path, dict[str, Any]] | None = None
        self.new_batches: list[tuple[int, Path]] = []
        self.known_items = pd.DataFrame({"item_id": pd.Series(dtype=str)})
        self.pair_state_path: Path | None = None
        self.event_files: list[str] = []
        self.pair_meta: dict[str, Any] = {}
        self.extraction_workers: list[dict[str, Any]] = []
        """Per extraction stage and worker pid: whether that worker had to build the extractor."""

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    # ---- inputs and outputs ---------------------------------------------------------------
    def _put(self, name: str, frame: pd.DataFrame, schema: Any = None) -> Any:
        """A driver-side frame as a Parquet input of the job (no Python-object transfer to the JVM)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.scratch / "in" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pandas(frame.reset_index(drop=True), schema=schema, preserve_index=False), path
        )
        return self.spark.read.parquet(str(path))

    def _get(self, name: str, frame: Any) -> tuple[Path, pd.DataFrame]:
        """Write a job output as Parquet and read it back with pandas (no collect())."""
        path = self.scratch / "out" / name
        frame.write.mode("overwrite").parquet(str(path))
        return path, pd.read_parquet(path)

    def _bucketed(self, frame: Any, rows: int) -> Any:
        """`frame` grouped by a hash bucket of user_id: whole users per group, a few groups per core.

        The per-user rules are separable by user, so one pandas call per bucket gives the same
        rows as one per user, without the fixed cost of a call for each of millions of users.
        """
        from pyspark.sql import functions as F

        cores = self.spark.sparkContext.defaultParallelism
        buckets = max(2 * cores, -(-rows // ROWS_PER_GROUP))
        return frame.withColumn("_bucket", F.pmod(F.xxhash64("user_id"), F.lit(buckets))).groupBy("_bucket")

    # ---- stages ---------------------------------------------------------------------------
    def inputs(self, workdir: Any, state: Any, pending: list, items: pd.DataFrame, full: bool) -> None:
        """What the interactions stage may start from: the active version's pair state and the new event batches.

        The batches are the inbox files above the active version's watermark, one partition each
        (sequence number, ingest date); the state is that version's pair_stats (ikg.spark.increments).
        """
        from ikg.spark.increments import read_meta

        self.previous = None
        if not full and state.version:
            folder = workdir.state_dir(state.version)
            meta = read_meta(folder)
            if meta is not None:
                self.previous = (folder, meta)
        self.new_batches = [(seq, Path(path)) for seq, kind, path in pending if kind == "events"]
        self.known_items = items[["item_id"]]

    def interactions(self, events: pd.DataFrame, config: WeightConfig) -> pd.DataFrame:
        """INTERACTED aggregation (kg.weights rules) per user on Spark; rows as the local engine's.

        From the previous version's pair state and the new batches when it can (see
        ikg.spark.increments), else from all events; either way the pair state of this version
        is kept for the next refresh.
        """
        from pyspark.sql import functions as F

        if events.empty:
            return aggregate_interactions(events, config)
        like = aggregate_interactions(events.iloc[0:0], config)
        incremental = self._incremental_interactions(config, len(events))
        if incremental is not None:
            self.interactions_path, out = self._get("interactions", incremental)
            return self._local_order(out, ["user_id", "item_id"], like)
        columns = ["user_id", "item_id", "kind", "ts", "rating", "text"]
        frame = events.reindex(columns=columns).assign(_seq=np.arange(len(events)))
        sdf = self._put("events", frame, EVENTS_ARROW)
        now = latest_past = None
        if config.half_life_days is not None:
            wall = time.time()
            ts = F.when(~F.isnan("ts"), F.col("ts"))
            latest_past, earliest = sdf.agg(F.max(F.when(ts <= wall, ts)), F.min(ts)).first()
            known = np.array([t for t in (latest_past, earliest) if t is not None], dtype="float64")
            if len(known):
                now = reference_time(known, config.as_of, wall)
        result = self._bucketed(sdf, len(events)).applyInPandas(
            lambda g: _user_interactions(g.drop(columns="_bucket"), config, now), INTERACTION_SCHEMA
        )
        self.interactions_path, out = self._get("interactions", result)
        all_future = config.as_of is None and latest_past is None and now is not None
        if config.half_life_events is None and not all_future:
            from ikg.spark.increments import event_pairs, merged

            seeded = event_pairs(
                sdf.withColumn("gen", F.lit(0).cast("long")).withColumnRenamed("_seq", "row"), config, now
            )
            self._keep_pairs(merged(seeded), config, now, latest_past, {"mode": "full"}, len(events))
        return self._local_order(out, ["user_id", "item_id"], like)

    def _new_events(self) -> Any:
        """The new inbox batches as one DataFrame (gen = batch sequence, row = position in it), known items only."""
        from pyspark.sql import functions as F

        types = {
            "user_id": "string",
            "item_id": "string",
            "kind": "string",
            "ts": "double",
            "rating": "double",
            "text": "string",
        }
        frames = []
        for seq, path in self.new_batches:
            raw = self.spark.read.parquet(str(path))
            frames.append(
                raw.select(
                    *[
                        (F.col(c) if c in raw.columns else F.lit(None)).cast(t).alias(c)
                        for c, t in types.items()
                    ]
                )
                .withColumn("gen", F.lit(seq).cast("long"))
                .withColumn("row", F.monotonically_increasing_id())
            )
        if not frames:
            return None
        new = frames[0]
        for frame in frames[1:]:
            new = new.unionByName(frame)
        self.event_files = new.inputFiles()
        return new.join(self._put("known_items", self.known_items), "item_id", "left_semi")

    def _incremental_interactions(self, config: WeightConfig, n_events: int) -> Any:
        """Interactions from the previous pair state plus the new batches, or None when it must start over.

        It starts over too when the previous version's events plus the new batch rows are not the
        `n_events` the driver holds: the driver skipped repeated events (a rollback's replay) or a
        forget removed some, and only a recompute from all events matches that exactly.
        """
        from pyspark.sql import functions as F

        from ikg.spark import increments as inc

        if self.previous is None or config.half_life_events is not None:
            return None
        folder, meta = self.previous
        if meta.get("config") != inc.config_key(config):
            return None
        state = self.spark.read.parquet(str(folder / inc.STATE_TABLE))
        read = {"mode": "incremental", "state_files": state.inputFiles(), "event_files": [], "batches": []}
        new = self._new_events()
        n_new = new.count() if new is not None else 0
        if meta.get("events") is None or int(meta["events"]) + n_new != n_events:
            return None
        if new is not None:
            read["event_files"] = self.event_files
            read["batches"] = [
                {"seq": seq, "ingest_date": _ingest_date(path), "file": str(path)}
                for seq, path in self.new_batches
            ]
            kinds = {row[0] for row in new.select(F.coalesce("kind", F.lit("view"))).distinct().collect()}
            unknown = sorted(kinds - set(config.kind_weights))
            if unknown:
                raise ValueError(
                    f"no weight for event kind(s) {unknown}; known: {sorted(config.kind_weights)}. "
                    "Normalise events with kg.ingest.ingest_events or extend WeightConfig.kind_weights."
                )
        anchor, latest = meta.get("anchor"), meta.get("latest_past")
        ref = anchor
        if config.half_life_days is not None:
            if config.as_of is not None:
                ref = float(config.as_of)
            else:
                wall = time.time()
                waiting = state.select(F.explode("pending").alias("e")).agg(
                    F.max(F.when(F.col("e.ts") <= wall, F.col("e.ts")))
                )
                found = [latest, waiting.first()[0]]
                if new is not None:
                    ts = F.when(~F.isnan("ts"), F.col("ts"))
                    found.append(new.agg(F.max(F.when(ts <= wall, ts))).first()[0])
                known = [float(t) for t in found if t is not None]
                if not known:
                    return None
                ref = latest = max(known)
            if anchor is not None and ref < anchor:
                return None
            state = inc.carried_pairs(state, config, anchor if anchor is not None else ref, ref)
        pairs = state
        if new is not None:
            fresh = inc.event_pairs(new, config, ref)
            touched = fresh.select("user_id", "item_id").distinct()
            if n_new <= BROADCAST_NEW_EVENTS:
                touched = F.broadcast(touched)
            keys = ["user_id", "item_id"]
            merged = inc.merged(state.join(touched, keys, "left_semi").unionByName(fresh))
            pairs = state.join(touched, keys, "left_anti").unionByName(merged)
        self._keep_pairs(pairs, config, ref, latest, read, n_events)
        assert self.pair_state_path is not None
        return inc.weights_of(self.spark.read.parquet(str(self.pair_state_path)), config)

    def _keep_pairs(
        self,
        pairs: Any,
        config: WeightConfig,
        anchor: float | None,
        latest: float | None,
        read: dict,
        n_events: int,
    ) -> None:
        """Write this version's pair state to the job's scratch (copied into the version by keep_state)."""
        from ikg.spark.increments import config_key

        self.pair_state_path = self.scratch / "out" / "pair_stats"
        pairs.write.mode("overwrite").parquet(str(self.pair_state_path))
        self.pair_meta = {
            "anchor": anchor,
            "latest_past": latest,
            "config": config_key(config),
            "events": n_events,
            "read": read,
        }

    def keep_state(self, folder: Path) -> None:
        """Copy the pair state and what this refresh read into the version folder (for the next refresh)."""
        from ikg.spark.increments import STATE_META, STATE_TABLE

        if self.pair_state_path is None:
            return
        shutil.copytree(self.pair_state_path, Path(folder) / STATE_TABLE, dirs_exist_ok=True)
        (Path(folder) / STATE_META).write_text(json.dumps(self.pair_meta, sort_keys=True, default=str))

    def interests(
        self,
        interactions_frame: pd.DataFrame,
        item_concepts: pd.DataFrame,
        items: pd.DataFrame,
        review_concepts: pd.DataFrame,
    ) -> pd.DataFrame:
        """User interests (kg.builder.user_interests) per user on Spark, from the interactions stage's files."""
        from pyspark.sql import functions as F

        if self.interactions_path is None:
            raise RuntimeError("SparkStages.interests needs the interactions stage first")
        interactions = self.spark.read.parquet(str(self.interactions_path))
        catalog = self._put("items", items[["item_id", "domain"]])
        concepts = self._put("item_concepts", item_concepts[["item_id", "key", "weight"]])
        behaviour = (
            interactions.where(F.col("weight") > 0)
            .select("user_id", "item_id", "weight")
            .join(concepts.withColumnRenamed("weight", "ic_weight"), "item_id")
            .join(catalog, "item_id")
        )
        review_frame = (
            review_concepts[["user_id", "item_id", "key", "weight"]] if len(review_concepts) else None
        )
        if review_frame is None:
            review_frame = pd.DataFrame(
                {c: pd.Series(dtype="str") for c in ("user_id", "item_id", "key")}
                | {"weight": pd.Series(dtype=float)}
            )
        catalog_again = self.spark.read.parquet(str(self.scratch / "in" / "items.parquet"))
        reviews = self._put("review_concepts", review_frame).join(catalog_again, "item_id", "left")
        size = len(interactions_frame) * CONCEPTS_PER_ITEM_GUESS
        result = (
            self._bucketed(behaviour, size)
            .cogroup(self._bucketed(reviews, size))
            .applyInPandas(_user_interests, INTEREST_SCHEMA)
        )
        _, out = self._get("interests", result)
        out["domains"] = [list(d) for d in out["domains"]]
        return self._local_order(out, None, None)

    def extract_items(self, extractor: Any, items: pd.DataFrame, progress: Any = None) -> pd.DataFrame:
        """Concepts of `items` (the new or changed ones) found on the executors; rows as the local engine's."""
        from ikg.spark.extract import ITEM_ROWS, items_partition

        frame = items.reindex(columns=["item_id", "domain", "title", "description", "categories", "tags"])
        return self._extract("items", frame, ITEM_ROWS, items_partition, extractor, progress)

    def extract_reviews(self, extractor: Any, events: pd.DataFrame, progress: Any = None) -> pd.DataFrame:
        """Interest points of review texts found on the executors; rows as the local engine's."""
        from ikg.spark.extract import REVIEW_ROWS, reviews_partition

        with_text = events.dropna(subset=["text"]) if "text" in events else events.iloc[0:0]
        with_text = with_text[with_text["text"].astype(str).str.strip() != ""]
        frame = with_text.reindex(columns=["user_id", "item_id", "text"]).astype({"text": str})
        return self._extract("reviews", frame, REVIEW_ROWS, reviews_partition, extractor, progress)

    def _extract(
        self, name: str, frame: pd.DataFrame, schema: str, make: Any, extractor: Any, progress: Any
    ) -> pd.DataFrame:
        """`frame` through the extractor with mapInPandas, whole extractor batches per task, in the local order."""
        from pyspark.sql import functions as F

        from ikg.progress import StageProgress
        from ikg.spark.extract import WORKER_COLUMNS, fingerprint

        columns = [part.split()[0] for part in schema.split(", ")]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        if isinstance(progress, StageProgress):
            progress.add_total(len(frame))
        batch = getattr(extractor, "batch_size", None)
        batch = batch if isinstance(batch, int) and batch > 0 else 256
        groups = -(-len(frame) // batch)
        tasks = min(groups, max(self.spark.sparkContext.defaultParallelism, -(-len(frame) // TEXTS_PER_TASK)))
        sdf = self._put(f"extract_{name}", frame.reset_index(drop=True).assign(_pos=np.arange(len(frame))))
        sdf = sdf.repartition(tasks, F.floor(F.col("_pos") / batch))
        found = sdf.mapInPandas(make(extractor, fingerprint(extractor), batch), f"{schema}, {WORKER_COLUMNS}")
        _, rows = self._get(f"extract_{name}", found)
        workers = rows.groupby("_pid")["_built"].any()
        self.extraction_workers.extend(
            {"stage": name, "pid": int(pid), "built": bool(built)} for pid, built in workers.items()
        )
        if isinstance(progress, StageProgress):
            progress.advance(len(frame))
        rows = rows.sort_values("_group", kind="stable")
        return rows[columns].reset_index(drop=True)

    def fit_vectors(
        self,
        snapshot: Any,
        text_vectors: Any,
        config: Any,
        checkpoint_dir: Path | None = None,
        warm_start: Path | None = None,
        progress: bool = False,
    ) -> Any:
        """gnn.fit_vectors with TorchDistributor (`gnn_processes` DDP processes) on files this job writes."""
        from ikg.spark.torch_train import fit_vectors_distributed

        return fit_vectors_distributed(
            self.spark,
            snapshot,
            text_vectors,
            config,
            checkpoint_dir=checkpoint_dir,
            scratch=self.scratch / "gnn",
            num_processes=self.gnn_processes,
            warm_start=warm_start,
        )

    def item_item(self, alpha: float = 0.5, beta: float = 0.0, top_n: int = ITEM_NEIGHBOURS) -> Any:
        """The RP3beta item-item index (src item, dst item, score) as a Spark DataFrame.

        The same matrix as kg.proximity.ProximityIndex.item_item: P_iu^alpha · P_ui^alpha ·
        degree^-beta over positive interactions, each item's `top_n` strongest neighbours.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if self.interactions_path is None:
            raise RuntimeError("SparkStages.item_item needs the interactions stage first")
        R = (
            self.spark.read.parquet(str(self.interactions_path))
            .where(F.col("weight") > 0)
            .select("user_id", "item_id", F.col("weight").alias("w"))
        )
        if self.history_cap is not None:
            strongest = Window.partitionBy("user_id").orderBy(F.desc("w"), F.asc("item_id"))
            R = R.withColumn("_r", F.row_number().over(strongest)).where(F.col("_r") <= self.history_cap)
        by_user, by_item = Window.partitionBy("user_id"), Window.partitionBy("item_id")
        R = R.select(
            "user_id",
            "item_id",
            F.pow(F.col("w") / F.sum("w").over(by_user), alpha).alias("p_ui"),
            F.pow(F.col("w") / F.sum("w").over(by_item), alpha).alias("p_iu"),
            F.pow(F.greatest(F.count("w").over(by_item).cast("double"), F.lit(1.0)), -beta).alias("pen"),
        ).cache()
        left = R.select("user_id", F.col("item_id").alias("src"), "p_iu")
        right = R.select("user_id", F.col("item_id").alias("dst"), (F.col("p_ui") * F.col("pen")).alias("p"))
        pairs = (
            left.join(right, "user_id")
            .groupBy("src", "dst")
            .agg(F.sum(F.col("p_iu") * F.col("p")).alias("score"))
        )
        best = Window.partitionBy("src").orderBy(F.desc("score"), F.asc("dst"))
        return (
            pairs.withColumn("_r", F.row_number().over(best))
            .where(F.col("_r") <= top_n)
            .select(*INDEX_SCHEMA)
        )

    def write_item_item(self, folder: Path, walk: dict[str, float] | None) -> Path:
        """Write the RP3beta index of the tuned walk into a version folder as Parquet files `walk_index/`.

        Outside the tables that load_state reads, so both engines' versions load the same.
        """
        target = Path(folder) / "walk_index"
        walk = dict(walk or {})
        index = self.item_item(alpha=float(walk.get("alpha", 0.5)), beta=float(walk.get("beta", 0.0)))
        index.write.mode("overwrite").parquet(str(target))
        return target

    @staticmethod
    def _local_order(out: pd.DataFrame, by: list[str] | None, like: pd.DataFrame | None) -> pd.DataFrame:
        """Rows sorted as the local engine returns them, with its dtypes."""
        if by is None:
            order = np.lexsort(
                (
                    out["key"].to_numpy(dtype=str),
                    -out["weight"].to_numpy(),
                    out["user_id"].to_numpy(dtype=str),
                )
            )
            out = out.iloc[order]
        else:
            out = out.sort_values(by, kind="stable")
        out = out.reset_index(drop=True)
        if like is not None:
            out = out.astype({c: like[c].dtype for c in like.columns if c in out and c != "text"})
            out["text"] = out["text"].astype(object).where(out["text"].notna(), None)
        return out
