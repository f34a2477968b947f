"""Shared pieces of the reliability tests: a small real world, worker processes, answers per version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from kg.synthetic import make_cross_domain

WORKER = Path(__file__).with_name("reliability_worker.py")
USERS = ["u0001", "u0002", "u0003", "u0004", "u0005", "u0006"]


def world(seed: int = 5):
    return make_cross_domain(n_users=30, items_per_domain=14, events_per_user=10, seed=seed)


def extra_events(data, tag: str, n: int = 12, offset: float = 0.0) -> pd.DataFrame:
    """New events of existing users (and one new user) on existing items."""
    items = sorted(data.items["item_id"])
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    users = [*USERS[:3], f"new-{tag}"]
    return pd.DataFrame(
        {
            "user_id": [users[i % len(users)] for i in range(n)],
            "item_id": [items[int(j)] for j in rng.integers(0, len(items), n)],
            "kind": "purchase",
            "ts": 1_700_000_000.0 + 40 * 86_400.0 + offset + np.arange(n) * 3_600.0,
        }
    )


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    env.update(extra)
    return env


def start(args: list[str], **env: str) -> subprocess.Popen:
    """Start a worker process (see reliability_worker.py)."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(**env),
    )


def run(args: list[str], timeout: float = 300, **env: str) -> tuple[int, list[dict], str]:
    proc = start(args, **env)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def answers(ig, users=USERS) -> tuple[str, dict[str, list[tuple[str, float]]]]:
    """The version served and each user's top-5 (item, rounded score) from one InterestGraph."""
    recs = ig.recommend_batch(users, k=5)
    version = {r.version for rs in recs.values() for r in rs}
    assert len(version) == 1, version
    return version.pop(), {u: [(r.item_id, round(r.score, 6)) for r in rs] for u, rs in recs.items()}


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    for lock in dst.glob(".*.lock"):
        lock.unlink()
    return dst
