"""The HTTP API: InterestGraph's public calls as FastAPI routes over the live-swapped version.

Bodies are the results' `to_dict()` as JSON. Every response carries the version that answered
in the `X-IKG-Version` header (`none` before the first version is loaded). Errors are JSON
objects `{"error": "..."}` that say what to fix; tracebacks stay in the server log.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field, StringConstraints
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ikg.graph import FEEDBACK_KINDS, InterestGraph, UnknownItemError
from ikg.inputs import diversity_arg, positive_int_arg, user_id_arg
from ikg.results import Recommendations
from ikg.server.batching import Batcher
from ikg.server.metrics import ServerMetrics
from ikg.server.security import Tokens
from ikg.server.threads import one_torch_thread
from ikg.server.versions import NothingToServe, VersionHolder
from kg.ids import MAX_ID_LENGTH

log = logging.getLogger(__name__)

VERSION_HEADER = "X-IKG-Version"
MAX_K = 1000
MAX_BATCH_USERS = 1000
MAX_DOMAIN_LENGTH = 200
MAX_MICRO_BATCH = 64
"""At most this many concurrent GET recommendation requests are scored in one pass."""

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Domain = Annotated[str, StringConstraints(min_length=1, max_length=MAX_DOMAIN_LENGTH)]
UserPath = Annotated[str, PathParam(min_length=1, max_length=MAX_ID_LENGTH, description="user id")]
ItemPath = Annotated[str, PathParam(min_length=1, max_length=MAX_ID_LENGTH, description="item id")]
KQuery = Annotated[int, Query(ge=1, le=MAX_K, description=f"number of items, 1..{MAX_K}")]
DomainQuery = Annotated[Domain | None, Query(description="only items of this domain")]
DiversityQuery = Annotated[float, Query(ge=0.0, lt=1.0, description="MMR re-ranking strength in [0, 1)")]


class BatchRequest(BaseModel):
    """Recommendations for many users in one scoring pass (same answers as one by one)."""

    user_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH_USERS)
    k: int = Field(20, ge=1, le=MAX_K)
    domain: Domain | None = None
    exclude_seen: bool = True
    diversity: float = Field(0.0, ge=0.0, lt=1.0)


class FeedbackRequest(BaseModel):
    """One piece of feedback; a dislike filters the item at once, learning happens on refresh."""

    user_id: Id
    item_id: Id
    kind: Literal[FEEDBACK_KINDS]  # type: ignore[valid-type]
    ts: float | None = Field(None, description="unix seconds (default: now)")


# ---- JSON ------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """`value` with numpy scalars/arrays, sets and non-finite floats made JSON-safe (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode(content: Any) -> bytes:
    """The JSON bytes the server sends for `content` (results' to_dict() output)."""
    try:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):
        return json.dumps(_plain(content), default=str, separators=(",", ":")).encode("utf-8")


