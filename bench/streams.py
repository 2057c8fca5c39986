"""Streams held: idle SSE connections one API process holds, and the memory each costs.

Each stream follows its own queued job (execute jobs: the bench starts no sandbox worker, so
they stay queued and their streams idle). Memory is the API process's RSS after the streams
are open minus before (same run); `switchyard_active_streams` from /metrics confirms the API
holds them all, and /health latency is measured before and while they are held.

    .venv/bin/python -m bench streams [--quick]
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from bench.report import Row, median, ms
from bench.stack import BenchStack, auth_header
from bench.wire import Connection

CLIENTS = 32
BATCH = 200


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _create_jobs(port: int, count: int) -> list[str]:
    urls: list[str] = []
    body = {"code": "print('held')"}

    async def client() -> None:
        connection = await Connection.open(port)
        try:
            while len(urls) < count:
                urls.append("")  # claim a slot before awaiting
                created = await connection.request("POST", "/api/executions", auth_header(), body)
                if created.status != 202:
                    raise RuntimeError(f"POST /api/executions: {created.status}")
                urls[urls.index("")] = created.json()["events_url"]
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return urls[:count]


async def _open(port: int, url: str) -> Connection:
    """A stream that has received its opening frame, kept open and unread from then on."""
    connection = await Connection.open(port)
    frames = connection.stream("GET", url, auth_header())
    _, fields = await anext(frames)
    if "retry" not in fields:
        raise RuntimeError(f"unexpected first frame {fields}")
    return connection


async def _health_latency(port: int, samples: int = 30) -> float:
    connection = await Connection.open(port)
    timings = []
    try:
        for _ in range(samples):
            start = time.perf_counter()
            response = await connection.request("GET", "/health", {})
            assert response.status == 200
            timings.append(time.perf_counter() - start)
    finally:
        connection.close()
    return median(timings)


async def _active_streams(port: int) -> int:
    connection = await Connection.open(port)
    try:
        text = (await connection.request("GET", "/metrics", {})).body.decode()
    finally:
        connection.close()
    match = re.search(r"^switchyard_active_streams (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else -1


async def measure(stack: BenchStack, count: int) -> list[Row]:
    port, pid = stack.api_port, stack.pid("api")
    urls = await asyncio.wait_for(_create_jobs(port, count + 50), 120)
    for connection in [await _open(port, url) for url in urls[count:]]:  # warm-up
        connection.close()
    await asyncio.sleep(1)
    health_before, rss_before = await _health_latency(port), rss_kib(pid)
    held: list[Connection] = []
    try:
        async with asyncio.timeout(180):
            for start in range(0, count, BATCH):
                batch = urls[start : start + BATCH]
                held += await asyncio.gather(*(_open(port, url) for url in batch))
        await asyncio.sleep(2)
        rss_after, active = rss_kib(pid), await _active_streams(port)
        health_during = await _health_latency(port)
    finally:
        for connection in held:
            connection.close()
    per_stream = (rss_after - rss_before) / max(len(held), 1)
    return [
        Row(
            "4. streams held",
            "idle SSE streams on one API process",
            "0",
            f"{len(held):,} (API reports {active:,})",
            f"{len(held):,} held",
            ">= 2,000",
            len(held) >= 2000 and active >= len(held),
        ),
        Row(
            "4. streams held",
            "API RSS (memory per stream)",
            f"{rss_before / 1024:,.0f} MiB",
            f"{rss_after / 1024:,.0f} MiB",
            f"{per_stream:.1f} KiB/stream",
            "< 50 KiB",
            per_stream < 50,
        ),
        Row(
            "4. streams held",
            "GET /health p50 while held",
            ms(health_before),
            ms(health_during),
            f"+{ms(health_during - health_before)}",
        ),
    ]


async def run(stack: BenchStack, quick: bool) -> list[Row]:
    return await measure(stack, 2000)

