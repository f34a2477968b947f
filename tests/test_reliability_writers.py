"""One writer per data folder: two refreshes at once, parallel ingest and feedback, stale leftovers.

Real processes on one embedded data folder, real spaCy/MiniLM models and a short GNN training.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

import gnn
from ikg import InterestGraph
from ikg.locks import RefreshBusyError, refresh_lock
from tests.reliability_support import USERS, answers, copy_folder, extra_events, run, start, world

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_GNN = gnn.GnnConfig(epochs=8, eval_every=4, patience=1)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A data folder with one committed version."""
    folder = tmp_path_factory.mktemp("base") / "data"
    data = world()
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        ig.ingest_items(data.items)
        ig.ingest_events(data.events)
        ig.refresh(progress=False)
    return folder, data


def test_a_second_refresh_fails_at_once_or_waits_and_the_folder_serves(base, tmp_path):
    folder = copy_folder(base[0], tmp_path / "data")
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        ig.ingest_events(extra_events(base[1], "two"))
        before, _ = answers(ig)
    paused = tmp_path / "paused"
    first = start(
        ["refresh", str(folder)],
        IKG_PAUSE_AT="refresh_locked",
        IKG_PAUSE_FILE=str(paused),
        IKG_PAUSE_SECONDS="240",
    )
    owner = folder / ".refresh.owner"
    deadline = time.monotonic() + 120
    while not paused.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert owner.exists(), "the first refresh never took the lock"
    code, out, _ = run(["refresh", str(folder)])
    assert code == 3 and "refresh already running" in out[0]["busy"]
    assert f"pid {first.pid}" in out[0]["busy"] and "since" in out[0]["busy"]
    waiter = start(["refresh", str(folder), "--wait", "300"])
    time.sleep(12)  # let the waiter reach the lock while the first still holds it
    paused.unlink()
    first_out, _ = first.communicate(timeout=300)
    waiter_out, waiter_err = waiter.communicate(timeout=300)
    assert first.returncode == 0 and waiter.returncode == 0, waiter_err[-2000:]
    made = json.loads(first_out.strip().splitlines()[-1])["version"]
    assert json.loads(waiter_out.strip().splitlines()[-1]) == {"version": made, "noop": True}
    with InterestGraph.open(folder) as ig:
        version, _ = answers(ig)
        assert version == made != before
        assert ig.profile(USERS[0]).interests
        assert {v["version"] for v in ig.versions()} >= {before, made}
    assert not list(folder.glob(".staging-*")) and not owner.exists()


def test_the_lock_error_names_the_holder_in_process(tmp_path):
    with refresh_lock(tmp_path):
        with pytest.raises(RefreshBusyError, match=r"refresh already running .*\(pid \d+, since "):
            with refresh_lock(tmp_path, wait=0.3):
                pass
    with refresh_lock(tmp_path, wait=0.3):
        assert (tmp_path / ".refresh.owner").exists()


def test_two_writers_of_30_batches_and_30_feedbacks_lose_nothing(base, tmp_path):
    folder = copy_folder(base[0], tmp_path / "data")
    procs = [
        start(["ingest", str(folder), "wa", "30"]),
        start(["ingest", str(folder), "wb", "30"]),
        start(["feedback", str(folder), "fa", "30"]),
        start(["feedback", str(folder), "fb", "30"]),
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    batches = sorted((folder / "inbox").glob("*.parquet"))
    assert len(batches) == 120 and len({p.name.split("-")[0] for p in batches}) == 120
    assert not list((folder / "inbox").glob("*.tmp")) and not list((folder / "inbox").glob(".*tmp"))
    staged = pd.concat([pd.read_parquet(p) for p in batches], ignore_index=True)
    for tag in ("wa", "wb"):
        assert set(staged["user_id"]) >= {f"{tag}-u{i:03d}" for i in range(30)}
    for tag in ("fa", "fb"):
        assert (staged["user_id"] == f"{tag}-fb").sum() == 30
    dislikes = json.loads((folder / "dislikes.json").read_text())
    assert {u: len(v) for u, v in dislikes.items() if u.endswith("-fb")} == {"fa-fb": 15, "fb-fb": 15}
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        before = len(ig.workdir.load_state().table("events"))
        ig.refresh(progress=False)
        events = ig.workdir.load_state().table("events")
    assert len(events) == before + 120
    assert not list((folder / "inbox").glob("*.parquet"))


def test_stale_leftovers_of_killed_writers_go_at_the_next_refresh(base, tmp_path):
    folder = copy_folder(base[0], tmp_path / "data")
    (folder / ".staging-v20990101000000000000-123-abc").mkdir()
    (folder / "state-v20990101000000000000").mkdir()
    (folder / "models" / "v20990101000000000000").mkdir()
    (folder / "graph" / ".staging-000099-123-abc").mkdir()
    (folder / "graph" / "graph-000099").mkdir()
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        ig.ingest_events(extra_events(base[1], "stale"))
        ig.refresh(progress=False)
        referenced = ig.workdir.referenced()
    assert not list(folder.glob(".staging-*")) and not list((folder / "graph").glob(".staging-*"))
    assert not (folder / "state-v20990101000000000000").exists()
    assert not (folder / "models" / "v20990101000000000000").exists()
    assert not (folder / "graph" / "graph-000099").exists()
    assert {p.name for p in (folder / "graph").glob("graph-*")} <= referenced["graphs"]
