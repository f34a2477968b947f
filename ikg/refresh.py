"""The graph-refresh job: take what is new in the inbox, update the graph and vectors, swap atomically.

Incremental by construction: concepts are extracted only for items whose text is new or
changed and for review texts not seen before (the expensive, model-bound steps); the derived
tables (interactions, interests, topics, related concepts) are recomputed in memory and only
rows that differ from the active version are written to the store. Running it twice with
nothing new is a no-op. `full=True` re-extracts everything and rewrites the store.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from encoders import (
    ConceptVocabulary,
    ItemText,
    induce_topics,
    most_frequent_names,
    related_concepts,
    resolve_concepts,
)
from encoders.text_encoder import get_text_encoder
from ikg.gnn_policy import GNN_RETRAIN_FRACTION, gnn_step
from ikg.progress import StageProgress
from ikg.results import RefreshReport
from ikg.serving import DEFAULT_BLEND
from ikg.tuning import tune_blend
from ikg.workdir import Workdir
from kg import builder
from kg.faults import crash_point
from kg.ingest import event_keys, write_quarantine
from kg.lowpass import lowpass_from_snapshot, to_arrays
from kg.row_snapshot import rows_from_snapshot, snapshot_from_rows
from kg.store import GraphStore
from kg.transitions import learn_transitions
from kg.weights import WeightConfig, aggregate_interactions

log = logging.getLogger(__name__)

ITEM_COLUMNS = ["item_id", "domain", "title", "description", "categories", "tags"]
EVENT_COLUMNS = ["user_id", "item_id", "kind", "ts", "rating", "text", "event_key"]
ROW_TABLES = {
    "Domain": "nodes",
    "Item": "nodes",
    "User": "nodes",
    "Concept": "nodes",
    "Topic": "nodes",
    "IN_DOMAIN": "edges",
    "HAS_CONCEPT": "edges",
    "INTERACTED": "edges",
    "INTERESTED_IN": "edges",
    "IN_TOPIC": "edges",
    "RELATED_TO": "edges",
    "LEADS_TO": "edges",
}


class Timer:
    """Times each step of a refresh and shows it as a stage of `progress` (off by default)."""

    def __init__(self, progress: StageProgress | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress or StageProgress(enabled=False)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with self.progress.stage(name):
            yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("refresh: %s took %.2fs", name, self.timings[name])


def item_text(row: Any) -> str:
    """The text that represents an item for MiniLM: title, categories, description."""
    cats = (
        ", ".join(row.categories)
        if isinstance(row.categories, (list, tuple, np.ndarray)) and len(row.categories)
        else ""
    )
    desc = row.description if isinstance(row.description, str) else ""
    return ". ".join(part for part in (row.title, cats, desc) if part)


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    return []


def _new_version() -> str:
    return datetime.now(UTC).strftime("v%Y%m%d%H%M%S%f")


class LocalStages:
    """The local engine's stages (pandas); `ikg.spark.SparkStages` runs the same functions on Spark."""

    def interactions(self, events: pd.DataFrame, weights: WeightConfig) -> pd.DataFrame:
        return aggregate_interactions(events, weights)

    def interests(
        self,
        interactions: pd.DataFrame,
        item_concepts: pd.DataFrame,
        items: pd.DataFrame,
        review_concepts: pd.DataFrame,
    ) -> pd.DataFrame:
        return builder.user_interests(interactions, item_concepts, items, review_concepts)

    def inputs(self, workdir: Any, state: Any, pending: list, items: pd.DataFrame, full: bool) -> None:
        """The local engine takes its inputs from the frames it is given."""

    def keep_state(self, folder: Any) -> None:
        """The local engine keeps no state beside the version's tables."""

    def extract_items(self, extractor: Any, items: pd.DataFrame, progress: Any) -> pd.DataFrame:
        return _extract_items(extractor, items, progress)

    def extract_reviews(self, extractor: Any, events: pd.DataFrame, progress: Any) -> pd.DataFrame:
        return _extract_reviews(extractor, events, progress)

    def write_item_item(self, folder: Any, walk: Any) -> None:
        """The local engine builds the item-item index when a version is served (kg.proximity)."""


