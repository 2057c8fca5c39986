"""Prometheus metrics at `/metrics`: this process's HTTP traffic and open streams, the queue
depths, and the cluster's job metrics (aggregated in Redis by `shared.metrics`)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import State
from shared import metrics
from shared.queue import QUEUES

router = APIRouter(tags=["operations"])

HTTP_REQUESTS = Counter(
    "switchyard_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "switchyard_http_request_seconds",
    "HTTP request latency (to response start)",
    ["method", "route"],
)


class MetricsMiddleware:
    """Counts requests by route template (not raw path, to keep label cardinality bounded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                HTTP_REQUESTS.labels(scope["method"], path, str(message["status"])).inc()
                HTTP_LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, observe)


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


@router.get("/metrics", include_in_schema=False)
async def prometheus(state: State) -> Response:
    streams = GaugeMetricFamily(
        "switchyard_active_streams", "SSE and WebSocket job subscriptions open on this API process"
    )
    streams.add_metric([], state.relay.subscriber_count)
    depth = GaugeMetricFamily(
        "switchyard_queue_depth", "Messages waiting in each queue", labels=["queue"]
    )
    for queue in QUEUES:
        depth.add_metric([queue], await state.redis.llen(queue))
    cluster = list(metrics.families(await state.redis.hgetall(metrics.METRICS_KEY)))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot([streams, depth, *cluster]))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
