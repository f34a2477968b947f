"""Forgetting a user everywhere the data folder and the graph store keep them.

Matched in every form an id may have been written in (`kg.ids.id_variants` and the
normalisation of raw quarantined values), so `" victim7 "` or the integer 7 are found too.

What is purged, in every kept version (not only the active one):
- state tables: rows of any `user_id` column, the User node rows and the user's INTERACTED /
  INTERESTED_IN rows, and concepts only this user held (with their topic and related edges);
- arrays: rows of any `<name>_keys` array naming the user (and the same rows of `<name>`);
- GNN checkpoints: `user_keys`, `id_maps["user"]` and the user's row of the learned ID table
  (the user's learned parameters are dropped at once, no retraining needed);
- embedded graph generations kept for rollback, and the live graph store (Neo4j included);
- inbox batches, dislikes.json and quarantine rows whose raw record names the user.

What remains (see README "Forgetting a user"): Neo4j keeps deleted records in its store files
and transaction logs until they are rotated and the store is compacted (`neo4j-admin database
copy`); concept names extracted from the user's reviews stay in the concept vocabulary table
until a `refresh --full`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg.workdir import Workdir, unique_tmp, write_json_atomic
from kg.ids import InvalidIdError, id_variants, normalise_id

log = logging.getLogger(__name__)

USER_EDGES = ("rows_INTERACTED", "rows_INTERESTED_IN")
CONCEPT_EDGES = ("rows_IN_TOPIC", "rows_RELATED_TO", "rows_HAS_CONCEPT")


def id_forms(user_id: Any) -> set[str]:
    """Every text form of the user id (raw, normalised, numeric variants)."""
    try:
        return id_variants(user_id)
    except InvalidIdError:
        return {str(user_id)}


def matches(value: Any, forms: set[str], canonical: str) -> bool:
    """Whether a raw stored value is the user's id in any form."""
    if value is None:
        return False
    if isinstance(value, str) and value in forms:
        return True
    try:
        return normalise_id(value) == canonical
    except (InvalidIdError, TypeError, ValueError):
        return False


def _column_mask(column: pd.Series, forms: set[str]) -> np.ndarray:
    text = column.astype(str)
    return text.isin(forms).to_numpy() | text.str.strip().isin(forms).to_numpy()


def purge_tables(tables: dict[str, pd.DataFrame], forms: set[str]) -> tuple[dict[str, pd.DataFrame], int]:
    """Tables of one version without the user; returns them and how many rows went."""
    out = dict(tables)
    removed = 0
    touched: set[str] = set()
    interested = out.get("rows_INTERESTED_IN")
    if interested is not None and "src" in interested and len(interested):
        touched = set(interested.loc[_column_mask(interested["src"], forms), "dst"])
    for name, frame in tables.items():
        if not len(frame):
            continue
        mask = np.zeros(len(frame), dtype=bool)
        if "user_id" in frame:
            mask |= _column_mask(frame["user_id"], forms)
        if name == "rows_User" and "id" in frame:
            mask |= _column_mask(frame["id"], forms)
        if name in USER_EDGES and "src" in frame:
            mask |= _column_mask(frame["src"], forms)
        if mask.any():
            removed += int(mask.sum())
            out[name] = frame[~mask].reset_index(drop=True)
    orphans = _orphan_concepts(out, touched)
    if orphans:
        concepts = out.get("rows_Concept")
        if concepts is not None and "key" in concepts:
            out["rows_Concept"] = concepts[~concepts["key"].isin(orphans)].reset_index(drop=True)
        for name in ("rows_IN_TOPIC", "rows_RELATED_TO"):
            frame = out.get(name)
            if frame is not None and len(frame) and "src" in frame:
                keep = ~(frame["src"].isin(orphans) | frame["dst"].isin(orphans))
                out[name] = frame[keep].reset_index(drop=True)
    return out, removed


def _orphan_concepts(tables: dict[str, pd.DataFrame], touched: set[str]) -> set[str]:
    """Concepts the user held that no item and no other user holds any more."""
    held: set[str] = set()
    for name in ("rows_INTERESTED_IN", "rows_HAS_CONCEPT"):
        frame = tables.get(name)
        if frame is not None and len(frame) and "dst" in frame:
            held |= set(frame["dst"])
    return touched - held


def purge_arrays(arrays: dict[str, np.ndarray], forms: set[str]) -> tuple[dict[str, np.ndarray], int]:
    """Arrays without the user's rows: every `<name>_keys` string array and its `<name>` matrix."""
    out = dict(arrays)
    removed = 0
    for name, keys in arrays.items():
        if not name.endswith("_keys") or keys.dtype.kind not in "US" or keys.ndim != 1:
            continue
        hit = np.isin(np.char.strip(keys.astype(str)), list(forms)) | np.isin(keys.astype(str), list(forms))
        if not hit.any():
            continue
        removed += int(hit.sum())
        out[name] = keys[~hit]
        base = name.removesuffix("_keys")
        if base in arrays and len(arrays[base]) == len(keys):
            out[base] = arrays[base][~hit]
    return out, removed


