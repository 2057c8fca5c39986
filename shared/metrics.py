"""Job metrics aggregated in Redis, so any API replica can serve the whole cluster's figures.

Workers record each finished job (one pipelined round trip); the API renders the hash as
Prometheus metrics at `/metrics`. Histograms are cumulative bucket counters, as Prometheus
expects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from redis.asyncio import Redis

from shared.models import Job

METRICS_KEY = "switchyard:metrics"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
HISTOGRAMS = {
    "queue_wait": "Time from submission until a worker started the job",
    "time_to_first_token": "Time from submission until the first token was published",
    "run_time": "Time a job ran on a worker",
    "cancel_latency": "Time from a cancel request until the job ended",
    "sandbox_time": "Wall time of sandboxed executions",
}


@dataclass(frozen=True, slots=True)
class FinishedJob:
    kind: str
    status: str
    model: str | None
    input_tokens: int
    output_tokens: int
    queue_wait: float | None
    time_to_first_token: float | None
    run_time: float | None
    cancel_latency: float | None


def _seconds(end: datetime | None, start: datetime | None) -> float | None:
    if end is None or start is None:
        return None
    return max(0.0, (end - start).total_seconds())


def finished_job(job: Job) -> FinishedJob:
    usage = job.usage or {}
    return FinishedJob(
        kind=job.kind,
        status=job.status,
        model=job.model,
        input_tokens=int(usage.get("input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
        queue_wait=_seconds(job.started_at, job.created_at),
        time_to_first_token=_seconds(job.first_token_at, job.created_at),
        run_time=_seconds(job.finished_at, job.started_at),
        cancel_latency=(
            _seconds(job.finished_at, job.cancel_requested_at)
            if job.status == "cancelled"
            else None
        ),
    )


async def record_finished(redis: Redis, job: FinishedJob) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(METRICS_KEY, f"jobs|{job.kind}|{job.status}", 1)
        model = job.model or "none"
        pipe.hincrby(METRICS_KEY, f"tokens|{model}|input", job.input_tokens)
        pipe.hincrby(METRICS_KEY, f"tokens|{model}|output", job.output_tokens)
        for name in ("queue_wait", "time_to_first_token", "run_time", "cancel_latency"):
            _observe(pipe, name, job.kind, getattr(job, name))
        await pipe.execute()


async def observe(redis: Redis, name: str, kind: str, seconds: float) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        _observe(pipe, name, kind, seconds)
        await pipe.execute()


def _observe(pipe: object, name: str, kind: str, seconds: float | None) -> None:
    if seconds is None:
        return
    for bound in BUCKETS:
        if seconds <= bound:
            pipe.hincrby(METRICS_KEY, f"hist|{name}|{kind}|{bound}", 1)  # type: ignore[attr-defined]
    pipe.hincrby(METRICS_KEY, f"hist|{name}|{kind}|+Inf", 1)  # type: ignore[attr-defined]
    pipe.hincrbyfloat(METRICS_KEY, f"sum|{name}|{kind}", seconds)  # type: ignore[attr-defined]


def families(raw: dict[Any, Any]) -> Iterator[Metric]:
    """Prometheus metric families from the Redis hash."""
    values = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
    jobs = CounterMetricFamily("switchyard_jobs", "Jobs finished", labels=["kind", "status"])
    tokens = CounterMetricFamily("switchyard_tokens", "Tokens used", labels=["model", "direction"])
    for key, value in values.items():
        parts = key.split("|")
        if parts[0] == "jobs":
            jobs.add_metric(parts[1:], value)
        elif parts[0] == "tokens":
            tokens.add_metric(parts[1:], value)
    yield jobs
    yield tokens
    for name, documentation in HISTOGRAMS.items():
        histogram = HistogramMetricFamily(
            f"switchyard_{name}_seconds", documentation, labels=["kind"]
        )
        kinds = {k.split("|")[2] for k in values if k.startswith(f"hist|{name}|")}
        for kind in sorted(kinds):
            buckets = [(str(b), values.get(f"hist|{name}|{kind}|{b}", 0.0)) for b in BUCKETS]
            buckets.append(("+Inf", values.get(f"hist|{name}|{kind}|+Inf", 0.0)))
            histogram.add_metric([kind], buckets, values.get(f"sum|{name}|{kind}", 0.0))
        yield histogram
