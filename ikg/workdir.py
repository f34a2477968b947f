"""The working folder of an InterestGraph: inbox, versioned state, models and the ACTIVE pointer.

    <path>/inbox/000001-items.parquet     batches accepted by ingest_* and feedback, not yet refreshed
    <path>/state-<version>/               everything a refresh derived (tables, arrays, meta) and,
                                          once committed, version.json (its graph generation, inbox
                                          watermark, creation time)
    <path>/models/<version>/              GNN checkpoint of that version
    <path>/graph/graph-NNNNNN/            the embedded store's generation of that version (when no
                                          Neo4j is configured)
    <path>/ACTIVE                         JSON naming the serving version; replaced atomically
    <path>/quarantine/quarantine.jsonl    rejected rows with file, row, column and reason
    <path>/forgotten.json                 sha256 digests of users removed by forget_user (no raw ids)

A version is one unit: a refresh writes its state folder, checkpoint and graph generation
first, then version.json, and replaces ACTIVE last with one rename. A process killed at any
point before that rename leaves the previous version serving exactly as before; the leftovers
(a state folder without version.json, `.staging-*` folders, unreferenced generations) are
removed by the next refresh. The last `keep_versions` committed versions stay for
`rollback`; older ones are pruned.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg.locks import inbox_lock

TABLES = (
    "items",
    "events",
    "item_concepts",
    "review_concepts",
    "surface_names",
    "interactions",
    "interests",
    "concepts",
    "topics",
    "in_topic",
    "related",
)

KEEP_VERSIONS = int(os.environ.get("IKG_KEEP_VERSIONS", "3"))
"""Committed versions kept for rollback (the active one always counts); set IKG_KEEP_VERSIONS to change."""

VERSION_FILE = "version.json"
STALE_TMP_SECONDS = 3600
"""Temp files older than this are leftovers of killed writers (younger ones may be in use)."""


def _is_version(name: str) -> bool:
    """Whether a folder name is a version this project made (never delete anything else)."""
    return name.startswith("v") and name[1:].isdigit()


class VersionNotFoundError(LookupError):
    """A version that is not (or no longer) kept in the data folder."""


@dataclass
class State:
    """Tables of one version. Missing tables are empty DataFrames."""

    version: str | None
    tables: dict[str, pd.DataFrame]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    info: dict[str, Any] | None = None

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())


def unique_tmp(target: Path) -> Path:
    """A temp name beside `target` that no other process or thread picks."""
    return target.with_name(
        f".{target.name}.{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.tmp"
    )


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to `path` via a unique temp file and one rename."""
    tmp = unique_tmp(path)
    tmp.write_text(json.dumps(payload, sort_keys=True, default=str))
    os.replace(tmp, path)


