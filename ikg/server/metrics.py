"""Prometheus metrics of one server process: requests, errors, latency, and the served version.

Labels use the route template (`/users/{user_id}/recommendations`), never the raw path, so a
stream of distinct user ids does not grow the metric set. With `--workers N` each worker keeps
its own counters; `/metrics` shows the worker that answered.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ikg.server.versions import VersionHolder

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    """The counters and histograms `/metrics` exposes, in a registry of their own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, holder: VersionHolder) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ikg_http_requests_total",
            "HTTP requests answered, by method, route and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "ikg_http_errors_total",
            "HTTP requests answered with a 4xx or 5xx status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ikg_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loads = Counter(
            "ikg_version_loads_total",
            "Version loads by the background watcher, by outcome (ok or failed).",
            ["outcome"],
            registry=self.registry,
        )
        age = Gauge(
            "ikg_version_age_seconds",
            "Seconds since the served version was activated (-1 when none is loaded).",
            registry=self.registry,
        )
        age.set_function(lambda: holder.current.age() if holder.current is not None else -1.0)
        holder.on_load = lambda version, ok: self.loads.labels("ok" if ok else "failed").inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and record its latency."""
        self.requests.labels(method, route, str(status)).inc()
        if status >= 400:
            self.errors.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
