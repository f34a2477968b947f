"""The working folder of an InterestGraph: inbox, versioned state, models and the ACTIVE pointer.

    <path>/inbox/000001-items.parquet     batches accepted by ingest_* and feedback, not yet refreshed
    <path>/state-<version>/               everything a refresh derived (tables, vocabulary, vectors)
    <path>/models/<version>/              GNN checkpoint of that version
    <path>/ACTIVE                         JSON naming the serving version; replaced atomically
    <path>/quarantine/quarantine.jsonl    rejected rows with file, row, column and reason
    <path>/graph/                         the embedded store (when no Neo4j is configured)
    <path>/forgotten.json                 sha256 digests of users removed by forget_user (no raw ids)

A refresh writes a complete new state folder, then replaces ACTIVE with one rename, so a
reader sees the old or the new version, never a mix, and a failed refresh leaves the old
version serving.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


@dataclass
class State:
    """Tables of one version. Missing tables are empty DataFrames."""

    version: str | None
    tables: dict[str, pd.DataFrame]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())


class Workdir:
    """Reads and writes the folder layout above."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        for sub in ("inbox", "models", "quarantine"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    # ---- inbox --------------------------------------------------------------------------
    def _next_seq(self) -> int:
        seqs = [int(p.name.split("-")[0]) for p in (self.path / "inbox").glob("*.parquet")]
        return max([self.active().get("inbox_seq", 0), *seqs]) + 1

    def stage(self, kind: str, frame: pd.DataFrame) -> Path:
        """Add a batch of clean rows to the inbox (written atomically)."""
        target = self.path / "inbox" / f"{self._next_seq():06d}-{kind}.parquet"
        tmp = target.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
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
        done = self.active().get("inbox_seq", 0)
        for p in (self.path / "inbox").glob("*.parquet"):
            if int(p.stem.split("-", 1)[0]) <= done:
                p.unlink(missing_ok=True)

    # ---- versions -----------------------------------------------------------------------
    def active(self) -> dict[str, Any]:
        pointer = self.path / "ACTIVE"
        return json.loads(pointer.read_text()) if pointer.exists() else {}

    def load_state(self) -> State:
        info = self.active()
        version = info.get("version")
        if not version:
            return State(None, {}, {}, {})
        folder = self.path / f"state-{version}"
        tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
        arrays = (
            dict(np.load(folder / "arrays.npz", allow_pickle=False))
            if (folder / "arrays.npz").exists()
            else {}
        )
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        return State(version, tables, arrays, meta)

    def write_state(
        self,
        version: str,
        tables: dict[str, pd.DataFrame],
        arrays: dict[str, np.ndarray],
        meta: dict[str, Any],
    ) -> Path:
        folder = self.path / f"state-{version}"
        staging = self.path / f".staging-{version}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, frame in tables.items():
            frame.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
        np.savez(staging / "arrays.npz", **arrays)  # type: ignore[arg-type]
        (staging / "meta.json").write_text(json.dumps(meta, default=str, sort_keys=True))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        return folder

    def activate(self, info: dict[str, Any]) -> None:
        """Switch the serving version with one atomic rename; keep the previous one for rollback."""
        tmp = self.path / ".ACTIVE.tmp"
        tmp.write_text(json.dumps(info, sort_keys=True))
        os.replace(tmp, self.path / "ACTIVE")
        self._prune(keep={info.get("version"), info.get("previous")})

    def _prune(self, keep: set) -> None:
        for folder in self.path.glob("state-v*"):
            version = folder.name.removeprefix("state-")
            if version not in keep and version[1:].isdigit():
                shutil.rmtree(folder, ignore_errors=True)
        for folder in (self.path / "models").glob("v*"):
            if folder.name not in keep and folder.name[1:].isdigit():
                shutil.rmtree(folder, ignore_errors=True)

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
        tmp = self.path / ".forgotten.json.tmp"
        tmp.write_text(json.dumps({"sha256": sorted(known)}, indent=0))
        os.replace(tmp, self.forgotten_path)

    def model_dir(self, version: str) -> Path:
        return self.path / "models" / version

    @property
    def quarantine_dir(self) -> Path:
        return self.path / "quarantine"
