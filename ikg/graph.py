"""`InterestGraph`: the public Python API (see DESIGN.md's contract).

    ig = InterestGraph.open("ikg-data")                                  # embedded store in a folder
    ig = InterestGraph.open(neo4j_uri="bolt://localhost:7687", auth=("neo4j", "..."))
    ig.ingest_items(items_df); ig.ingest_events(events_df); ig.refresh()
    ig.recommend("u1", k=20, domain="films")

Ingest calls validate, quarantine bad rows and stage the rest in the inbox; `refresh()`
turns the inbox into graph, vectors and a new serving version. Everything served comes from
the active version, so readers never see a half-finished refresh.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg.bridges import learned_bridges
from ikg.explain import explain_paths
from ikg.gnn_policy import GNN_RETRAIN_FRACTION
from ikg.inputs import (
    ForgottenUserError,
    NotRefreshedError,
    diversity_arg,
    item_id_arg,
    positive_int_arg,
    user_id_arg,
    user_ids_arg,
)
from ikg.locks import refresh_lock
from ikg.refresh import engine_stages, run_refresh
from ikg.results import (
    Bridge,
    Explanation,
    Interest,
    Migration,
    Profile,
    Recommendations,
    RefreshReport,
)
from ikg.serving import ServingModel
from ikg.workdir import State, VersionNotFoundError, Workdir, write_json_atomic
from kg.embedded import EmbeddedStore
from kg.faults import pause_point
from kg.ids import id_digest
from kg.ingest import drop_seen, event_keys, ingest_events, ingest_items, write_quarantine
from kg.neo4j_store import Neo4jConfig, Neo4jStore
from kg.row_snapshot import has_rows, snapshot_from_tables
from kg.store import GraphStore
from kg.weights import WeightConfig

log = logging.getLogger(__name__)

BRIDGE_MIN_RELATED = 0.7
"""A related concept bridges into a domain only when its RELATED_TO score is at least this."""

FEEDBACK_KINDS = ("like", "dislike", "click", "view", "purchase", "share", "cart")


class UnknownItemError(KeyError):
    """An item id that is neither in the graph nor waiting in the inbox."""


class _Served:
    """One whole version as served: its ACTIVE fingerprint, state, graph store and (built on first
    use, once) its serving model."""

    def __init__(self, signature: tuple[int, int, int] | None, state: State, store: GraphStore) -> None:
        self.signature, self.state, self.store = signature, state, store
        self.version = state.version
        self._model: ServingModel | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> ServingModel | None:
        if self._model is None and self.version is not None:
            with self._lock:
                if self._model is None:
                    state = self.state
                    snapshot = (
                        snapshot_from_tables(state.tables, {"active_version": str(state.version)})
                        if has_rows(state.tables)
                        else self.store.snapshot()
                    )
                    self._model = ServingModel.build(
                        snapshot,
                        state.version,
                        state.arrays,
                        state.meta.get("blend"),
                        state.meta.get("walk"),
                        state.meta.get("blend_by_domain"),
                        state.meta.get("lowpass_rank"),
                    )
        return self._model


class InterestGraph:
    """A knowledge-graph interest model over one store and one working folder."""

    def __init__(
        self,
        store: GraphStore,
        workdir: str | os.PathLike[str],
        extractor: str = "local",
        extractor_options: Mapping[str, Any] | None = None,
        use_gnn: bool = True,
        gnn_config: Any = None,
        weights: WeightConfig | None = None,
        gnn_retrain_fraction: float = GNN_RETRAIN_FRACTION,
        keep_versions: int | None = None,
    ) -> None:
        self.store = store
        self.workdir = Workdir(workdir, keep_versions=keep_versions)
        self._served: _Served | None = None
        self._store_tag: tuple[str | None, str | None] | None = None
        self._load_lock = threading.Lock()
        if isinstance(store, EmbeddedStore) and store.path is not None:
            store._prune_old = False
        self.extractor = extractor
        self.extractor_options = dict(extractor_options or {})
        self.use_gnn = use_gnn
        self.gnn_config = gnn_config
        self.weights = weights or WeightConfig()
        self.gnn_retrain_fraction = gnn_retrain_fraction

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        neo4j_uri: str | None = None,
        auth: tuple[str, str] | None = None,
        database: str = "neo4j",
        **options: Any,
    ) -> InterestGraph:
        """Open (or create) an interest graph.

        With only `path`, the graph lives in an embedded store under `path/graph`. With
        `neo4j_uri` (and `auth`), it lives in that Neo4j database and `path` (default
        `ikg-neo4j-state`) keeps the inbox, model versions and derived tables.
        """
        if neo4j_uri is None:
            root = Path(path or "ikg-data")
            return cls(EmbeddedStore(root / "graph"), root, **options)
        user, password = auth or (os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
        store = Neo4jStore(Neo4jConfig(neo4j_uri, user, password, database))
        return cls(store, Path(path or "ikg-neo4j-state"), **options)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> InterestGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- ingest -------------------------------------------------------------------------
    def ingest_items(self, items: pd.DataFrame | str | os.PathLike[str]) -> dict[str, Any]:
        """Validate items (item_id, domain, title, [description], [categories], [tags]) and stage them.

        Bad rows go to `<path>/quarantine/quarantine.jsonl` with file, row, column and reason;
        the report says how many. Takes effect at the next `refresh()`.
        """
        result = ingest_items(items)
        return self._stage("items", result)

    def ingest_events(
        self, events: pd.DataFrame | str | os.PathLike[str], *, allow_forgotten: bool = False
    ) -> dict[str, Any]:
        """Validate behaviour events (user_id, item_id, [kind], [ts], [rating], [text], [event_id]) and stage them.

        Events on items that are neither in the graph nor staged are quarantined, and so are
        events of users removed by `forget_user` unless `allow_forgotten=True`. An event already
        stored or staged (same identity, see `kg.ingest.event_keys`) counts as deduplicated.
        """
        result = ingest_events(
            events,
            known_items=self._known_items(),
            rating_scale=(0.0, 5.0),
            forgotten=None if allow_forgotten else self.workdir.forgotten(),
        )
        return self._stage("events", drop_seen(result, self._seen_event_keys()))

    def _seen_event_keys(self) -> np.ndarray:
        """Identities of the events in the active version and in the inbox."""
        frames = [self._current_state().table("events")]
        frames += [pd.read_parquet(path) for _, kind, path in self.workdir.pending() if kind == "events"]
        keys = [event_keys(f) for f in frames if len(f)]
        return np.concatenate(keys) if keys else np.zeros(0, dtype="uint64")

    def _stage(self, kind: str, result) -> dict[str, Any]:
        if len(result.quarantine):
            with self.workdir.inbox_lock():
                path = write_quarantine(result.quarantine, self.workdir.quarantine_dir)
            log.warning(
                "%s: %d rows quarantined (see %s); first: %s",
                kind,
                len(result.quarantine),
                path,
                result.messages(1)[0],
            )
        if len(result.clean):
            self.workdir.stage(kind, result.clean)
        return dict(result.report)

    def _known_items(self) -> set[str]:
        known = set(self._serving().state.table("items").get("item_id", pd.Series(dtype=str)))
        for _, kind, path in self.workdir.pending():
            if kind == "items":
                known |= set(pd.read_parquet(path, columns=["item_id"])["item_id"])
        return known

    # ---- refresh and versions ------------------------------------------------------------
    def refresh(
        self,
        full: bool = False,
        progress: bool = True,
        wait: float = 0.0,
        engine: str = "local",
        spark_master: str | None = None,
        spark_conf: Mapping[str, str] | None = None,
    ) -> RefreshReport:
        """Take what is new, update graph and vectors, and switch to the new version atomically.

        One refresh per data folder at a time: another running refresh makes this one wait up
        to `wait` seconds, then raise RefreshBusyError (naming its pid and start time). A
        refresh that fails or is killed leaves the previous version serving; what it left
        behind is removed by the next refresh. `engine="spark"` runs the heavy stages on
        Apache Spark (`spark_master`, default local[2]; `spark_conf` spark.* options).
        """
        from encoders import get_extractor

        with refresh_lock(self.workdir.path, wait):
            pause_point("refresh_locked")
            self.workdir.clean_stale()
            self._writer_store()
            try:
                with engine_stages(
                    engine, spark_master, dict(spark_conf or {}), self.workdir.path / "spark"
                ) as stages:
                    report = run_refresh(
                        self.store,
                        self.workdir,
                        lambda: get_extractor(self.extractor, **self.extractor_options),
                        full=full,
                        gnn_config=self.gnn_config,
                        use_gnn=self.use_gnn,
                        weights=self.weights,
                        progress=progress,
                        gnn_retrain_fraction=self.gnn_retrain_fraction,
                        stages=stages,
                    )
            except Exception:
                if isinstance(self.store, EmbeddedStore) and self.store.path is not None:
                    self.store = self._embedded_at(self.workdir.active().get("graph"))
                raise
            finally:
                self._served = None
            self._prune_graphs()
        return report

    def _embedded_at(self, generation: str | None) -> EmbeddedStore:
        assert isinstance(self.store, EmbeddedStore) and self.store.path is not None
        return EmbeddedStore(self.store.path, generation=generation, prune=False)

    def _writer_store(self) -> None:
        """Make the embedded store hold exactly the active version's generation before writing."""
        if not isinstance(self.store, EmbeddedStore) or self.store.path is None:
            return
        wanted = self.workdir.active().get("graph")
        if self.store._dirty or (wanted and self.store.generation != wanted):
            self.store = self._embedded_at(wanted)

    def _prune_graphs(self) -> None:
        if isinstance(self.store, EmbeddedStore) and self.store.path is not None:
            self.store.remove_generations(self.workdir.referenced()["graphs"])

    @property
    def version(self) -> str | None:
        """The version this InterestGraph serves now (ACTIVE is re-checked on every call)."""
        return self._serving().version

    def versions(self) -> list[dict[str, Any]]:
        """Committed versions kept for rollback, newest first (`active` marks the serving one)."""
        return self.workdir.versions()

    def rollback(self, version: str, wait: float = 0.0) -> dict[str, Any]:
        """Serve a kept earlier (or later) version again; the graph store is brought to its rows.

        No user data is lost: the events (and items) the serving version took in beyond `version`
        go back into the inbox, so the next refresh builds on `version` plus them, each event
        exactly once (`replayed_events` / `replayed_items` in the returned info). Events of
        forgotten users are not replayed.
        """
        from ikg.replay import replay_into_inbox
        from ikg.versions import project_state

        with refresh_lock(self.workdir.path, wait, what="rollback"):
            current = self.workdir.active()
            info = self.workdir.version_info(version)
            state = self.workdir.load_state(info)
            if isinstance(self.store, EmbeddedStore) and self.store.path is not None:
                if not info.get("graph"):
                    raise VersionNotFoundError(f"version {version} has no embedded graph generation recorded")
                self.store = self._embedded_at(info["graph"])
            else:
                project_state(self.store, state)
            replayed = replay_into_inbox(self.workdir, self.workdir.load_state(current), state)
            info = {
                **info,
                "previous": current.get("version"),
                "inbox_seq": max(int(current.get("inbox_seq", 0)), int(info.get("inbox_seq", 0))),
                "rolled_back_at": time.time(),
            }
            self.workdir.activate(info)
            self._served = None
            self._prune_graphs()
        return {**info, **replayed}

    # ---- serving ------------------------------------------------------------------------
    def _serving(self) -> _Served:
        """The whole version ACTIVE names now: reloaded (state, model, graph) when ACTIVE changed."""
        signature = self.workdir.active_signature()
        served = self._served
        if served is not None and served.signature == signature:
            return served
        with self._load_lock:
            served = self._served
            if served is not None and served.signature == self.workdir.active_signature():
                return served
            for attempt in range(20):
                signature = self.workdir.active_signature()
                try:
                    loaded = self._load_version(signature, self.workdir.active())
                    break
                except (VersionNotFoundError, FileNotFoundError):
                    if attempt == 19:
                        raise
                    time.sleep(0.05)  # a version pruned or purged under us: read ACTIVE again
            self._served = loaded
            return loaded

    def _load_version(self, signature, info: dict[str, Any]) -> _Served:
        state = self.workdir.load_state(info)
        store = self.store
        generation = info.get("graph")
        if isinstance(store, EmbeddedStore) and store.path is not None and generation:
            tag = (generation, info.get("purged"))
            purged_since = self._store_tag is not None and self._store_tag[1] != tag[1]
            if store.generation != generation or purged_since:
                store = self._embedded_at(generation)
                self.store = store
            self._store_tag = tag
        return _Served(signature, state, store)

    def _current_state(self) -> State:
        return self._serving().state

    def model(self) -> ServingModel:
        """The serving model of the active version (built on first use)."""
        served = self._serving()
        if served.model is None:
            raise NotRefreshedError(
                "nothing to serve yet: no refresh has completed; ingest items and events, then refresh"
            )
        return served.model

    def _live_dislikes(self) -> dict[str, set[str]]:
        path = self.workdir.path / "dislikes.json"
        return {u: set(items) for u, items in json.loads(path.read_text()).items()} if path.exists() else {}

    def _save_dislikes(self, dislikes: dict[str, set[str]]) -> None:
        """Write dislikes.json atomically (call while holding the inbox lock)."""
        write_json_atomic(
            self.workdir.path / "dislikes.json", {u: sorted(s) for u, s in dislikes.items() if s}
        )

    def recommend(
        self,
        user_id: str | int,
        k: int = 20,
        domain: str | None = None,
        exclude_seen: bool = True,
        diversity: float = 0.0,
    ) -> Recommendations:
        """Top-k items for a user, each with score, a 0-1 similarity and its top reasons.

        `domain` restricts to one domain; `diversity` in [0, 1] re-ranks with MMR over item
        vectors. A user with no history in the graph (never seen, or forgotten) gets the most
        popular items, flagged `cold_start=True` on the list and on each item, and a warning is logged.
        """
        user = user_id_arg(user_id)
        return self.recommend_batch(
            [user], k=k, domain=domain, exclude_seen=exclude_seen, diversity=diversity
        )[user]

    def recommend_batch(
        self,
        user_ids: Sequence[str],
        k: int = 20,
        domain: str | None = None,
        exclude_seen: bool = True,
        diversity: float = 0.0,
        with_reasons: bool = True,
    ) -> dict[str, Recommendations]:
        """`recommend` for many users at once (one batched scoring pass; same results), keyed by normalised id.

        Every answer carries the `version` it was scored with (one version per call).
        """
        user_ids = user_ids_arg(user_ids)
        k, diversity = positive_int_arg(k), diversity_arg(diversity)
        return self._recommend_with(self.model(), user_ids, k, domain, exclude_seen, diversity, with_reasons)

    def _recommend_with(
        self,
        model: ServingModel,
        user_ids: Sequence[str],
        k: int,
        domain: str | None,
        exclude_seen: bool,
        diversity: float,
        with_reasons: bool = True,
        rowwise: bool = False,
    ) -> dict[str, Recommendations]:
        """recommend_batch on `model`; `rowwise` makes each answer bit-identical to `recommend` alone."""
        self._check_domain(domain, model)
        users = list(dict.fromkeys(user_ids))
        self._warn_cold(model, users)
        out: dict[str, Recommendations] = {}
        dislikes = self._live_dislikes()
        for start in range(0, len(users), 256):
            chunk = users[start : start + 256]
            for user, recs in zip(
                chunk,
                model.recommend(
                    chunk, k, domain, exclude_seen, dislikes, with_reasons, diversity, rowwise=rowwise
                ),
            ):
                for rec in recs:
                    rec.version = model.version
                out[user] = Recommendations(recs, cold_start=user not in model.index.user_index)
        return out

    @staticmethod
    def _warn_cold(model: ServingModel, users: Sequence[str]) -> None:
        """Log that users without history get popular items (one line for a whole batch)."""
        unknown = [u for u in users if u not in model.index.user_index]
        if unknown:
            log.warning(
                "%d user(s) have no history in the graph (never seen, forgotten, or not refreshed yet), "
                "so they get popular items (cold_start=True): %s",
                len(unknown),
                ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else ""),
            )

    def _check_domain(self, domain: str | None, model: ServingModel | None = None) -> None:
        if domain is None:
            return
        domains = sorted(set((model or self.model()).index.item_domain.tolist()))
        if domain not in domains:
            raise ValueError(f"unknown domain {domain!r}; the graph has domains {domains}")

    def explain(self, user_id: str | int, item_id: str | int, limit: int = 5) -> list[Explanation]:
        """The strongest graph paths from the user to the item, each with Cypher that returns it.

        A user with no history in the graph has no paths: the list is empty and a warning is logged
        (`known_user` tells the two cases apart).
        """
        user_id, item_id, limit = user_id_arg(user_id), item_id_arg(item_id), positive_int_arg(limit, "limit")
        model = self.model()
        if item_id not in model.index.item_index:
            raise UnknownItemError(f"item {item_id!r} is not in the graph (ingest it, then refresh)")
        self._warn_cold(model, [user_id])
        return explain_paths(model, user_id, item_id, limit)

    def known_user(self, user_id: str | int) -> bool:
        """True when the active version has history for the user (False: never seen, forgotten, not refreshed)."""
        return user_id_arg(user_id) in self.model().index.user_index

    def migrate(self, user_id: str | int, target_domain: str, k: int = 20, bridges: int = 8) -> Migration:
        """Carry a user's interests into `target_domain`: the bridging concepts and the items.

        Works for a user with no history in the target domain (cold start): bridges are learned
        LEADS_TO transitions from the concepts of what they engaged with elsewhere (first), then
        the concepts that items of the target domain share.
        """
        user_id, k, bridges = user_id_arg(user_id), positive_int_arg(k), positive_int_arg(bridges, "bridges")
        model = self.model()
        self._check_domain(target_domain, model)
        idx = model.index
        items = self._recommend_with(model, [user_id], k, target_domain, True, 0.0)[user_id]
        row = idx.user_index.get(user_id, -1)
        if row < 0:
            return Migration(user_id, target_domain, True, [], items, model.version)
        in_target = idx.item_domain == target_domain
        history = idx.R[row].indices
        cold = not bool(in_target[history].any()) if len(history) else True
        user_concepts = np.asarray((0.5 * (idx.P_ui[row] @ idx.P_ic) + 0.5 * idx.P_uc[row]).todense()).ravel()
        ranked_target = [idx.item_index[r.item_id] for r in items]
        target_ic = idx.IC[np.flatnonzero(in_target)]
        reach = np.asarray(target_ic.sum(axis=0)).ravel()
        related = idx.P_cc
        found: list[Bridge] = learned_bridges(model, row, target_domain, ranked_target, max(1, bridges // 2))
        learned = {b.concept for b in found}
        top = float(user_concepts.max(initial=0.0)) or 1.0
        for c in np.argsort(-user_concepts):
            if user_concepts[c] <= 0 or len(found) >= bridges:
                break
            if idx.concepts[c] in learned:
                continue
            via, targets_of = "shared concept", c
            if reach[c] <= 0:
                neighbours = related[c].indices
                reachable = [d for d in neighbours if reach[d] > 0 and idx.CC[c, d] >= BRIDGE_MIN_RELATED]
                if not reachable:
                    continue
                targets_of = max(reachable, key=lambda d: related[c, d])
                via = f"related concept '{model.concept_names.get(idx.concepts[targets_of], idx.concepts[targets_of])}'"
            carriers = [j for j in history if idx.IC[j, c] > 0 and not in_target[j]]
            target_cols = set(idx.IC[:, targets_of].nonzero()[0].tolist()) & set(
                np.flatnonzero(in_target).tolist()
            )
            ordered = [i for i in ranked_target if i in target_cols] + sorted(
                target_cols - set(ranked_target), key=lambda i: -idx.popularity[i]
            )
            key = idx.concepts[c]
            found.append(
                Bridge(
                    key,
                    model.concept_names.get(key, key),
                    round(float(user_concepts[c] / top), 4),
                    [idx.items[j] for j in carriers[:5]],
                    [idx.items[i] for i in ordered[:5]],
                    via,
                )
            )
        return Migration(user_id, target_domain, cold, found, items, model.version)

    def profile(self, user_id: str | int, windows: int = 3, top: int = 20) -> Profile:
        """Interest points and topics with weights, per domain, and drift across time windows.

        A user with no history gets an empty profile flagged `cold_start=True` (and a logged warning).
        """
        user_id = user_id_arg(user_id)
        windows, top = positive_int_arg(windows, "windows"), positive_int_arg(top, "top")
        served = self._serving()
        if served.model is None:
            raise NotRefreshedError(
                "nothing to serve yet: no refresh has completed; ingest items and events, then refresh"
            )
        model, state = served.model, served.state
        interests = state.table("interests")
        mine = interests[interests["user_id"] == user_id].sort_values("weight", ascending=False).head(top)
        points = [
            Interest(
                r.key,
                model.concept_names.get(r.key, r.key),
                round(float(r.weight), 4),
                [str(d) for d in r.domains],
                r.source,
            )
            for r in mine.itertuples()
        ]
        idx = model.index
        topic_weight: dict[str, float] = {}
        for p in points:
            c = idx.concept_index.get(p.key)
            if c is None:
                continue
            for t in idx.CT[c].indices:
                topic_weight[idx.topics[t]] = topic_weight.get(idx.topics[t], 0.0) + p.weight
        topic_names = _topic_names(state, served.store, list(topic_weight))
        topics = [
            {"id": t, "name": topic_names.get(t, {}).get("name", t), "weight": round(w, 4)}
            for t, w in sorted(topic_weight.items(), key=lambda kv: -kv[1])
        ]
        interactions = state.table("interactions")
        mine_i = interactions[interactions["user_id"] == user_id]
        items = state.table("items")
        domains = mine_i.merge(items[["item_id", "domain"]], on="item_id")["domain"].value_counts().to_dict()
        self._warn_cold(model, [user_id])
        events = state.table("events")
        drift = interest_drift(events, state.table("item_concepts"), user_id, windows, model.concept_names)
        return Profile(
            user_id,
            points,
            topics,
            {str(k): int(v) for k, v in domains.items()},
            drift,
            model.version,
            cold_start=user_id not in idx.user_index,
            drift_windows=drift_periods(events, user_id, windows) if drift else [],
        )

    # ---- feedback and deletion ----------------------------------------------------------
    def feedback(
        self,
        user_id: str | int,
        item_id: str | int,
        kind: str,
        ts: float | None = None,
        *,
        allow_forgotten: bool = False,
    ) -> dict[str, Any]:
        """Record feedback as an event. A dislike filters the item at once; learning happens on refresh.

        Feedback of a user removed by `forget_user` is refused (ForgottenUserError, nothing stored),
        as ingest quarantines their events, unless `allow_forgotten=True` (the user returned).
        """
        if kind not in FEEDBACK_KINDS:
            raise ValueError(f"unknown feedback kind {kind!r}; use one of {list(FEEDBACK_KINDS)}")
        user_id, item_id = user_id_arg(user_id), item_id_arg(item_id)
        if not allow_forgotten:
            self._refuse_forgotten(user_id)
        if item_id not in self._known_items():
            raise UnknownItemError(f"item {item_id!r} is not in the graph or the inbox; ingest it first")
        event = pd.DataFrame(
            [
                {
                    "user_id": user_id,
                    "item_id": item_id,
                    "kind": kind,
                    "ts": float(ts if ts is not None else time.time()),
                    "rating": np.nan,
                    "text": None,
                }
            ]
        )
        event["event_key"] = event_keys(event)
        staged = self.workdir.stage("events", event)
        with self.workdir.inbox_lock():
            if not allow_forgotten and id_digest(user_id) in self.workdir.forgotten():
                staged.unlink(missing_ok=True)  # forget_user ran meanwhile: keep nothing of theirs
                self._refuse_forgotten(user_id)
            dislikes = self._live_dislikes()
            if kind == "dislike":
                dislikes.setdefault(user_id, set()).add(item_id)
            else:
                dislikes.get(user_id, set()).discard(item_id)
            self._save_dislikes(dislikes)
        return {
            "user_id": user_id,
            "item_id": item_id,
            "kind": kind,
            "staged": True,
            "filtered_now": kind == "dislike",
        }

    def _refuse_forgotten(self, user_id: str) -> None:
        """Raise ForgottenUserError when the user's digest is in the forgotten registry."""
        if id_digest(user_id) in self.workdir.forgotten():
            raise ForgottenUserError(
                f"feedback refused: user {user_id!r} was removed with forget_user, so nothing of theirs "
                "is stored again; fix: pass allow_forgotten=True (ikg feedback --allow-forgotten) "
                "only if the user has agreed to return"
            )

    def forget_user(self, user_id: str | int, wait: float = 600.0) -> dict[str, int]:
        """Remove the user and everything derived from them, in every kept version.

        The user's id digest (sha256 of the normalised id, never the id) goes into
        `<path>/forgotten.json` first, so later ingests quarantine their events ("forgotten user").
        Then: graph store, every kept version's tables, vectors and GNN checkpoint (the user's
        learned ID row is dropped at once), embedded generations kept for rollback, inbox,
        dislikes and quarantine rows (raw and normalised id forms). Waits up to `wait` seconds
        for a running refresh. docs/reliability.md says what remains where (Neo4j store files
        until compaction).
        """
        from ikg import forget

        canonical = user_id_arg(user_id)
        forms = forget.id_forms(user_id)
        raw = user_id if isinstance(user_id, str) else canonical
        with self.workdir.inbox_lock():
            self.workdir.add_forgotten(id_digest(canonical))
        with refresh_lock(self.workdir.path, wait, what="forget"):
            self._writer_store()
            removed: dict[str, int] = {}
            for form in sorted(forms):
                for key, n in self.store.delete_user(form).items():
                    removed[key] = removed.get(key, 0) + n
            removed.update(forget.purge_versions(self.workdir, raw))
            if isinstance(self.store, EmbeddedStore) and self.store.path is not None:
                removed["graph_generations"] = 0
                live = self.store.generation
                for generation in sorted(self.workdir.referenced()["graphs"] | set(self.store.generations())):
                    if generation == live:
                        continue
                    removed["graph_generations"] += bool(
                        forget.purge_generation(self.store.path, generation, raw, forms)
                    )
                if live:
                    self.store.rewrite_generation()
            removed["inbox_events"] = forget.purge_inbox(self.workdir, forms)
            with self.workdir.inbox_lock():
                removed["quarantine_rows"] = forget.purge_quarantine(
                    self.workdir.quarantine_dir, forms, canonical
                )
            self.store.flush()
            forget.touch_active(self.workdir)
            self._served = None
        return removed


def _topic_names(state: State, store: GraphStore, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Topic properties from the version's own rows (the live store may hold another version)."""
    rows = state.table("rows_Topic")
    if len(rows) and "id" in rows and "name" in rows:
        wanted = set(keys)
        return {k: {"name": n} for k, n in zip(rows["id"], rows["name"]) if k in wanted}
    return store.get_nodes("Topic", keys)


def interest_drift(
    events: pd.DataFrame,
    item_concepts: pd.DataFrame,
    user_id: str,
    windows: int,
    names: Mapping[str, str],
    top: int = 10,
) -> list[dict[str, Any]]:
    """Concept weights of a user's engagement per time window, and their trend (rising/fading).

    The user's timestamped events are cut into `windows` equal time spans; in each, a
    concept's weight is its share of the concept mass of the items engaged with. Trend is
    the last window's share minus the first's.
    """
    mine = _timed_events(events, user_id)
    if len(mine) < 2 or windows < 2:
        return []
    ts = mine["ts"].astype(float)
    edges = _window_edges(ts, windows)
    window = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, windows - 1)
    joined = mine.assign(window=window).merge(item_concepts[["item_id", "key", "weight"]], on="item_id")
    if joined.empty:
        return []
    mass = joined.groupby(["window", "key"])["weight"].sum().unstack(fill_value=0.0)
    mass = mass.reindex(range(windows), fill_value=0.0)
    share = mass.div(mass.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    trend = share.iloc[-1] - share.iloc[0]
    order = share.sum().sort_values(ascending=False).index[:top]
    out = []
    for key in sorted(order, key=lambda k: -abs(trend[k])):
        delta = float(trend[key])
        out.append(
            {
                "key": key,
                "name": names.get(key, key),
                "by_window": [round(float(v), 4) for v in share[key].tolist()],
                "trend": round(delta, 4),
                "direction": "rising" if delta > 0.02 else "fading" if delta < -0.02 else "stable",
            }
        )
    return out


def _timed_events(events: pd.DataFrame, user_id: str) -> pd.DataFrame:
    """The user's events that carry a timestamp."""
    return events[(events["user_id"] == user_id)].dropna(subset=["ts"]) if len(events) else events


def _window_edges(ts: pd.Series, windows: int) -> np.ndarray:
    """`windows` equal time spans from the first to the last timestamp (windows + 1 edges)."""
    return np.linspace(ts.min(), ts.max() + 1e-9, windows + 1)


def drift_periods(events: pd.DataFrame, user_id: str, windows: int) -> list[dict[str, str]]:
    """The time spans `interest_drift` cuts the user's events into, as ISO-8601 UTC start/end."""
    mine = _timed_events(events, user_id)
    if len(mine) < 2 or windows < 2:
        return []
    edges = _window_edges(mine["ts"].astype(float), windows)
    stamps = pd.to_datetime(edges, unit="s", utc=True)
    return [
        {"start": stamps[n].isoformat(timespec="seconds"), "end": stamps[n + 1].isoformat(timespec="seconds")}
        for n in range(windows)
    ]
