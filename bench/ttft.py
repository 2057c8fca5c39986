"""Added time to first token: POST a chat job and read its SSE stream, against a client streaming
the same upstream directly through the OpenAI SDK. Alternating rounds; medians of per-round
p50 and p99 differences.

    .venv/bin/python -m bench.ttft [--quick]
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx
import openai

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


async def measure(stack: BenchStack, plan: Plan) -> list[Row]:
    model = model_name(TOKENS, GAP_MS)
    limits = httpx.Limits(max_connections=plan.concurrency + 10)
    sdk = openai.AsyncOpenAI(
        api_key="sk-bench-local",
        base_url=f"http://127.0.0.1:{stack.upstream_port}/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(limits=limits),
    )
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.api_port}",
        headers=auth_header(),
        limits=limits,
        timeout=60,
    )
    async with sdk, http:
        await _side(lambda: _direct(sdk, model), plan.concurrency, plan.concurrency)  # warm-up
        await _side(lambda: _through_switchyard(http, model), plan.concurrency, plan.concurrency)
        p50s, p99s, bases, cands = [], [], [], []
        for _ in range(plan.rounds):
            base = await _side(lambda: _direct(sdk, model), plan.concurrency, plan.samples)
            cand = await _side(
                lambda: _through_switchyard(http, model), plan.concurrency, plan.samples
            )
            p50s.append(percentile(cand, 50) - percentile(base, 50))
            p99s.append(percentile(cand, 99) - percentile(base, 99))
            bases.append((percentile(base, 50), percentile(base, 99)))
            cands.append((percentile(cand, 50), percentile(cand, 99)))
    return _rows(plan, p50s, p99s, bases, cands)


def _rows(
    plan: Plan,
    p50s: list[float],
    p99s: list[float],
    bases: list[tuple[float, float]],
    cands: list[tuple[float, float]],
) -> list[Row]:
    name = f"1. TTFT, c={plan.concurrency}"
    targets = {1: (0.004, 0.012)}.get(plan.concurrency)
    rows = []
    for index, (label, added) in enumerate((("p50", p50s), ("p99", p99s))):
        limit = targets[index] if targets else None
        rows.append(
            Row(
                name,
                f"TTFT {label} ({plan.rounds}x{plan.samples})",
                ms(median([b[index] for b in bases])),
                ms(median([c[index] for c in cands])),
                f"+{ms(median(added))}",
                f"<= +{ms(limit)}" if limit else "",
                median(added) <= limit if limit else None,
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


if __name__ == "__main__":
    from bench.run import main

    main(["ttft"])
