"""Added time to first token: POST a chat job and read its SSE stream, against a client streaming
the same upstream directly through the OpenAI SDK, and beside the same SDK call made through the
peer gateway (LiteLLM's proxy, bench/peer.py). Alternating rounds; medians of per-round p50 and
p99 differences.

    .venv/bin/python -m bench ttft [--quick]
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx
import openai

from bench import peer
from bench.report import Row, median, ms, percentile
from bench.stack import BenchStack, auth_header
from bench.upstream import model_name

TOKENS, GAP_MS = 5, 10
MESSAGES = [{"role": "user", "content": "time to first token"}]


@dataclass(frozen=True)
class Plan:
    concurrency: int
    samples: int  # per round and side
    rounds: int


async def _direct(client: openai.AsyncOpenAI, model: str) -> float:
    start = time.perf_counter()
    first = 0.0
    stream = await client.chat.completions.create(model=model, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    async for chunk in stream:
        if not first and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
    return first - start


async def _through_switchyard(http: httpx.AsyncClient, model: str) -> float:
    start = time.perf_counter()
    first = 0.0
    created = await http.post("/api/chat", json={"messages": MESSAGES, "model": f"openai/{model}"})
    created.raise_for_status()
    async with http.stream("GET", created.json()["events_url"]) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "token" and not first:
                first = time.perf_counter()
            elif line.startswith("data:") and event == "done":
                assert json.loads(line[5:])["status"] == "succeeded", line
    return first - start


async def _side(call: object, concurrency: int, samples: int) -> list[float]:
    results: list[float] = []
    while len(results) < samples:
        batch = min(concurrency, samples - len(results))
        results += await asyncio.gather(*(call() for _ in range(batch)))  # type: ignore[operator]
    return results


@dataclass
class Sides:
    """Per-round (p50, p99) of each side: direct, through Switchyard, through the peer."""

    direct: list[tuple[float, float]]
    switchyard: list[tuple[float, float]]
    peer: list[tuple[float, float]]

    @staticmethod
    def figures(values: list[float]) -> tuple[float, float]:
        return percentile(values, 50), percentile(values, 99)


def _sdk(port: int, key: str, limits: httpx.Limits) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=f"http://127.0.0.1:{port}/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(limits=limits),
    )


async def measure(stack: BenchStack, plan: Plan) -> list[Row]:
    model = model_name(TOKENS, GAP_MS)
    limits = httpx.Limits(max_connections=plan.concurrency + 10)
    sdk = _sdk(stack.upstream_port, "sk-bench-local", limits)
    gateway = _sdk(stack.peer_port, peer.MASTER_KEY, limits) if stack.with_peer else None
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.api_port}",
        headers=auth_header(),
        limits=limits,
        timeout=60,
    )
    calls = {
        "direct": lambda: _direct(sdk, model),
        "switchyard": lambda: _through_switchyard(http, model),
    }
    if gateway is not None:
        calls["peer"] = lambda: _direct(gateway, model)
    sides = Sides([], [], [])
    async with sdk, http:
        for call in calls.values():  # warm-up: connections, auth cache, imports
            await _side(call, plan.concurrency, plan.concurrency)
        for _ in range(plan.rounds):
            for name, call in calls.items():
                values = await _side(call, plan.concurrency, plan.samples)
                getattr(sides, name).append(Sides.figures(values))
        if gateway is not None:
            await gateway.close()
    return _rows(plan, sides)


def _added(side: list[tuple[float, float]], direct: list[tuple[float, float]], i: int) -> float:
    return median([s[i] - d[i] for s, d in zip(side, direct, strict=True)])


def _rows(plan: Plan, sides: Sides) -> list[Row]:
    name = f"1. TTFT, c={plan.concurrency}"
    targets = {1: (0.003, 0.008), 50: (0.025, None)}.get(plan.concurrency, (None, None))
    rows = []
    for index, label in enumerate(("p50", "p99")):
        added = _added(sides.switchyard, sides.direct, index)
        peer_added = _added(sides.peer, sides.direct, index) if sides.peer else None
        limit = targets[index]
        target, met = "", None
        if limit is not None:
            target = f"<= +{ms(limit)}"
            met = added <= limit
            if plan.concurrency == 1 and peer_added is not None:
                target += ", < LiteLLM"
                met = met and added < peer_added
        base = ms(median([d[index] for d in sides.direct]))
        rows.append(
            Row(
                name,
                f"TTFT {label} ({plan.rounds}x{plan.samples})",
                base,
                ms(median([c[index] for c in sides.switchyard])),
                f"+{ms(added)}",
                target,
                met,
            )
        )
        if peer_added is not None:
            rows.append(
                Row(
                    name,
                    f"TTFT {label}, LiteLLM proxy (peer)",
                    base,
                    ms(median([p[index] for p in sides.peer])),
                    f"+{ms(peer_added)}",
                )
            )
    return rows


def plans(quick: bool) -> list[Plan]:
    if quick:
        return [Plan(1, 30, 3), Plan(50, 100, 3)]
    return [Plan(1, 100, 5), Plan(50, 200, 5)]


async def run(stack: BenchStack, quick: bool) -> list[Row]:
    rows: list[Row] = []
    for plan in plans(quick):
        rows += await asyncio.wait_for(measure(stack, plan), timeout=300)
    return rows

