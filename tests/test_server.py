"""`ikg serve` over real HTTP: the CLI starts uvicorn on a free loopback port, httpx calls it.

One small synthetic world is built once with the real spaCy and MiniLM models (no GNN, to keep
the refreshes short); the server's answers are compared with the Python API's on the same folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ikg import InterestGraph
from ikg.neo4j_local import free_port
from ikg.server import VERSION_HEADER
from ikg.server.app import encode
from kg.ids import MAX_ID_LENGTH
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

API_TOKEN = "test-api-token-1234"
ADMIN_TOKEN = "test-admin-token-5678"
USERS = ["u0001", "u0002", "u0007", "u-never-seen"]
STARTUP_SECONDS = 180


def same_as_python(result: object) -> object:
    """What the server sends for a Python API result: its to_dict() through the same JSON encoder."""
    return json.loads(encode(result))


class Server:
    """`ikg --path FOLDER serve --port P` in a subprocess, stopped (and its log kept) at the end."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None, neo4j: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder.parent / f"server-{self.port}.log"
        command = [sys.executable, "-m", "ikg.cli", "--path", str(folder), "serve", "--port", str(self.port)]
        if neo4j:
            command.append("--neo4j")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [*command, "--poll", "0.2"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        self.headers = {"Authorization": f"Bearer {API_TOKEN}"} if env and "IKG_API_TOKEN" in env else {}
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/ready", headers=self.headers, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise AssertionError(f"server not ready after {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={**self.headers, **headers}, timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def world_events(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = make_cross_domain(n_users=40, items_per_domain=20, events_per_user=10, seed=seed)
    return data.items, data.events


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served") / "data"
    ig = InterestGraph.open(folder, use_gnn=False)
    items, events = world_events(seed=3)
    ig.ingest_items(items)
    ig.ingest_events(events)
    ig.refresh(progress=False)
    yield ig, folder
    ig.close()


@pytest.fixture(scope="module")
def server(built):
    _, folder = built
    srv = Server(folder)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def guarded(built, tmp_path_factory):
    """A token-protected server on a copy of the folder (its writes do not touch the main one)."""
    _, folder = built
    copy = tmp_path_factory.mktemp("guarded") / "data"
    shutil.copytree(folder, copy)
    srv = Server(copy, {"IKG_API_TOKEN": API_TOKEN, "IKG_ADMIN_TOKEN": ADMIN_TOKEN})
    yield srv, copy
    srv.stop()


def test_every_read_endpoint_answers_what_the_python_api_answers(built, server):
    ig, _ = built
    version = ig.workdir.active()["version"]
    with server.client() as http:
        for user in USERS:
            for params in (
                {"k": 10},
                {"k": 5, "domain": "music"},
                {"k": 7, "exclude_seen": "false"},
                {"k": 6, "diversity": 0.3, "domain": "films"},
            ):
                got = http.get(f"/users/{user}/recommendations", params=params)
                assert got.status_code == 200, got.text
                assert got.headers[VERSION_HEADER] == version
                args = {**params, "exclude_seen": params.get("exclude_seen") != "false"}
                expected = [r.to_dict() for r in ig.recommend(user, **args)]
                assert got.json() == same_as_python(expected), (user, params)

        body = {"user_ids": USERS, "k": 4, "domain": "books", "exclude_seen": True, "diversity": 0.0}
        got = http.post("/recommendations:batch", json=body)
        assert got.status_code == 200, got.text
        expected = {
            u: [r.to_dict() for r in recs]
            for u, recs in ig.recommend_batch(USERS, k=4, domain="books").items()
        }
        assert got.json() == same_as_python(expected)

        for user in USERS:
            got = http.get(f"/users/{user}/migration", params={"target_domain": "music", "k": 5})
            assert got.status_code == 200, got.text
            assert got.json() == same_as_python(ig.migrate(user, "music", k=5).to_dict())

            got = http.get(f"/users/{user}/profile")
            assert got.status_code == 200, got.text
            assert got.json() == same_as_python(ig.profile(user).to_dict())

            item = ig.recommend(user, k=1)[0].item_id
            got = http.get(f"/users/{user}/explanations/{item}", params={"limit": 3})
            assert got.status_code == 200, got.text
            assert got.json() == same_as_python([p.to_dict() for p in ig.explain(user, item, limit=3)])

        ready = http.get("/ready").json()
        assert ready["ready"] is True and ready["version"] == version and ready["age_seconds"] >= 0
        assert http.get("/health").json() == {"status": "ok"}
        assert http.get("/docs").status_code == 200
        assert "/users/{user_id}/recommendations" in http.get("/openapi.json").json()["paths"]
        metrics = http.get("/metrics")
        assert metrics.headers[VERSION_HEADER] == version
        assert (
            'ikg_http_requests_total{method="GET",route="/users/{user_id}/recommendations",status="200"}'
            in metrics.text
        )
        assert "ikg_http_request_duration_seconds_bucket" in metrics.text


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "says"),
    [
        ("GET", "/users/u0001/recommendations?k=0", None, 422, "query parameter 'k'"),
        ("GET", "/users/u0001/recommendations?k=1001", None, 422, "less than or equal to 1000"),
        ("GET", "/users/u0001/recommendations?k=many", None, 422, "valid integer"),
        ("GET", "/users/u0001/recommendations?diversity=1", None, 422, "query parameter 'diversity'"),
        ("GET", "/users/u0001/recommendations?domain=poetry", None, 400, "unknown domain 'poetry'"),
        ("GET", f"/users/{'x' * (MAX_ID_LENGTH + 1)}/recommendations", None, 422, "path segment 'user_id'"),
        ("GET", "/users/u0001/migration", None, 422, "query parameter 'target_domain'"),
        ("GET", "/users/u0001/explanations/no-such-item", None, 404, "not in the graph"),
        ("POST", "/recommendations:batch", {"user_ids": []}, 422, "body field 'user_ids'"),
        ("POST", "/recommendations:batch", {"user_ids": ["u"] * 1001}, 422, "at most 1000"),
        ("POST", "/recommendations:batch", "{not json", 422, "JSON"),
        ("POST", "/feedback", {"user_id": "u0001", "item_id": "bo0001", "kind": "meh"}, 422, "'dislike'"),
        (
            "POST",
            "/feedback",
            {"user_id": "u0001", "item_id": "nope", "kind": "like"},
            404,
            "ingest it first",
        ),
        ("GET", "/no/such/endpoint", None, 404, "/docs"),
        ("PUT", "/users/u0001/recommendations", None, 405, "not allowed"),
    ],
)
def test_bad_requests_get_4xx_json_that_says_what_to_fix(server, method, url, body, status, says):
    with server.client() as http:
        if isinstance(body, str):
            got = http.request(method, url, content=body, headers={"content-type": "application/json"})
        else:
            got = http.request(method, url, json=body)
    assert got.status_code == status, got.text
    assert says in got.json()["error"]
    assert "Traceback" not in got.text
    assert got.headers[VERSION_HEADER].startswith("v")


def test_token_protected_server_refuses_a_missing_or_wrong_token(guarded):
    srv, _ = guarded
    url = f"{srv.base}/users/u0001/recommendations"
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and "Authorization: Bearer" in wrong.json()["error"]
    assert API_TOKEN not in wrong.text
    for path in ("/ready", "/metrics", "/users/u0001/profile"):
        assert httpx.get(srv.base + path).status_code == 401, path
    assert (
        httpx.post(
            f"{srv.base}/feedback", json={"user_id": "u1", "item_id": "bo0001", "kind": "like"}
        ).status_code
        == 401
    )
    assert httpx.get(f"{srv.base}/health").status_code == 200
    with srv.client() as http:
        assert http.get("/users/u0001/recommendations").status_code == 200
        assert http.delete("/users/u0003").status_code == 401  # the API token is not the admin token
    assert API_TOKEN not in srv.log.read_text() and ADMIN_TOKEN not in srv.log.read_text()


def test_feedback_and_forget_over_http_match_the_python_api(guarded):
    srv, folder = guarded
    ig = InterestGraph.open(folder, use_gnn=False)
    with srv.client() as http:
        top = http.get("/users/u0002/recommendations", params={"k": 3}).json()[0]["item_id"]
        got = http.post("/feedback", json={"user_id": "u0002", "item_id": top, "kind": "dislike"})
        assert got.status_code == 200, got.text
        assert got.json() == {
            "user_id": "u0002",
            "item_id": top,
            "kind": "dislike",
            "staged": True,
            "filtered_now": True,
        }
        after = http.get("/users/u0002/recommendations", params={"k": 3}).json()
        assert top not in [r["item_id"] for r in after]
        assert after == same_as_python([r.to_dict() for r in ig.recommend("u0002", k=3)])

        assert ig.profile("u0003").interests, "the user to forget has a profile first"
        forgotten = http.delete("/users/u0003", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert forgotten.status_code == 200, forgotten.text
        assert any(count > 0 for count in forgotten.json().values()), forgotten.json()
        profile = http.get("/users/u0003/profile").json()
        assert profile["interests"] == [] and profile["domains"] == {}
    ig.close()


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(guarded):
    srv, folder = guarded
    pointer = folder / "ACTIVE"
    good = pointer.read_text()
    version = json.loads(good)["version"]
    broken = folder / ".ACTIVE.broken"
    broken.write_text(json.dumps({**json.loads(good), "version": "v-missing"}))
    os.replace(broken, pointer)
    try:
        with srv.client() as http:
            deadline = time.monotonic() + 30
            ready = http.get("/ready").json()
            while ready["last_failure"] is None and time.monotonic() < deadline:
                time.sleep(0.2)
                ready = http.get("/ready").json()
            assert ready["ready"] is True and ready["version"] == version
            assert ready["last_failure"]["version"] == "v-missing"
            got = http.get("/users/u0001/recommendations", params={"k": 2})
            assert got.status_code == 200 and got.headers[VERSION_HEADER] == version
    finally:
        restore = folder / ".ACTIVE.restore"
        restore.write_text(good)
        os.replace(restore, pointer)


def test_refusing_to_bind_beyond_loopback_without_a_token(built):
    _, folder = built
    env = {k: v for k, v in os.environ.items() if k not in ("IKG_API_TOKEN", "IKG_ADMIN_TOKEN")}
    run = subprocess.run(
        [sys.executable, "-m", "ikg.cli", "--path", str(folder), "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode != 0
    assert "refusing to bind 0.0.0.0" in run.stderr and "IKG_API_TOKEN" in run.stderr


def test_a_refresh_while_eight_clients_call_swaps_the_version_without_errors(built, server):
    ig, _ = built
    before = ig.workdir.active()["version"]
    stop = threading.Event()
    seen: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    max_calls, max_seconds = 4000, 300

    def call_in_a_loop(n: int) -> None:
        user = USERS[n % len(USERS)]
        with server.client() as http:
            for _ in range(max_calls):
                if stop.is_set():
                    return
                try:
                    got = http.get(f"/users/{user}/recommendations", params={"k": 5 + n})
                except httpx.TransportError as err:
                    with lock:
                        failures.append(repr(err))
                    continue
                with lock:
                    statuses[got.status_code] += 1
                    seen[got.headers.get(VERSION_HEADER, "missing")] += 1

    threads = [threading.Thread(target=call_in_a_loop, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    started = time.monotonic()
    _, events = world_events(seed=4)
    ig.ingest_events(events[events["item_id"].isin(set(ig.model().index.items))].head(200))
    after = ig.refresh(progress=False).model_version
    while (
        seen[after] < 50 and time.monotonic() - started < max_seconds and any(t.is_alive() for t in threads)
    ):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    assert after is not None and after != before
    assert not failures, failures[:3]
    assert all(status == 200 for status in statuses), statuses
    assert set(seen) <= {before, after}, seen
    assert seen[before] > 0 and seen[after] > 0, seen
    with server.client() as http:
        assert http.get("/ready").json()["version"] == after
        got = http.get("/users/u0001/recommendations", params={"k": 5})
        assert got.json() == same_as_python([r.to_dict() for r in ig.recommend("u0001", k=5)])


@pytest.mark.neo4j
def test_serving_a_neo4j_graph_answers_what_the_python_api_answers(tmp_path, neo4j_config):
    from kg.neo4j_store import Neo4jStore

    store = Neo4jStore(neo4j_config)
    store.clear()
    state = tmp_path / "state"
    ig = InterestGraph(store, state, use_gnn=False)
    items, events = world_events(seed=5)
    ig.ingest_items(items)
    ig.ingest_events(events)
    ig.refresh(progress=False)
    env = {
        "NEO4J_URI": neo4j_config.uri,
        "NEO4J_USER": neo4j_config.user,
        "NEO4J_PASSWORD": neo4j_config.password,
        "NEO4J_DATABASE": neo4j_config.database,
    }
    srv = Server(state, env, neo4j=True)
    try:
        with srv.client() as http:
            for user in USERS[:2]:
                got = http.get(f"/users/{user}/recommendations", params={"k": 5, "domain": "films"})
                assert got.status_code == 200, got.text
                expected = [r.to_dict() for r in ig.recommend(user, k=5, domain="films")]
                assert got.json() == same_as_python(expected)
                got = http.get(f"/users/{user}/profile")
                assert got.json() == same_as_python(ig.profile(user).to_dict())
        assert neo4j_config.password not in srv.log.read_text()
    finally:
        srv.stop()
        store.clear()
        ig.close()
