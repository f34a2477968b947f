"""The server's micro-batching: concurrent GET recommendation calls scored in one pass.

A synthetic served graph (random unit vectors, no language models) is enough: what is checked is
that a batch gives every caller exactly what `InterestGraph.recommend` gives that caller alone,
and that calls on different versions never share a batch.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.bench_recommend import make_graph, unit
from ikg import InterestGraph
from ikg.server.app import _score_batch, recommend_batched
from ikg.server.batching import Batcher
from ikg.workdir import Workdir
from kg.lowpass import lowpass_from_snapshot

USERS_PER_CALLER = 12


def served_graph(folder: Path, version: str, seed: int) -> InterestGraph:
    """A refreshed-looking folder: the synthetic store plus one active version with GNN vectors."""
    rng = np.random.default_rng(seed)
    store = make_graph(3000, 400, 8, seed=seed, path=folder / "graph")
    store.flush()
    snapshot = store.snapshot()
    users, items = snapshot.node_keys("User"), snapshot.node_keys("Item")
    arrays = {
        "gnn_User": unit(rng, len(users)),
        "gnn_User_keys": np.array(users),
        "gnn_Item": unit(rng, len(items)),
        "gnn_Item_keys": np.array(items),
    }
    workdir = Workdir(folder)
    workdir.write_state(version, {}, arrays, {})
    workdir.activate({"version": version, "inbox_seq": 0, "created": time.time()})
    return InterestGraph.open(folder)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    first = served_graph(tmp_path_factory.mktemp("one") / "data", "vbatch000001", seed=1)
    second = served_graph(tmp_path_factory.mktemp("two") / "data", "vbatch000002", seed=2)
    yield first, second
    first.close()
    second.close()


def dicts(recs) -> list[dict]:
    return [r.to_dict() for r in recs]


def test_a_batch_scores_every_user_exactly_as_recommend_does_alone(graphs):
    ig, _ = graphs
    known = list(ig.model().index.users)
    users = [*known[:40:3], "never-seen", known[5]]
    for domain in (None, "films"):
        for k, exclude_seen, diversity in ((10, True, 0.0), (25, False, 0.0), (6, True, 0.3)):
            batch = _score_batch((ig, k, domain, exclude_seen, diversity), list(dict.fromkeys(users)))
            for user in users:
                alone = ig.recommend(user, k=k, domain=domain, exclude_seen=exclude_seen, diversity=diversity)
                assert dicts(batch[user]) == dicts(alone), (user, domain, k, exclude_seen, diversity)


def test_a_batch_is_exact_with_the_low_pass_component_weighted(graphs):
    _, ig = graphs
    model = ig.model()
    blend = dict(model.blend)
    model.set_lowpass(lowpass_from_snapshot(ig.store.snapshot(), rank=16))
    model.blend = {**blend, "lowpass": 0.3}
    try:
        users = [*model.index.users[:12], "never-seen"]
        together = model._score(users, None, None, None, rowwise=True).total
        for b, user in enumerate(users):
            assert np.array_equal(together[b], model._score([user], None, None, None).total[0]), user
        batch = _score_batch((ig, 15, None, True, 0.0), users)
        for user in users:
            alone = ig.recommend(user, k=15)
            assert any(r.components["lowpass"] for r in alone) or user == "never-seen"
            assert dicts(batch[user]) == dicts(alone), user
    finally:
        model.set_lowpass(None)
        model.blend = blend


def test_concurrent_callers_get_their_own_answers_and_share_batches(graphs):
    ig, _ = graphs
    known = list(ig.model().index.users)
    batcher = Batcher(_score_batch)
    got: dict[tuple[int, str], list[dict]] = {}
    start = threading.Barrier(8)

    def caller(slot: int) -> None:
        start.wait()
        for n in range(USERS_PER_CALLER):
            user = known[(slot * 7 + n * 3) % 60] if n % 5 else "never-seen"
            got[(slot, user)] = dicts(recommend_batched(batcher, ig, user, 12, "books", True, 0.0))

    threads = [threading.Thread(target=caller, args=(slot,)) for slot in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len({key for key in got})
    for (_, user), answer in got.items():
        assert answer == dicts(ig.recommend(user, k=12, domain="books")), user
    assert batcher.calls == 8 * USERS_PER_CALLER
    assert batcher.batches < batcher.calls, "concurrent calls were scored together"


def test_calls_on_different_versions_never_share_a_batch(graphs):
    first, second = graphs
    seen: list[set[str]] = []

    def run(key, users):
        seen.append({key[0].model().version})
        time.sleep(0.01)  # let calls of both versions queue up meanwhile
        return _score_batch(key, users)

    batcher = Batcher(run)
    answers: dict[tuple[str, int], list] = {}

    def caller(graph: InterestGraph, slot: int) -> None:
        user = list(graph.model().index.users)[slot]
        for n in range(5):
            answers[(graph.model().version or "", slot * 10 + n)] = list(
                recommend_batched(batcher, graph, user, 5, None, True, 0.0)
            )

    threads = [threading.Thread(target=caller, args=(g, s)) for g in (first, second) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(versions) == 1 for versions in seen)
    assert len(answers) == 40
    for (version, _), recs in answers.items():
        assert recs and {r.version for r in recs} == {version}


def test_an_error_reaches_every_caller_of_its_batch_and_the_batcher_keeps_working():
    calls: list[list[str]] = []

    def run(key, users):
        calls.append(list(users))
        time.sleep(0.02)
        if key == "bad":
            raise ValueError("unknown domain 'poetry'")
        return {u: u.upper() for u in users}

    batcher = Batcher(run)
    outcomes: dict[str, object] = {}

    def caller(key: str, user: str) -> None:
        try:
            outcomes[user] = batcher.submit(key, user)
        except ValueError as err:
            outcomes[user] = err

    threads = [threading.Thread(target=caller, args=("bad" if n % 2 else "good", f"u{n}")) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(10):
        if n % 2:
            assert isinstance(outcomes[f"u{n}"], ValueError) and "poetry" in str(outcomes[f"u{n}"])
        else:
            assert outcomes[f"u{n}"] == f"U{n}"
    assert sum(len(c) for c in calls) == 10
    assert batcher.submit("good", "after") == "AFTER"
    assert not batcher._queues and not batcher._running, "idle keys leave nothing behind"


def test_two_lanes_run_batches_of_one_key_side_by_side():
    running, peak = [0], [0]
    lock = threading.Lock()

    def run(key, users):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.03)
        with lock:
            running[0] -= 1
        return {u: u for u in users}

    batcher = Batcher(run, lanes=2)
    threads = [threading.Thread(target=lambda n=n: batcher.submit("k", f"u{n}")) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
    assert batcher.calls == 12 and not batcher._running


def test_a_users_walk_scores_do_not_depend_on_unknown_users_in_the_batch(graphs):
    ig, _ = graphs
    index = ig.model().index
    rows = np.array([3, 17, 42])
    with_unknown = np.array([3, -1, 17, 42, -1])
    for walk in (index.collaborative, index.concept_walk):
        alone, mixed = walk(rows), walk(with_unknown)
        for b, r in enumerate(with_unknown):
            row = mixed[b]
            if r < 0:
                assert row.nnz == 0
                continue
            ref = alone[int(np.flatnonzero(rows == r)[0])]
            assert np.array_equal(row.indices, ref.indices) and np.array_equal(row.data, ref.data)


def test_recommendation_to_dict_is_what_asdict_gives(graphs):
    ig, _ = graphs
    for rec in ig.recommend(ig.model().index.users[0], k=5):
        out = rec.to_dict()
        assert out == dataclasses.asdict(rec)
        assert list(out) == [f.name for f in dataclasses.fields(rec)]
        assert out["components"] is not rec.components and out["reasons"] is not rec.reasons