@contextmanager
def engine_stages(
    engine: str = "local", master: str | None = None, conf: dict[str, str] | None = None, scratch: Any = None
) -> Iterator[Any]:
    """The stages of `engine` ("local" or "spark"), open for one refresh."""
    if engine == "local":
        yield LocalStages()
        return
    if engine != "spark":
        raise ValueError(f"unknown refresh engine {engine!r}; expected 'local' or 'spark'")
    from ikg.spark import SparkStages, spark_session

    with spark_session(master, conf) as session:
        stages = SparkStages(session, scratch)
        try:
            yield stages
        finally:
            stages.close()


RETUNE_FRACTION = 0.1
"""An incremental refresh keeps the tuned blend until this share of new events has arrived."""


def _gather(kind: str, pending: list) -> pd.DataFrame:
    frames = [pd.read_parquet(path) for _, k, path in pending if k == kind]
    if kind == "events":
        frames = [f.assign(event_key=event_keys(f)) for f in frames]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _drop_repeats(new_events: pd.DataFrame, old_events: pd.DataFrame) -> pd.DataFrame:
    """New events without those whose identity the version already holds or an earlier batch repeats.

    Ingest already skips known events; this keeps a refresh exact when the same event reaches the
    inbox twice anyway (a rollback's replay, two writers staging it at once).
    """
    if not len(new_events):
        return new_events
    keys = new_events["event_key"].to_numpy(dtype="uint64")
    held = old_events["event_key"].to_numpy(dtype="uint64") if len(old_events) else np.zeros(0, "uint64")
    repeat = np.isin(keys, held) | pd.Series(keys).duplicated().to_numpy()
    if repeat.any():
        log.info("refresh: %d inbox events already taken in, skipped", int(repeat.sum()))
    return new_events[~repeat].reset_index(drop=True)


def _merge_items(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    if new.empty:
        return old
    for col in ITEM_COLUMNS:
        if col not in new:
            new[col] = None
    new = new[ITEM_COLUMNS].copy()
    both = pd.concat([old, new], ignore_index=True) if len(old) else new
    both = both.drop_duplicates("item_id", keep="last").reset_index(drop=True)
    both["categories"] = both["categories"].map(_as_list)
    both["tags"] = both["tags"].map(_as_list)
    both["description"] = both["description"].map(lambda d: d if isinstance(d, str) else "")
    both["text_hash"] = [_hash(item_text(r)) for r in both.itertuples()]
    return both


def _in_chunks(call: Callable[..., list], inputs: list, progress: StageProgress | bool, size: int) -> list:
    """`call(inputs)` in chunks of `size` (a multiple of the extractor's batch), counted on `progress`.

    The extractors work batch by batch, so chunks aligned to their batches give the same results
    as one call; their own bars stay off, the one display counts instead.
    """
    if not isinstance(progress, StageProgress):  # a plain flag from an older caller: no display here
        progress = StageProgress(enabled=False)
    progress.add_total(len(inputs))
    out: list = []
    for start in range(0, len(inputs), size):
        chunk = inputs[start : start + size]
        out.extend(call(chunk, show_progress=False))
        progress.advance(len(chunk))
    return out


def _chunk_size(extractor: Any) -> int:
    """Items per progress update: four of the extractor's batches."""
    batch = getattr(extractor, "batch_size", None)
    return 4 * batch if isinstance(batch, int) and batch > 0 else 64


def _extract_items(extractor, items: pd.DataFrame, progress: StageProgress | bool) -> pd.DataFrame:
    texts = [
        ItemText(r.item_id, r.title, r.description or "", tuple(r.categories), tuple(r.tags), r.domain)
        for r in items.itertuples()
    ]
    found = _in_chunks(extractor.extract_items, texts, progress, _chunk_size(extractor)) if texts else []
    rows = [
        {
            "item_id": it.item_id,
            "surface": c.key,
            "name": c.name,
            "weight": float(c.weight),
            "source": c.source,
        }
        for it, concepts in zip(texts, found)
        for c in concepts
    ]
    return pd.DataFrame(rows, columns=["item_id", "surface", "name", "weight", "source"])


def _extract_reviews(extractor, events: pd.DataFrame, progress: StageProgress | bool) -> pd.DataFrame:
    with_text = events.dropna(subset=["text"]) if "text" in events else events.iloc[0:0]
    with_text = with_text[with_text["text"].astype(str).str.strip() != ""]
    if with_text.empty:
        return pd.DataFrame(columns=["user_id", "item_id", "text_hash", "surface", "name", "weight"])
    texts = with_text["text"].astype(str).tolist()
    found = _in_chunks(extractor.extract_reviews, texts, progress, _chunk_size(extractor))
    rows = [
        {
            "user_id": u,
            "item_id": i,
            "text_hash": _hash(t),
            "surface": c.key,
            "name": c.name,
            "weight": float(c.weight),
        }
        for u, i, t, concepts in zip(with_text["user_id"], with_text["item_id"], texts, found)
        for c in concepts
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "text_hash", "surface", "name", "weight"])