class Workdir:
    """Reads and writes the folder layout above."""

    def __init__(self, path: str | os.PathLike[str], keep_versions: int | None = None) -> None:
        self.path = Path(path)
        self.keep_versions = max(int(keep_versions or KEEP_VERSIONS), 1)
        for sub in ("inbox", "models", "quarantine"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    # ---- inbox --------------------------------------------------------------------------
    def inbox_lock(self):
        """The lock that serialises sequence numbers, inbox reads/drops and dislikes.json."""
        return inbox_lock(self.path)

    def _next_seq(self) -> int:
        seqs = [int(p.name.split("-")[0]) for p in (self.path / "inbox").glob("*.parquet")]
        return max([self.active().get("inbox_seq", 0), *seqs]) + 1

    def stage(self, kind: str, frame: pd.DataFrame) -> Path:
        """Add a batch of clean rows to the inbox: written under a unique temp name, then renamed
        to the next sequence number while holding the inbox lock (so two writers never share one)."""
        scratch = unique_tmp(self.path / "inbox" / f"{kind}.parquet")
        frame.to_parquet(scratch, index=False)
        try:
            with self.inbox_lock():
                target = self.path / "inbox" / f"{self._next_seq():06d}-{kind}.parquet"
                os.replace(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)
        return target

    def pending(self) -> list[tuple[int, str, Path]]:
        """Inbox batches newer than the active state's watermark, oldest first."""
        done = self.active().get("inbox_seq", 0)
        out = []
        for p in sorted((self.path / "inbox").glob("*.parquet")):
            seq, kind = p.stem.split("-", 1)
            if int(seq) > done:
                out.append((int(seq), kind, p))
        return out

    def drop_consumed(self) -> None:
        """Delete inbox batches the active version has taken in."""
        with self.inbox_lock():
            done = self.active().get("inbox_seq", 0)
            for p in (self.path / "inbox").glob("*.parquet"):
                if int(p.stem.split("-", 1)[0]) <= done:
                    p.unlink(missing_ok=True)

    # ---- versions -----------------------------------------------------------------------
    def active(self) -> dict[str, Any]:
        pointer = self.path / "ACTIVE"
        try:
            return json.loads(pointer.read_text())
        except FileNotFoundError:
            return {}

    def active_signature(self) -> tuple[int, int, int] | None:
        """A cheap fingerprint of ACTIVE (inode, size, mtime): it changes whenever ACTIVE is replaced."""
        try:
            st = os.stat(self.path / "ACTIVE")
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def state_dir(self, version: str) -> Path:
        return self.path / f"state-{version}"

    def load_state(self, info: dict[str, Any] | None = None) -> State:
        """The whole state of the version named by `info` (default: ACTIVE)."""
        info = self.active() if info is None else info
        version = info.get("version")
        if not version:
            return State(None, {}, {}, {}, info)
        folder = self.state_dir(version)
        if not folder.is_dir():
            raise VersionNotFoundError(f"state folder of version {version} is missing in {self.path}")
        tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
        arrays = (
            dict(np.load(folder / "arrays.npz", allow_pickle=False))
            if (folder / "arrays.npz").exists()
            else {}
        )
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        return State(version, tables, arrays, meta, info)

    def write_state(
        self,
        version: str,
        tables: dict[str, pd.DataFrame],
        arrays: dict[str, np.ndarray],
        meta: dict[str, Any],
    ) -> Path:
        """Write a version's tables, arrays and meta into `state-<version>` (staged, then renamed)."""
        folder = self.state_dir(version)
        staging = self.path / f".staging-{version}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        staging.mkdir(parents=True)
        for name, frame in tables.items():
            frame.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
        np.savez(staging / "arrays.npz", **arrays)  # type: ignore[arg-type]
        (staging / "meta.json").write_text(json.dumps(meta, default=str, sort_keys=True))
        info = folder / VERSION_FILE
        if info.exists():
            shutil.copy2(info, staging / VERSION_FILE)
        if folder.exists():
            trash = self.path / f".trash-{version}-{uuid.uuid4().hex[:6]}"
            os.replace(folder, trash)
            os.replace(staging, folder)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, folder)
        return folder

    def activate(self, info: dict[str, Any]) -> None:
        """Commit a version (its version.json) and switch ACTIVE to it with one rename, then prune."""
        version = info["version"]
        if not self.state_dir(version).is_dir():
            raise VersionNotFoundError(f"cannot activate {version}: its state folder is missing")
        write_json_atomic(self.state_dir(version) / VERSION_FILE, info)
        write_json_atomic(self.path / "ACTIVE", info)
        self.prune()

    def versions(self) -> list[dict[str, Any]]:
        """Committed versions kept in the folder, newest first, each with `active` set on the serving one."""
        active = self.active().get("version")
        out = []
        for folder in self.path.glob("state-*"):
            file = folder / VERSION_FILE
            try:
                info = json.loads(file.read_text())
            except (OSError, ValueError):
                if folder.name.removeprefix("state-") != active:
                    continue
                info = dict(self.active())
            meta_file = folder / "meta.json"
            meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
            out.append(
                {**info, "active": info.get("version") == active, "graph_counts": meta.get("graph", {})}
            )
        return sorted(out, key=lambda v: (float(v.get("created", 0)), v.get("version", "")), reverse=True)

    def version_info(self, version: str) -> dict[str, Any]:
        for info in self.versions():
            if info.get("version") == version:
                return {k: v for k, v in info.items() if k not in ("active", "graph_counts")}
        kept = [v["version"] for v in self.versions()]
        raise VersionNotFoundError(f"version {version!r} is not kept here; kept versions: {kept}")

    def referenced(self) -> dict[str, set[str]]:
        """Versions and embedded graph generations that kept versions (and ACTIVE) point at."""
        infos = [self.active(), *self.versions()]
        return {
            "versions": {i["version"] for i in infos if i.get("version")},
            "graphs": {str(i["graph"]) for i in infos if i.get("graph")},
        }

    def prune(self, keep: int | None = None) -> list[str]:
        """Remove committed versions beyond the newest `keep` (never the active one); return them."""
        keep = self.keep_versions if keep is None else max(int(keep), 1)
        active = self.active().get("version")
        removed = []
        others = [v for v in self.versions() if v.get("version") != active]
        for info in others[max(keep - 1, 0) :]:
            self._remove_version(info["version"])
            removed.append(info["version"])
        return removed

    def _remove_version(self, version: str) -> None:
        folder = self.state_dir(version)
        if folder.exists():
            trash = self.path / f".trash-{version}-{uuid.uuid4().hex[:6]}"
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(self.model_dir(version), ignore_errors=True)

    def clean_stale(self) -> list[str]:
        """Remove what killed writers left: staging/trash folders, uncommitted states and models,
        temp files. Call only while holding the refresh lock."""
        refs = self.referenced()
        removed = []
        for p in [*self.path.glob(".staging-*"), *self.path.glob(".trash-*")]:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        for p in self.path.glob("state-v*"):
            if (
                _is_version(p.name.removeprefix("state-"))
                and p.name.removeprefix("state-") not in refs["versions"]
            ):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        for p in (self.path / "models").glob("v*"):
            if _is_version(p.name) and p.name not in refs["versions"]:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(f"models/{p.name}")
        cutoff = time.time() - STALE_TMP_SECONDS
        for p in [*self.path.glob(".*.tmp"), *(self.path / "inbox").glob(".*.tmp")]:
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        return removed

    # ---- forgotten users ------------------------------------------------------------------
    @property
    def forgotten_path(self) -> Path:
        return self.path / "forgotten.json"

    def forgotten(self) -> set[str]:
        """Digests (`kg.ids.id_digest`) of the users removed by forget_user."""
        path = self.forgotten_path
        return set(json.loads(path.read_text()).get("sha256", [])) if path.exists() else set()

    def add_forgotten(self, digest: str) -> None:
        """Record a forgotten user's digest (written atomically), so ingest can refuse their events."""
        known = self.forgotten() | {digest}
        write_json_atomic(self.forgotten_path, {"sha256": sorted(known)})

    def model_dir(self, version: str) -> Path:
        return self.path / "models" / version

    @property
    def quarantine_dir(self) -> Path:
        return self.path / "quarantine"
