"""Relay throughput and token gaps at N concurrent streams: tokens per second delivered against
offered, and the p99 gap between tokens added over the upstream's own gap, with every token of
every stream accounted for (none lost, none doubled, in order).

Baseline: N clients streaming the upstream directly. Candidate: N chat jobs through the API,
the queue and the workers, each read over SSE. Both read with `bench.wire` (same client cost).

    .venv/bin/python -m bench.throughput [--quick]
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from bench.report import Row, median, ms, percentile
from bench.stack import BenchStack, auth_header
from bench.upstream import model_name, token_text
from bench.wire import Connection

MESSAGES = [{"role": "user", "content": "relay throughput"}]


@dataclass
class Stream:
    arrivals: list[float] = field(default_factory=list)
    deltas: list[str] = field(default_factory=list)
    ended: str = ""

    def rate(self) -> float:
        span = self.arrivals[-1] - self.arrivals[0] if len(self.arrivals) > 1 else 0
        return (len(self.arrivals) - 1) / span if span > 0 else 0.0

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]


async def _direct(port: int, model: str) -> Stream:
    stream, connection = Stream(), await Connection.open(port)
    try:
        body = {"model": model, "messages": MESSAGES, "stream": True}
        headers = {"authorization": "Bearer sk-bench-local"}
        async for at, fields in connection.stream("POST", "/v1/chat/completions", headers, body):
            data = fields.get("data", "")
            if data == "[DONE]":
                stream.ended = "succeeded"
                continue
            for choice in json.loads(data)["choices"]:
                if choice["delta"].get("content"):
                    stream.arrivals.append(at)
                    stream.deltas.append(choice["delta"]["content"])
    finally:
        connection.close()
    return stream


async def _through_switchyard(port: int, model: str) -> Stream:
    stream, connection = Stream(), await Connection.open(port)
    try:
        body = {"messages": MESSAGES, "model": f"openai/{model}"}
        created = await connection.request("POST", "/api/chat", auth_header(), body)
        if created.status != 202:
            raise RuntimeError(f"POST /api/chat: {created.status} {created.body[:200]!r}")
        url = created.json()["events_url"]
        async for at, fields in connection.stream("GET", url, auth_header()):
            if fields.get("event") == "token":
                stream.arrivals.append(at)
                stream.deltas.append(json.loads(fields["data"])["delta"])
            elif fields.get("event") == "done":
                stream.ended = json.loads(fields["data"])["status"]
    finally:
        connection.close()
    return stream


def account(streams: list[Stream], tokens: int) -> int:
    """Streams whose tokens are exactly the upstream's, in order; raises on any mismatch."""
    expected = [token_text(i) for i in range(tokens)]
    for index, stream in enumerate(streams):
        if stream.deltas != expected or stream.ended != "succeeded":
            lost = len(set(expected) - set(stream.deltas))
            doubled = len(stream.deltas) - len(set(stream.deltas))
            raise AssertionError(
                f"stream {index}: {len(stream.deltas)}/{tokens} tokens, {lost} lost, "
                f"{doubled} doubled, ended {stream.ended!r}"
            )
    return len(streams)


@dataclass(frozen=True)
class Plan:
    streams: int
    tokens: int
    gap_ms: float
    rounds: int

    @property
    def offered(self) -> float:
        return self.streams * 1000 / self.gap_ms


@dataclass
class Round:
    rate: float
    p99_gap: float


async def _round(plan: Plan, port: int, direct: bool) -> Round:
    model = model_name(plan.tokens, plan.gap_ms)
    reader = _direct if direct else _through_switchyard
    # Bounded: the streams' own length thrice, plus the whole load at a floor of 500 tokens/s.
    bound = 60 + plan.tokens * plan.gap_ms / 1000 * 3 + plan.streams * plan.tokens / 500
    async with asyncio.timeout(bound):
        streams = await asyncio.gather(*(reader(port, model) for _ in range(plan.streams)))
    account(streams, plan.tokens)
    gaps = [gap for stream in streams for gap in stream.gaps()]
    return Round(sum(s.rate() for s in streams), percentile(gaps, 99))


async def measure(stack: BenchStack, plan: Plan) -> list[Row]:
    bases, cands = [], []
    for _ in range(plan.rounds):
        bases.append(await _round(plan, stack.upstream_port, direct=True))
        try:
            cands.append(await _round(plan, stack.api_port, direct=False))
        except TimeoutError:
            shape = f"{plan.tokens} tok @ {plan.gap_ms:g} ms"
            return [
                Row(
                    f"2. relay, N={plan.streams}",
                    f"tokens/s ({shape})",
                    "",
                    "timed out",
                    "not every stream ended in time",
                    ">= 95%" if plan.streams == 250 else "",
                    False,
                )
            ]
    ratio = median([c.rate / b.rate for b, c in zip(bases, cands, strict=True)])
    added = median([c.p99_gap - b.p99_gap for b, c in zip(bases, cands, strict=True)])
    name = f"2. relay, N={plan.streams}"
    total = plan.streams * plan.tokens * plan.rounds  # `account` raised if any was missing
    gated = plan.streams == 250
    shape = f"{plan.tokens} tok @ {plan.gap_ms:g} ms, {plan.rounds} rounds"
    return [
        Row(
            name,
            f"tokens/s (offered {plan.offered:,.0f}; {shape})",
            f"{median([b.rate for b in bases]):,.0f}",
            f"{median([c.rate for c in cands]):,.0f}",
            f"{ratio:.1%} of direct",
            ">= 95%" if gated else "",
            ratio >= 0.95 if gated else None,
        ),
        Row(
            name,
            "p99 gap between tokens",
            ms(median([b.p99_gap for b in bases])),
            ms(median([c.p99_gap for c in cands])),
            f"+{ms(added)}",
            "<= +20.0 ms" if gated else "",
            added <= 0.020 if gated else None,
        ),
        Row(
            name,
            "tokens accounted for",
            "all",
            "all",
            f"{total:,} of {total:,}",
        ),
    ]


def plans(quick: bool) -> list[Plan]:
    rounds = 1 if quick else 3
    return [Plan(n, 100, 50, rounds) for n in (100, 250, 500)]


async def run(stack: BenchStack, quick: bool) -> list[Row]:
    rows: list[Row] = []
    for plan in plans(quick):
        rows += await measure(stack, plan)
    return rows


if __name__ == "__main__":
    from bench.run import main

    main(["relay"])