def _vocab_from_state(state) -> ConceptVocabulary | None:
    concepts = state.table("concepts")
    if concepts.empty or "concept_vectors" not in state.arrays:
        return None
    keys = concepts["key"].tolist()
    return ConceptVocabulary(
        keys=keys,
        names=dict(zip(keys, concepts["name"])),
        aliases={k: list(a) for k, a in zip(keys, concepts["aliases"])},
        vectors=state.arrays["concept_vectors"],
    )


def _canonical(frame: pd.DataFrame, vocab: ConceptVocabulary, by: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*by, "key", "weight", "source"])
    out = frame.assign(key=frame["surface"].map(vocab.canonical))
    agg = {"weight": ("weight", "max")}
    if "source" in out:
        agg["source"] = ("source", "first")
    out = out.sort_values("weight", ascending=False).groupby([*by, "key"], as_index=False).agg(**agg)
    if "source" not in out:
        out["source"] = "review"
    return out


def _old_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows written by the previous refresh; states before DataFrame rows marked an empty table `_empty`."""
    return pd.DataFrame() if frame.empty or "_empty" in frame else frame


def _baseline_rows(
    store: GraphStore, state, new_rows: builder.GraphRows, full: bool
) -> dict[str, pd.DataFrame]:
    """The rows the store holds now, to diff the new version against.

    Normally the active version's own rows. When the store's `active_version` marker names
    another version (a refresh killed after its store commit, a rollback, a fresh store) or on
    a full refresh, the store's real content, so the write converges to exactly the new rows
    without emptying the live graph first.
    """
    marker = store.get_meta("active_version")
    if not full and state.version is not None and marker == state.version:
        return {name: _old_rows(state.table(f"rows_{name}")) for name in ROW_TABLES}
    if state.version is None and marker is None and not any(store.counts().values()):
        return {name: pd.DataFrame() for name in ROW_TABLES}
    log.info("refresh: diffing against the store's content (marker %s, active %s)", marker, state.version)
    return rows_from_snapshot(store.snapshot(), {**new_rows.nodes, **new_rows.edges})


def _tuning(
    snapshot, arrays: dict[str, np.ndarray], state, full: bool, n_events: int, refit_gnn: Any = None
) -> dict[str, Any]:
    """Re-choose the blend on a full refresh or once RETUNE_FRACTION of the events are new; else keep it."""
    tuned_events = state.meta.get("blend_tuning", {}).get("events")
    if (
        full
        or tuned_events is None
        or state.meta.get("blend") is None
        or n_events - tuned_events >= RETUNE_FRACTION * max(tuned_events, 1)
    ):
        return {**tune_blend(snapshot, arrays, refit_gnn=refit_gnn), "events": n_events}
    return {
        "blend": state.meta["blend"],
        "walk": state.meta.get("walk"),
        "lowpass_rank": state.meta.get("lowpass_rank"),
        "blend_by_domain": state.meta.get("blend_by_domain") or {},
        "events": tuned_events,
        "chosen": f"kept from version {state.version} ({n_events - tuned_events} new events since it was "
        f"tuned on {tuned_events}; re-tuned at {RETUNE_FRACTION:.0%} or with --full)",
    }


def _gnn_arrays(vectors: Mapping[str, tuple[list[str], np.ndarray]]) -> dict[str, np.ndarray]:
    """GNN vectors as the version's arrays: gnn_<Label> and gnn_<Label>_keys."""
    out = {}
    for label, (keys, matrix) in vectors.items():
        out[f"gnn_{label}"] = matrix
        out[f"gnn_{label}_keys"] = np.array(keys, dtype=str)
    return out


