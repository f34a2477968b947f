"""The optional LLM extractor against a local fake OpenAI-compatible server.

The server is a real HTTP server (http.server.ThreadingHTTPServer in a thread on 127.0.0.1)
that speaks the /v1/chat/completions protocol: it reads the request JSON, checks the
json_schema response_format and answers with a chat completion whose message content is
the JSON document. Behaviour per test (failures, delays) is set on the server object.
The fallback path uses the real local extractor (spaCy + MiniLM).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from encoders import ItemText, get_extractor
from encoders.llm import LLMExtractor

pytestmark = pytest.mark.models

SECRET = "sk-test-very-secret-123"
ITEM = ItemText(
    "b1", "Starfall", "A sci-fi novel about robots on a frozen moon.", ("Books > Science Fiction",)
)


class FakeChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.auth: list[str] = []
        self.fail_first = 0
        self.status = 200
        self.delay = 0.0
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        self.answer = {
            "concepts": [
                {"name": "Sci-Fi", "weight": 0.9},
                {"name": "Robots", "weight": 0.6},
                {"name": "great book", "weight": 0.5},
            ]
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeChatServer

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.requests.append(body)
            srv.auth.append(self.headers.get("Authorization", ""))
            n = len(srv.requests)
            srv.inflight += 1
            srv.max_inflight = max(srv.max_inflight, srv.inflight)
        try:
            time.sleep(srv.delay)
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": "not found"})
            if n <= srv.fail_first:
                return self._send(500, {"error": "try again"})
            if srv.status != 200:
                return self._send(srv.status, {"error": f"bad key {self.headers.get('Authorization')}"})
            fmt = body["response_format"]
            assert fmt["type"] == "json_schema" and "concepts" in fmt["json_schema"]["schema"]["properties"]
            self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": json.dumps(srv.answer)},
                        }
                    ],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50},
                },
            )
        finally:
            with srv.lock:
                srv.inflight -= 1

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    srv = FakeChatServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def make(server, tmp_path, monkeypatch):
    monkeypatch.setenv("IKG_TEST_LLM_KEY", SECRET)

    def build(**options) -> LLMExtractor:
        opts = dict(
            base_url=server.url,
            model="fake-1",
            api_key_env="IKG_TEST_LLM_KEY",
            cache_dir=tmp_path / "llm-cache",
            backoff=0.01,
        )
        opts.update(options)
        return get_extractor("llm", **opts)

    return build


def test_extracts_schema_constrained_concepts_with_shared_canonical_keys(make, server):
    got = make().extract_items([ITEM])[0]
    assert [(c.key, c.source) for c in got] == [("science-fiction", "llm"), ("robot", "llm")]
    assert got[0].weight == 0.9
    req = server.requests[0]
    assert req["model"] == "fake-1" and req["response_format"]["json_schema"]["strict"] is True
    assert "Starfall" in req["messages"][-1]["content"]
    assert server.auth[0] == f"Bearer {SECRET}"


def test_reviews_come_back_as_review_interest_points(make):
    got = make().extract_reviews(["Loved the robots and the sci-fi ideas.", ""])
    assert {c.source for c in got[0]} == {"review"} and got[1] == []


def test_cache_is_keyed_by_content_and_model(make, server, tmp_path):
    first = make().extract_items([ITEM])
    second_ex = make()
    assert second_ex.extract_items([ITEM]) == first
    assert len(server.requests) == 1 and second_ex.stats["cache_hits"] == 1
    assert len(list((tmp_path / "llm-cache").glob("*.json"))) == 1
    make(model="fake-2").extract_items([ITEM])
    assert len(server.requests) == 2


def test_transient_errors_are_retried_with_backoff(make, server):
    server.fail_first = 2
    ex = make(retries=3)
    got = ex.extract_items([ITEM])[0]
    assert got[0].source == "llm" and len(server.requests) == 3 and ex.stats["calls"] == 3


def test_failure_falls_back_to_the_local_extractor(make, server):
    server.fail_first = 100
    ex = make(retries=1)
    got = ex.extract_items([ITEM])[0]
    assert got and all(c.source != "llm" for c in got)
    assert "science-fiction" in [c.key for c in got]
    assert ex.stats["fallbacks"] == 1 and len(server.requests) == 2


def test_call_budget_is_respected(make, server):
    items = [ItemText(f"i{n}", f"Title {n}", f"A sci-fi story number {n} about robots.") for n in range(3)]
    ex = make(max_calls=1, concurrency=1)
    got = ex.extract_items(items)
    assert len(server.requests) == 1 and ex.stats["fallbacks"] == 2
    assert sum(c.source == "llm" for cs in got for c in cs) == 2


def test_token_budget_is_respected(make, server):
    items = [ItemText(f"i{n}", f"Title {n}", f"Robots story {n}.") for n in range(3)]
    ex = make(max_tokens=50, concurrency=1)
    ex.extract_items(items)
    assert len(server.requests) == 1 and ex.stats["tokens"] == 50


def test_concurrency_is_limited(make, server):
    server.delay = 0.1
    items = [ItemText(f"i{n}", f"Title {n}", "Robots.") for n in range(6)]
    make(concurrency=2, cache_dir=None).extract_items(items)
    assert len(server.requests) == 6 and server.max_inflight <= 2


def test_api_key_never_appears_in_logs(make, server, caplog):
    server.status = 401
    with caplog.at_level(logging.DEBUG):
        got = make(retries=0).extract_items([ITEM])
    assert got[0]  # fallback
    assert "401" in caplog.text and SECRET not in caplog.text
