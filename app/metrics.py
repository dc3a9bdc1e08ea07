"""Prometheus metrics: what operators graph and alert on (docs/operations.md, "Metrics").

Every family is defined here, once, so the exported names and labels are one reviewable list. Labels
carry only bounded, non-personal values: route and operation *templates*, status classes, system
names, outcomes. Never an order number, an email, a ticket id or another raw id: they would leak
personal data into a monitoring system and give every series its own label value.

prometheus-client chooses between in-process values and its multiprocess files when it is first
imported (``PROMETHEUS_MULTIPROC_DIR``); ``ctnm serve --workers N`` sets that variable for its worker
processes (app/cli.py), and :func:`exposition` then merges every process's files.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from threading import Thread
from typing import Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
)

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "exposition",
    "observe_cache",
    "observe_push",
    "observe_queue",
    "observe_request",
    "observe_upstream",
    "serve_metrics",
    "status_class",
]

# The *_created series double every family's size for a value no dashboard here uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
REGISTRY: Final = CollectorRegistry(auto_describe=True)

# Agents wait on these: buckets dense below 300 ms (the widget's budget), coarse up to the retry budget.
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A status reaches a ticket within seconds normally, within hours when retries and backoff run.
_PUSH_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

HTTP_REQUESTS: Final = Counter(
    "ctnm_http_requests",
    "Requests answered by the gateway, by route template and status class.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_DURATION: Final = Histogram(
    "ctnm_http_request_duration_seconds",
    "Time from a request's arrival to its complete answer.",
    ("method", "route"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CACHE_EVENTS: Final = Counter(
    "ctnm_cache_events",
    "View cache outcomes: hit, miss, stale (served past its freshness after an upstream failure), "
    "refresh (a forced re-read), eviction (a view dropped because its source changed).",
    ("outcome",),
    registry=REGISTRY,
)
UPSTREAM_CALLS: Final = Counter(
    "ctnm_upstream_calls",
    "Calls to commercetools and novomind, one per attempt, by operation template and status class "
    '("error" when no answer came: timeout, refused connection).',
    ("system", "operation", "status"),
    registry=REGISTRY,
)
UPSTREAM_DURATION: Final = Histogram(
    "ctnm_upstream_call_duration_seconds",
    "Duration of one attempt of an upstream call.",
    ("system", "operation"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOKEN_FETCHES: Final = Counter(
    "ctnm_upstream_token_fetches",
    "OAuth token requests the gateway made to an upstream, by outcome (ok, refused, error).",
    ("system", "outcome"),
    registry=REGISTRY,
)
RATE_LIMIT_REFUSALS: Final = Counter(
    "ctnm_rate_limit_refusals",
    "Requests refused by a rate limit of mappings/limits.toml: caller (per token sub) or commercetools "
    "(the deployment's budget of commercetools requests).",
    ("limit",),
    registry=REGISTRY,
)
PUSH_QUEUE_DEPTH: Final = Gauge(
    "ctnm_push_queue_depth",
    "Events waiting in the push queue (ready plus leased), as last sampled by a push process.",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
PUSH_OLDEST_AGE: Final = Gauge(
    "ctnm_push_oldest_event_age_seconds",
    "Age of the oldest event waiting in the push queue (0 when empty), as last sampled.",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
PUSH_DEAD_LETTERS_WAITING: Final = Gauge(
    "ctnm_push_dead_letters_waiting",
    "Dead letters stored and not yet replayed, as last sampled.",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
PUSH_OUTCOMES: Final = Counter(
    "ctnm_push_events",
    "Deliveries the push workers handled, by outcome (applied, snapshot, stale, no-change, retry, dead).",
    ("outcome",),
    registry=REGISTRY,
)
PUSH_END_TO_END: Final = Histogram(
    "ctnm_push_end_to_end_seconds",
    "From the gateway queueing an event to its delivery being settled (tickets written, or dead-lettered).",
    buckets=_PUSH_BUCKETS,
    registry=REGISTRY,
)


def status_class(status: int | None) -> str:
    """``2xx`` … ``5xx``; ``error`` for no answer at all (0 or None)."""
    if not status:
        return "error"
    return f"{status // 100}xx"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, status_class(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def observe_upstream(system: str, operation: str, status: int | None, seconds: float) -> None:
    UPSTREAM_CALLS.labels(system, operation, status_class(status)).inc()
    UPSTREAM_DURATION.labels(system, operation).observe(seconds)


def observe_cache(outcome: str, count: int = 1) -> None:
    CACHE_EVENTS.labels(outcome).inc(count)


def observe_push(outcome: str, enqueued_at: datetime) -> None:
    """One handled delivery; a settled one (anything but a retry) also its time since the gateway queued it."""
    PUSH_OUTCOMES.labels(outcome).inc()
    if outcome != "retry":
        PUSH_END_TO_END.observe(max((datetime.now(UTC) - enqueued_at).total_seconds(), 0.0))


def observe_queue(*, waiting: int, oldest_enqueued_at: datetime | None, dead_letters: int) -> None:
    PUSH_QUEUE_DEPTH.set(waiting)
    oldest = oldest_enqueued_at
    PUSH_OLDEST_AGE.set(max((datetime.now(UTC) - oldest).total_seconds(), 0.0) if oldest else 0.0)
    PUSH_DEAD_LETTERS_WAITING.set(dead_letters)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


def exposition() -> bytes:
    """The text format of every family, merged across processes in multiprocess mode."""
    return generate_latest(_registry())


def serve_metrics(host: str, port: int) -> tuple[WSGIServer, Thread]:
    """``/metrics`` on its own port from a daemon thread (prometheus-client's server): ``--metrics-port``.

    Returns the server (``shutdown()`` then ``server_close()`` stop it) and its thread."""
    return start_http_server(port, addr=host, registry=_registry())