def _validation_gnn(text_vectors: Any, config: Any, fit: Any) -> Callable[[Any], dict[str, np.ndarray]]:
    """A function that trains a fresh GNN (same settings) on tuning's reduced graph, so the
    GNN weight is tuned on vectors that never saw the hidden validation edges."""

    def refit(reduced: Any) -> dict[str, np.ndarray]:
        import gnn

        with tempfile.TemporaryDirectory(prefix="ikg-tuning-gnn-") as folder:
            result = (fit or gnn.fit_vectors)(
                reduced, text_vectors, config or gnn.GnnConfig(), checkpoint_dir=Path(folder), progress=False
            )
        return _gnn_arrays(result.vectors)

    return refit


def run_refresh(
    store: GraphStore,
    workdir: Workdir,
    extractor_factory: Callable[[], Any],
    full: bool = False,
    gnn_config: Any = None,
    use_gnn: bool = True,
    weights: WeightConfig = WeightConfig(),
    progress: bool = True,
    tune: bool = True,
    gnn_retrain_fraction: float = GNN_RETRAIN_FRACTION,
    stages: Any = None,
) -> RefreshReport:
    """Run one refresh; see the module docstring. Raises on failure, leaving the old version active."""
    timer = Timer()
    stages = stages or LocalStages()
    state = workdir.load_state()
    with workdir.inbox_lock():
        pending = workdir.pending()
    if not pending and state.version and not full:
        return RefreshReport(
            True, state.version, store.counts(), {}, 0, 0, 0, {}, state.meta.get("graph", {})
        )
    version = _new_version()
    bar = timer.progress = StageProgress(progress, title="refresh")

    with timer.step("gather"):
        old_items = state.table("items")
        new_items = _gather("items", pending)
        items = _merge_items(old_items.copy(), new_items)
        if items.empty:
            raise ValueError("refresh: no items yet; ingest items before events (ig.ingest_items(frame))")
        old_events = state.table("events")
        if len(old_events):
            old_events["event_key"] = event_keys(old_events)
        new_events = _gather("events", pending)
        for col in EVENT_COLUMNS:
            if col not in new_events:
                new_events[col] = None
        new_events["event_key"] = event_keys(new_events)
        new_events = _drop_repeats(new_events, old_events)
        known = set(items["item_id"])
        unknown = ~new_events["item_id"].isin(known) if len(new_events) else pd.Series(dtype=bool)
        quarantined = int(unknown.sum()) if len(new_events) else 0
        if quarantined:
            bad = new_events[unknown]
            with workdir.inbox_lock():
                write_quarantine(
                    pd.DataFrame(
                        {
                            "source": "inbox events",
                            "row": bad.index + 1,
                            "column": "item_id",
                            "reason": [f"unknown item {i!r}: ingest the item first" for i in bad["item_id"]],
                            "raw": bad.to_json(orient="records", lines=True).splitlines(),
                        }
                    ),
                    workdir.quarantine_dir,
                )
            new_events = new_events[~unknown]
        events = (
            pd.concat([old_events, new_events[EVENT_COLUMNS]], ignore_index=True)
            if len(old_events)
            else new_events[EVENT_COLUMNS]
        )
        events = events.reset_index(drop=True)
        stages.inputs(workdir, state, pending, items, full)

    with timer.step("extract"):
        old_hash = (
            dict(zip(old_items["item_id"], old_items["text_hash"])) if len(old_items) and not full else {}
        )
        changed = items[[old_hash.get(i) != h for i, h in zip(items["item_id"], items["text_hash"])]]
        extractor = extractor_factory()
        fresh = stages.extract_items(extractor, changed, bar)
        kept = state.table("item_concepts_surface")
        kept = kept[~kept["item_id"].isin(changed["item_id"])] if len(kept) and not full else pd.DataFrame()
        item_surface = pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh
        old_reviews = state.table("review_surface") if not full else pd.DataFrame()
        seen = set(old_reviews["text_hash"]) if len(old_reviews) else set()
        candidates = events if full or not len(old_events) else new_events
        if "text" in candidates and len(candidates):
            candidates = candidates[
                [(_hash(t) if isinstance(t, str) else None) not in seen for t in candidates["text"]]
            ]
        review_surface = pd.concat(
            [old_reviews, stages.extract_reviews(extractor, candidates, bar)], ignore_index=True
        )
        review_surface = review_surface.drop_duplicates(["user_id", "item_id", "text_hash", "surface"])

    with timer.step("concepts"):
        surfaces = pd.concat([item_surface[["surface", "name"]], review_surface[["surface", "name"]]])
        names = most_frequent_names(surfaces["surface"], surfaces["name"])
        counts = surfaces["surface"].value_counts().to_dict()
        vocab = resolve_concepts(names, counts=counts, existing=None if full else _vocab_from_state(state))
        item_concepts = _canonical(item_surface, vocab, ["item_id"])
        review_concepts = _canonical(
            review_surface.drop(columns=["text_hash"]), vocab, ["user_id", "item_id"]
        )
        concept_domains = (
            item_concepts.merge(items[["item_id", "domain"]], on="item_id")
            .groupby("key")["domain"]
            .agg(lambda d: set(d))
            .to_dict()
        )
        topics = induce_topics(vocab, concept_domains)
        related = related_concepts(vocab)

    with timer.step("interests"):
        interactions = stages.interactions(events, weights)
        interests = stages.interests(interactions, item_concepts, items, review_concepts)
        transitions = learn_transitions(interactions, item_concepts, items.set_index("item_id")["domain"])

    with timer.step("write_graph"):
        item_nodes, domain_nodes, in_domain = builder.item_rows(items)
        user_nodes, interacted = builder.interaction_rows(interactions)
        used = set(item_concepts["key"]) | set(interests["key"])
        origins = {k: "review" for k in set(review_concepts["key"]) - set(item_concepts["key"])}
        concept_nodes = builder.concept_rows(vocab.names, vocab.aliases, item_concepts, origins)
        concept_nodes = concept_nodes[concept_nodes["key"].isin(used)].reset_index(drop=True)
        topic_nodes, in_topic = builder.topic_rows(topics)
        in_topic = in_topic[in_topic["src"].isin(used)].reset_index(drop=True)
        related_edges = builder.related_rows(related)
        related_edges = related_edges[related_edges["src"].isin(used) & related_edges["dst"].isin(used)]
        new_rows = builder.GraphRows(
            nodes={
                "Domain": domain_nodes,
                "Item": item_nodes,
                "User": user_nodes,
                "Concept": concept_nodes,
                "Topic": topic_nodes,
            },
            edges={
                "IN_DOMAIN": in_domain,
                "HAS_CONCEPT": builder.has_concept_rows(item_concepts),
                "INTERACTED": interacted,
                "INTERESTED_IN": builder.interest_rows(interests, time.time()),
                "IN_TOPIC": in_topic,
                "RELATED_TO": related_edges.reset_index(drop=True),
                "LEADS_TO": transitions[transitions["src"].isin(used) & transitions["dst"].isin(used)],
            },
        )
        baseline = _baseline_rows(store, state, new_rows, full)
        changed_rows, removed_rows = builder.GraphRows(), builder.GraphRows()
        for name, kind in ROW_TABLES.items():
            ignore = ["updated"] if name == "INTERESTED_IN" else []
            diff, gone = builder.diff_rows(baseline[name], getattr(new_rows, kind)[name], ignore=ignore)
            getattr(changed_rows, kind)[name] = diff
            changed_rows.added[name] = builder.added_mask(baseline[name], diff)
            getattr(removed_rows, kind)[name] = gone
        crash_point("rows")

    with timer.step("text_vectors"):
        old_vecs = state.arrays.get("item_text")
        old_keys = state.table("items")["item_id"].tolist() if old_vecs is not None else []
        reuse = {k: old_vecs[i] for i, k in enumerate(old_keys)} if old_vecs is not None and not full else {}
        need = [
            r for r in items.itertuples() if r.item_id not in reuse or r.item_id in set(changed["item_id"])
        ]
        encoded = get_text_encoder().encode([item_text(r) for r in need])
        reuse.update({r.item_id: v for r, v in zip(need, encoded)})
        item_vectors = np.stack([reuse[i] for i in items["item_id"]]).astype(np.float32)
        concept_keys = [k for k in vocab.keys if k in used]
        concept_vectors = (
            vocab.vectors[[vocab.keys.index(k) for k in concept_keys]]
            if concept_keys
            else np.zeros((0, 384), np.float32)
        )
        new_concepts = set(changed_rows.nodes["Concept"]["key"])
        idx = [i for i, k in enumerate(concept_keys) if k in new_concepts]

    gnn_info: dict[str, Any] = {}
    gnn_result = None
    refit_gnn = None
    arrays = {"item_text": item_vectors, "concept_vectors": vocab.vectors}
    snapshot = snapshot_from_rows(new_rows.nodes, new_rows.edges, {"active_version": version})
    crash_point("gnn")
    with timer.step("gnn"):
        if use_gnn:
            import gnn

            fit = getattr(stages, "fit_vectors", None)  # the engine's trainer (Spark: TorchDistributor)
            text_vectors = {
                "Item": (items["item_id"].tolist(), item_vectors),
                "Concept": (concept_keys, concept_vectors),
            }
            previous = workdir.model_dir(state.version) / "checkpoint.pt" if state.version else None
            result, gnn_info = gnn_step(
                snapshot,
                text_vectors,
                previous,
                state.meta.get("gnn", {}),
                workdir.model_dir(version),
                full,
                gnn_config,
                len(events),
                len(items),
                gnn_retrain_fraction,
                False,
                fit,
            )
            gnn_result = result
            arrays.update(_gnn_arrays(result.vectors))
            refit_gnn = _validation_gnn(text_vectors, gnn_config, fit)
    with timer.step("lowpass"):
        arrays.update(to_arrays(lowpass_from_snapshot(snapshot)))
    with timer.step("tune_blend"):
        tuning = (
            _tuning(snapshot, arrays, state, full, len(events), refit_gnn)
            if tune
            else {"blend": dict(DEFAULT_BLEND), "walk": None, "chosen": "default (not tuned)"}
        )
    bar.close()

    tables = {
        "items": items,
        "events": events,
        "item_concepts_surface": item_surface,
        "review_surface": review_surface,
        "item_concepts": item_concepts,
        "review_concepts": review_concepts,
        "interactions": interactions.drop(columns=["text"], errors="ignore"),
        "interests": interests,
        "concepts": pd.DataFrame(
            {
                "key": vocab.keys,
                "name": [vocab.names[k] for k in vocab.keys],
                "aliases": [list(vocab.aliases.get(k, [])) for k in vocab.keys],
            }
        ),
    }
    for name, kind in ROW_TABLES.items():
        tables[f"rows_{name}"] = getattr(new_rows, kind)[name]
    graph_counts = new_rows.counts()
    meta = {
        "graph": graph_counts,
        "gnn": gnn_info,
        "timings": timer.timings,
        "blend": tuning["blend"],
        "walk": tuning.get("walk"),
        "lowpass_rank": tuning.get("lowpass_rank"),
        "blend_by_domain": tuning.get("blend_by_domain") or {},
        "blend_tuning": {k: v for k, v in tuning.items() if k not in ("blend", "walk", "blend_by_domain")},
    }
    folder = workdir.write_state(version, tables, arrays, meta)
    stages.write_item_item(folder, tuning.get("walk"))
    stages.keep_state(folder)
    crash_point("state_written")
    with timer.step("commit_graph"), store.atomic():
        written = builder.write_graph(store, changed_rows, removed_rows)
        if len(need):
            store.write_vectors("Item", [r.item_id for r in need], encoded, prop="text_embedding")
        if idx:
            store.write_vectors(
                "Concept", [concept_keys[i] for i in idx], concept_vectors[idx], prop="text_embedding"
            )
        if gnn_result is not None:
            import gnn

            gnn.write_vectors(store, gnn_result)
        store.set_meta("active_version", version)
    crash_point("graph_written")
    generation = store.flush()
    crash_point("graph_flushed")
    inbox_seq = max(
        [seq for seq, _, _ in pending], default=state.info.get("inbox_seq", 0) if state.info else 0
    )
    info = {"version": version, "previous": state.version, "inbox_seq": inbox_seq, "created": time.time()}
    if generation:
        info["graph"] = generation
    workdir.activate(info)
    crash_point("activated")
    workdir.drop_consumed()
    log.info("refresh: version %s active (%s)", version, graph_counts)
    return RefreshReport(
        noop=False,
        model_version=version,
        counts=store.counts(),
        written=written,
        new_items=len(changed),
        new_events=len(new_events),
        quarantined=quarantined,
        timings=timer.timings,
        graph=graph_counts,
        gnn=gnn_info,
        blend={
            "weights": tuning["blend"],
            "walk": tuning.get("walk"),
            "by_domain": tuning.get("blend_by_domain") or {},
            "chosen": tuning["chosen"],
        },
    )
