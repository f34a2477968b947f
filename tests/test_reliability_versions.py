"""Versions as one unit: refreshes killed at every commit point, readers during refreshes, rollback.

Real processes (SIGKILL), the embedded store, real spaCy/MiniLM models and a short GNN training.
The figures (kills, reader calls, errors) are printed for the reliability note.
"""

from __future__ import annotations

import json
import random
import signal
import time

import pytest

import gnn
from ikg import InterestGraph
from ikg.workdir import VersionNotFoundError
from tests.reliability_support import USERS, answers, copy_folder, extra_events, run, start, world

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_GNN = gnn.GnnConfig(epochs=8, eval_every=4, patience=1)
CRASH_POINTS = ["gnn", "state_written", "graph_written", "graph_flushed"]
RANDOM_KILLS = 2


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A data folder with one committed version and a batch of new events staged."""
    folder = tmp_path_factory.mktemp("base") / "data"
    data = world()
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        ig.ingest_items(data.items)
        ig.ingest_events(data.events)
        ig.refresh(progress=False)
        ig.ingest_events(extra_events(data, "next"))
    return folder, data


def _serves(folder) -> tuple[str, dict]:
    with InterestGraph.open(folder) as ig:
        return answers(ig)


def test_a_refresh_killed_anywhere_leaves_the_old_version_and_a_rerun_equals_a_clean_build(base, tmp_path):
    old_version, old_answers = _serves(base[0])
    clean = copy_folder(base[0], tmp_path / "clean")
    code, _out, err = run(["refresh", str(clean)])
    assert code == 0, err[-3000:]
    clean_version, clean_answers = _serves(clean)
    assert clean_version != old_version and clean_answers != old_answers

    folder = copy_folder(base[0], tmp_path / "killed")
    reader = InterestGraph.open(folder)
    assert answers(reader) == (old_version, old_answers)
    kills = []
    for point in CRASH_POINTS:
        code, _, _ = run(["refresh", str(folder)], IKG_CRASH_AT=point)
        kills.append((point, code))
        assert code == -signal.SIGKILL, point
        assert answers(reader) == (old_version, old_answers), point
        assert _serves(folder) == (old_version, old_answers), point
    rng = random.Random(14)
    for _ in range(RANDOM_KILLS):
        proc = start(["refresh", str(folder)])
        deadline = time.monotonic() + 120
        while (
            not (folder / ".refresh.owner").exists() and proc.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.5, 8.0))  # somewhere inside the refresh, after it took the lock
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        kills.append(("random", proc.returncode))
        served = answers(reader)
        if proc.returncode == 0 or served[0] != old_version:
            break  # the refresh finished before the kill: it committed whole
        assert served == (old_version, old_answers)
    code, _, err = run(["refresh", str(folder)])
    assert code == 0, err[-3000:]
    version, rerun = answers(reader)
    assert rerun == clean_answers and version != old_version
    assert {p.name for p in (folder / "graph").glob("graph-*")} <= reader.workdir.referenced()["graphs"]
    assert not list(folder.glob(".staging-*")) and not list(folder.glob("state-*/.tmp*"))
    print(f"\nkills: {kills}; old version kept every time; re-run == clean build: True")
    reader.close()


def test_eight_readers_during_three_refreshes_never_mix_versions(base, tmp_path):
    folder = copy_folder(base[0], tmp_path / "readers")
    reference = {}
    with InterestGraph.open(folder) as ig:
        version, served = answers(ig)
    reference[version] = {u: [i for i, _ in recs] for u, recs in served.items()}
    stop = tmp_path / "stop-readers"
    readers = [start(["read", str(folder), "400", ",".join(USERS), "4", str(stop)]) for _ in range(2)]
    time.sleep(8)
    for n in range(3):
        if n:
            with InterestGraph.open(folder) as ig:
                ig.ingest_events(extra_events(base[1], f"round{n}", offset=n * 86_400.0))
        code, out, err = run(["refresh", str(folder)])
        assert code == 0, err[-3000:]
        with InterestGraph.open(folder) as ig:
            version, served = answers(ig)
        reference[version] = {u: [i for i, _ in recs] for u, recs in served.items()}
        time.sleep(2)
    stop.write_text("stop")
    rows = []
    for proc in readers:
        out, _ = proc.communicate(timeout=120)
        rows += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(reference) == 4
    errors = [r for r in rows if "error" in r]
    mismatched = [
        r for r in rows if "error" not in r and reference.get(r["version"], {}).get(r["user"]) != r["items"]
    ]
    seen = {r["version"] for r in rows if "version" in r}
    print(
        f"\nreader calls: {len(rows)}; versions seen: {len(seen)}; errors: {len(errors)}; mixed: {len(mismatched)}"
    )
    assert rows and not errors and not mismatched
    assert len(seen) >= 2


def test_versions_roll_back_and_are_pruned_after_n(base, tmp_path):
    folder = copy_folder(base[0], tmp_path / "rollback")
    with InterestGraph.open(folder, gnn_config=FAST_GNN, keep_versions=2) as ig:
        first, first_answers = answers(ig)
        ig.refresh(progress=False)
        second, _ = answers(ig)
        assert [v["version"] for v in ig.versions()] == [second, first]
        assert ig.rollback(first)["version"] == first
        assert ig.version == first and answers(ig) == (first, first_answers)
        with InterestGraph.open(folder) as other:
            assert answers(other) == (first, first_answers)
        ig.ingest_events(extra_events(base[1], "after-rollback", offset=9e5))
        third = ig.refresh(progress=False).model_version
        kept = [v["version"] for v in ig.versions()]
        assert kept[0] == third and len(kept) == 2
        assert len(list(folder.glob("state-*"))) == 2 and len(list((folder / "models").iterdir())) <= 2
        assert {p.name for p in (folder / "graph").glob("graph-*")} <= ig.workdir.referenced()["graphs"]
        gone = next(v for v in (first, second) if v not in kept)
        with pytest.raises(VersionNotFoundError, match="not kept"):
            ig.rollback(gone)