def purge_checkpoint(path: Path, forms: set[str]) -> int:
    """Drop the user from a GNN checkpoint: user_keys, id_maps and their learned ID row."""
    if not path.exists():
        return 0
    import io

    import torch

    payload = torch.load(path, map_location="cpu", weights_only=False)
    removed = 0
    user_keys = list(payload.get("user_keys") or [])
    hit = [i for i, k in enumerate(user_keys) if str(k) in forms or str(k).strip() in forms]
    if hit:
        keep = [i for i in range(len(user_keys)) if i not in set(hit)]
        state = payload["state_dict"]
        weight = state.get("user_id.weight")
        if weight is not None and weight.shape[0] == len(user_keys):
            state["user_id.weight"] = (
                weight[keep].clone() if keep else torch.zeros((1, weight.shape[1]), dtype=weight.dtype)
            )
        payload["user_keys"] = [user_keys[i] for i in keep]
        removed += len(hit)
    id_maps = payload.get("id_maps") or {}
    for node_type, keys in id_maps.items():
        kept = [k for k in keys if not (str(k) in forms or str(k).strip() in forms)]
        removed += len(keys) - len(kept)
        id_maps[node_type] = kept
    if removed:
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        tmp = unique_tmp(path)
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
    return removed


def purge_quarantine(folder: Path, forms: set[str], canonical: str) -> int:
    """Drop quarantined rows whose raw record names the user (raw or normalised id)."""
    removed = 0
    for path in folder.glob("*.jsonl"):
        lines = path.read_text(encoding="utf-8").splitlines()
        keep = []
        for line in lines:
            if _quarantined_user(line, forms, canonical):
                removed += 1
            else:
                keep.append(line)
        if len(keep) != len(lines):
            tmp = unique_tmp(path)
            tmp.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")
            os.replace(tmp, path)
    return removed


def _quarantined_user(line: str, forms: set[str], canonical: str) -> bool:
    try:
        row = json.loads(line)
    except ValueError:
        return any(form in line for form in forms if len(form) > 3)
    raw = row.get("raw") if isinstance(row, dict) else None
    try:
        record = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        record = None
    if isinstance(record, dict):
        return any(matches(record.get(col), forms, canonical) for col in ("user_id", "user", "userId"))
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return any(f'"{form}"' in text for form in forms)


def purge_inbox(workdir: Workdir, forms: set[str]) -> int:
    """Drop the user's events from inbox batches not yet refreshed (under the inbox lock)."""
    removed = 0
    with workdir.inbox_lock():
        for path in sorted((workdir.path / "inbox").glob("*-events.parquet")):
            frame = pd.read_parquet(path)
            if "user_id" not in frame:
                continue
            hit = _column_mask(frame["user_id"], forms)
            if hit.any():
                removed += int(hit.sum())
                tmp = unique_tmp(path)
                frame[~hit].to_parquet(tmp, index=False)
                os.replace(tmp, path)
        dislikes = workdir.path / "dislikes.json"
        if dislikes.exists():
            data = json.loads(dislikes.read_text())
            kept = {u: v for u, v in data.items() if not (u in forms or u.strip() in forms)}
            if len(kept) != len(data):
                removed += len(data) - len(kept)
                write_json_atomic(dislikes, kept)
    return removed


def purge_generation(graph_dir: Path, generation: str, user_id: str, forms: set[str]) -> int:
    """Delete the user from one embedded graph generation, rewritten in place (staged, swapped)."""
    from kg.embedded import EmbeddedStore

    store = EmbeddedStore(graph_dir, generation=generation, prune=False)
    removed = 0
    for form in forms:
        removed += sum(store.delete_user(form).values())
    if removed:
        store.rewrite_generation()
    return removed


def purge_versions(workdir: Workdir, user_id: str) -> dict[str, int]:
    """Purge the user from every kept version's state folder and checkpoint."""
    forms = id_forms(user_id)
    counts = {"state_rows": 0, "vector_rows": 0, "checkpoint_rows": 0}
    versions = {v["version"] for v in workdir.versions()} | {workdir.active().get("version")}
    for version in sorted(v for v in versions if v):
        folder = workdir.state_dir(version)
        if not folder.is_dir():
            continue
        state = workdir.load_state({"version": version})
        tables, n_rows = purge_tables(state.tables, forms)
        arrays, n_vec = purge_arrays(state.arrays, forms)
        if n_rows or n_vec:
            workdir.write_state(version, tables, arrays, state.meta)
        counts["state_rows"] += n_rows
        counts["vector_rows"] += n_vec
        counts["checkpoint_rows"] += purge_checkpoint(workdir.model_dir(version) / "checkpoint.pt", forms)
    for leftover in workdir.path.glob(".trash-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return counts


def touch_active(workdir: Workdir) -> None:
    """Rewrite ACTIVE (same version) so every reader reloads the purged version on its next call."""
    info = workdir.active()
    if info:
        write_json_atomic(workdir.path / "ACTIVE", {**info, "purged": uuid.uuid4().hex[:8]})
