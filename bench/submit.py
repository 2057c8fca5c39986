"""Submission throughput: chat jobs accepted and completed per second through POST /api/chat
(mock provider, zero delay), against a bare Celery `.delay()` loop on the same broker whose
task only counts itself. Alternating rounds; medians of the per-round ratios.

    .venv/bin/python -m bench submit [--quick]
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import redis

from bench import noop_app
from bench.report import Row, median
from bench.stack import DATABASE, PG_DSN, REDIS_URL, BenchStack, auth_header
from bench.wire import Connection

CLIENTS = 32
BODY = {"messages": [{"role": "user", "content": "submit me"}], "model": "mock/echo"}


@dataclass
class Rates:
    accepted: float
    completed: float


async def _post_many(port: int, jobs: int) -> None:
    remaining = [jobs]

    async def client() -> None:
        connection = await Connection.open(port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                created = await connection.request("POST", "/api/chat", auth_header(), BODY)
                if created.status != 202:
                    raise RuntimeError(f"POST /api/chat: {created.status} {created.body[:200]!r}")
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def _wait_until(done: object, target: int, deadline: float) -> float:
    while time.perf_counter() < deadline:
        if await done() >= target:  # type: ignore[operator]
            return time.perf_counter()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"only {await done()} of {target} completed in time")  # type: ignore[operator]


async def switchyard_round(stack: BenchStack, jobs: int, db: asyncpg.Connection) -> Rates:
    query = "SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL AND status = 'succeeded'"
    before = await db.fetchval(query)

    async def finished() -> int:
        return int(await db.fetchval(query)) - before

    start = time.perf_counter()
    await asyncio.wait_for(_post_many(stack.api_port, jobs), 120)
    accepted = time.perf_counter()
    completed = await _wait_until(finished, jobs, start + 120)
    return Rates(jobs / (accepted - start), jobs / (completed - start))


async def celery_round(jobs: int, counter: redis.Redis) -> Rates:
    counter.set(noop_app.COUNTER, 0)
    start = time.perf_counter()
    for index in range(jobs):
        noop_app.noop.delay(index)
    accepted = time.perf_counter()

    async def finished() -> int:
        return int(counter.get(noop_app.COUNTER) or 0)

    completed = await _wait_until(finished, jobs, start + 120)
    return Rates(jobs / (accepted - start), jobs / (completed - start))


async def measure(stack: BenchStack, jobs: int, rounds: int) -> list[Row]:
    for index in range(stack.workers):
        stack.start_worker(f"noop{index}", "bench.noop_app", noop_app.QUEUE)
    noop_app.app.conf.broker_url = REDIS_URL  # this process's own settings name no broker
    counter = redis.Redis.from_url(REDIS_URL)
    db = await asyncpg.connect(f"{PG_DSN}/{DATABASE}")
    try:
        await switchyard_round(stack, 50, db)  # warm-up: auth cache, pools, imports
        await celery_round(50, counter)
        bases, cands = [], []
        for _ in range(rounds):
            bases.append(await celery_round(jobs, counter))
            cands.append(await switchyard_round(stack, jobs, db))
    finally:
        await db.close()
        counter.close()
        for index in range(stack.workers):
            stack.stop_process(f"noop{index}")
    return _rows(bases, cands, jobs, rounds)


def _rows(bases: list[Rates], cands: list[Rates], jobs: int, rounds: int) -> list[Row]:
    rows = []
    for label in ("accepted", "completed"):
        base = [getattr(b, label) for b in bases]
        cand = [getattr(c, label) for c in cands]
        ratio = median([c / b for b, c in zip(base, cand, strict=True)])
        rows.append(
            Row(
                "3. submission",
                f"jobs {label}/s ({rounds}x{jobs} jobs)",
                f"{median(base):,.0f} (bare Celery)",
                f"{median(cand):,.0f}",
                f"{ratio:.2f}x",
                ">= 0.50x",
                ratio >= 0.5,
            )
        )
    return rows


async def run(stack: BenchStack, quick: bool) -> list[Row]:
    return await measure(stack, 300 if quick else 1000, 2 if quick else 3)