def reply(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(encode(content), status_code=status, media_type="application/json", headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    kinds = {"query": "query parameter", "path": "path segment", "body": "body field", "header": "header"}
    if not loc:
        return "request"
    head, rest = loc[0], loc[1:]
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    if head == "body" and not rest:
        return "request body"
    return f"{kinds.get(str(head), str(head))} '{name}'" if name else kinds.get(str(head), str(head))


def _problem(error: dict[str, Any]) -> dict[str, str]:
    """One validation problem: where it is, what is wrong (pydantic's words say the allowed range)."""
    where = _where(tuple(error.get("loc", ())))
    problem = {"where": where, "problem": str(error.get("msg", "invalid"))}
    if error.get("type") != "missing":
        given = repr(error.get("input"))
        problem["got"] = given if len(given) <= 80 else given[:77] + "..."
    return problem


def _describe(problem: dict[str, str]) -> str:
    got = f" (got {problem['got']})" if "got" in problem else ""
    return f"{problem['where']}: {problem['problem']}{got}"


# ---- middleware: version header, metrics ------------------------------------------------------
class Observe:
    """Adds the version header to every response and counts/times every request (pure ASGI)."""

    def __init__(self, app: ASGIApp, holder: VersionHolder, metrics: ServerMetrics) -> None:
        self.app, self.holder, self.metrics = app, holder, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        state = scope.setdefault("state", {})

        async def send_with_version(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                version = state.get("ikg_version") or self.holder.version_id() or "none"
                MutableHeaders(scope=message)[VERSION_HEADER] = version
            await send(message)

        try:
            await self.app(scope, receive, send_with_version)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], label, status, time.perf_counter() - start)


# ---- micro-batched recommendations ------------------------------------------------------------
def _score_batch(key: Any, users: Any) -> dict[str, Recommendations]:
    """One pass for concurrent GET recommendation requests of the same version and arguments.

    Row-wise scoring makes every user's answer bit-identical to `InterestGraph.recommend` alone.
    """
    graph, k, domain, exclude_seen, diversity = key
    return graph._recommend_with(graph.model(), users, k, domain, exclude_seen, diversity, rowwise=True)


def recommend_batched(
    batcher: Batcher,
    graph: InterestGraph,
    user_id: str,
    k: int,
    domain: str | None,
    exclude_seen: bool,
    diversity: float,
) -> Recommendations:
    """`graph.recommend(user_id, ...)`, answered from a batch with concurrent requests like it."""
    user = user_id_arg(user_id)
    key = (graph, positive_int_arg(k), domain, bool(exclude_seen), diversity_arg(diversity))
    return batcher.submit(key, user)


# ---- the app ---------------------------------------------------------------------------------
def create_app(
    opener: Callable[[], InterestGraph],
    folder: str | Path,
    tokens: Tokens | None = None,
    poll: float = 1.0,
    batch_lanes: int = 1,
) -> FastAPI:
    """The FastAPI app serving the versions ACTIVE names in `folder`, each opened with `opener`.

    `batch_lanes`: how many micro-batches of the same arguments may be scored at once.
    """
    tokens = tokens or Tokens.from_env()
    holder = VersionHolder(opener, Path(folder), poll=poll)
    batcher = Batcher(_score_batch, max_batch=MAX_MICRO_BATCH, lanes=batch_lanes)
    metrics = ServerMetrics(holder)
    write_lock = threading.Lock()
    writers: list[InterestGraph] = []

    def writer() -> InterestGraph:
        """The graph feedback is staged through: unpinned, so it stages after the live ACTIVE's inbox
        watermark even while the server still answers from an older version (call under write_lock)."""
        if not writers:
            writers.append(opener())
        return writers[0]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        holder.start()
        yield
        holder.stop()
        for graph in writers:
            graph.close()

    app = FastAPI(
        title="interest-kg",
        summary="Knowledge-graph recommendations, migration, explanations and profiles over HTTP.",
        description=(
            f"Every response carries the version that answered in `{VERSION_HEADER}`. "
            "When IKG_API_TOKEN is set, send `Authorization: Bearer <token>` to every endpoint but "
            "/health; DELETE /users/{id} needs the admin token (IKG_ADMIN_TOKEN)."
        ),
        version="1",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.batcher = batcher
    app.add_middleware(Observe, holder=holder, metrics=metrics)
    bearer_scheme = HTTPBearer(auto_error=False, description="IKG_API_TOKEN (or IKG_ADMIN_TOKEN)")

    async def require_token(request: Request, _: Any = Depends(bearer_scheme)) -> None:
        if not tokens.allows(request.headers.get("authorization")):
            raise HTTPException(
                401,
                "missing or wrong bearer token: send the header 'Authorization: Bearer <IKG_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def require_admin(request: Request) -> None:
        if tokens.admin is None:
            raise HTTPException(
                403, "forgetting users over HTTP is disabled: start the server with IKG_ADMIN_TOKEN set"
            )
        if not tokens.allows_admin(request.headers.get("authorization")):
            raise HTTPException(
                401,
                "DELETE /users/{id} needs the admin token: send 'Authorization: Bearer <IKG_ADMIN_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [_problem(e) for e in exc.errors()]
        text = "; ".join(_describe(p) for p in problems)
        return reply({"error": f"invalid request: {text}", "problems": problems}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        return reply({"error": detail}, exc.status_code, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return reply(
            {"error": "internal error while answering this request; the server log has details"}, 500
        )

    def answer(request: Request, call: Callable[[InterestGraph], Any], write: bool = False) -> Response:
        """Run `call` on the version this request started on, mapping errors to clear JSON."""
        one_torch_thread()
        try:
            with holder.use() as served:
                request.state.ikg_version = served.version
                if write:
                    with write_lock:
                        return reply(call(served.graph))
                return reply(call(served.graph))
        except NothingToServe as err:
            return reply({"error": str(err)}, 503, headers={"Retry-After": "5"})
        except UnknownItemError as err:
            return reply({"error": str(err.args[0]) if err.args else "unknown item"}, 404)
        except ValueError as err:
            return reply({"error": str(err)}, 400)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return reply(
                {"error": "internal error while answering this request; the server log has details"}, 500
            )

    @app.get("/health", tags=["operations"])
    async def health() -> Response:
        """Liveness: the process answers (needs no token and reveals nothing else)."""
        return reply({"status": "ok"})

    protected = [Depends(require_token)]

    @app.get("/ready", tags=["operations"], dependencies=protected)
    async def ready() -> Response:
        """Readiness: a version is loaded; its id, age, and the last failed load if any."""
        served = holder.current
        failure = holder.failure.to_dict() if holder.failure is not None else None
        if served is None:
            return reply({"ready": False, "reason": holder.not_ready_reason(), "last_failure": failure}, 503)
        return reply(
            {
                "ready": True,
                "version": served.version,
                "age_seconds": round(served.age(), 3),
                "activated_at": served.activated_at,
                "loaded_at": served.loaded_at,
                "load_seconds": round(served.load_seconds, 3),
                "last_failure": failure,
            }
        )

    @app.get("/metrics", tags=["operations"], dependencies=protected)
    async def prometheus_metrics() -> Response:
        """Request and error counts, latency histograms and the served version's age (Prometheus text)."""
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/users/{user_id}/recommendations", tags=["recommendations"], dependencies=protected)
    def recommendations(
        request: Request,
        user_id: UserPath,
        k: KQuery = 20,
        domain: DomainQuery = None,
        exclude_seen: bool = True,
        diversity: DiversityQuery = 0.0,
    ) -> Response:
        """Top-k items for a user (`InterestGraph.recommend`); unknown users get popular items.

        Concurrent requests with the same arguments are scored together in one pass (the same
        answers as one by one)."""
        return answer(
            request,
            lambda ig: [
                r.to_dict()
                for r in recommend_batched(batcher, ig, user_id, k, domain, exclude_seen, diversity)
            ],
        )

    @app.post("/recommendations:batch", tags=["recommendations"], dependencies=protected)
    def recommendations_batch(request: Request, body: BatchRequest) -> Response:
        """`InterestGraph.recommend_batch`: {user_id: [recommendation, ...]} from one scoring pass."""
        return answer(
            request,
            lambda ig: {
                user: [r.to_dict() for r in recs]
                for user, recs in ig.recommend_batch(
                    body.user_ids,
                    k=body.k,
                    domain=body.domain,
                    exclude_seen=body.exclude_seen,
                    diversity=body.diversity,
                ).items()
            },
        )

    @app.get("/users/{user_id}/migration", tags=["recommendations"], dependencies=protected)
    def migration(
        request: Request,
        user_id: UserPath,
        target_domain: Annotated[Domain, Query(description="the domain to carry interests into")],
        k: KQuery = 20,
    ) -> Response:
        """`InterestGraph.migrate`: interests carried into a domain, the bridges and the items."""
        return answer(request, lambda ig: ig.migrate(user_id, target_domain, k=k).to_dict())

    @app.get("/users/{user_id}/explanations/{item_id}", tags=["explanations"], dependencies=protected)
    def explanations(
        request: Request,
        user_id: UserPath,
        item_id: ItemPath,
        limit: Annotated[int, Query(ge=1, le=50, description="paths to return, 1..50")] = 5,
    ) -> Response:
        """`InterestGraph.explain`: the strongest graph paths from the user to the item."""
        return answer(request, lambda ig: [p.to_dict() for p in ig.explain(user_id, item_id, limit=limit)])

    @app.get("/users/{user_id}/profile", tags=["profiles"], dependencies=protected)
    def profile(request: Request, user_id: UserPath) -> Response:
        """`InterestGraph.profile`: interest points, topics, domains and drift."""
        return answer(request, lambda ig: ig.profile(user_id).to_dict())

    @app.post("/feedback", tags=["writes"], dependencies=protected)
    def feedback(request: Request, body: FeedbackRequest) -> Response:
        """`InterestGraph.feedback`: staged for the next refresh; a dislike filters the item at once."""
        return answer(
            request, lambda _: writer().feedback(body.user_id, body.item_id, body.kind, ts=body.ts), True
        )

    @app.delete("/users/{user_id}", tags=["writes"], dependencies=[*protected, Depends(require_admin)])
    def forget(request: Request, user_id: UserPath) -> Response:
        """`InterestGraph.forget_user` (admin token): the user and everything derived from them.

        Runs on a freshly opened graph (the live ACTIVE version and the store as it is now, never a
        pinned older one), then the server reloads so no answer includes the user any more.
        """

        def run(_: InterestGraph) -> dict[str, int]:
            graph = opener()
            try:
                removed = graph.forget_user(user_id)
            finally:
                graph.close()
            holder.check(force=True)
            return removed

        return answer(request, run, True)

    return app
