"""Relay throughput and token gaps at N concurrent streams: tokens per second delivered against
offered, and the p99 gap between tokens added over the upstream's own gap, with every token of
every stream accounted for (none lost, none doubled, in order).

Baseline: N clients streaming the upstream directly. Candidate: N chat jobs through the API,
the queue and the workers, each read over SSE. Both read with `bench.wire` (same client cost).

    .venv/bin/python -m bench relay [--quick]
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from bench import peer
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


async def _direct(port: int, model: str, key: str) -> Stream:
    """Stream an OpenAI-compatible endpoint: the upstream itself, or the peer gateway."""
    stream, connection = Stream(), await Connection.open(port)
    try:
        body = {"model": model, "messages": MESSAGES, "stream": True}
        headers = {"authorization": f"Bearer {key}"}
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
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the round


async def _round(plan: Plan, stack: BenchStack, side: str) -> Round:
    model = model_name(plan.tokens, plan.gap_ms)
    port = {"direct": stack.upstream_port, "peer": stack.peer_port}.get(side, stack.api_port)
    key = peer.MASTER_KEY if side == "peer" else "sk-bench-local"
    # Bounded: the streams' own length thrice, plus the whole load at a floor of 500 tokens/s.
    bound = 60 + plan.tokens * plan.gap_ms / 1000 * 3 + plan.streams * plan.tokens / 500
    before = stack.cpu_seconds()
    async with asyncio.timeout(bound):
        if side == "switchyard":
            readers = [_through_switchyard(port, model) for _ in range(plan.streams)]
        else:
            readers = [_direct(port, model, key) for _ in range(plan.streams)]
        streams = await asyncio.gather(*readers)
    after = stack.cpu_seconds()
    account(streams, plan.tokens)
    gaps = [gap for stream in streams for gap in stream.gaps()]
    cpu = {name: after[name] - before[name] for name in after}
    return Round(sum(s.rate() for s in streams), percentile(gaps, 99), cpu)


@dataclass(frozen=True)
class Target:
    delivered: float | None = None  # share of the direct rate
    added_gap: float | None = None  # seconds


TARGETS = {(250, 50.0): Target(0.98, 0.015), (500, 50.0): Target(0.95, 0.030),
           (250, 10.0): Target(0.90)}


async def measure(stack: BenchStack, plan: Plan) -> list[Row]:
    sides = ["direct", "switchyard", *(["peer"] if stack.with_peer else [])]
    rounds: dict[str, list[Round]] = {side: [] for side in sides}
    name = f"2. relay, N={plan.streams}" + ("" if plan.gap_ms == 50 else f" @ {plan.gap_ms:g} ms")
    for _ in range(plan.rounds):
        for side in sides:
            try:
                rounds[side].append(await _round(plan, stack, side))
            except TimeoutError:
                return [Row(name, f"tokens/s ({side})", "", "timed out",
                            "not every stream ended in time", "", False)]
    return _rows(plan, name, rounds)


def _rows(plan: Plan, name: str, rounds: dict[str, list[Round]]) -> list[Row]:
    target = TARGETS.get((plan.streams, plan.gap_ms), Target())
    bases, cands = rounds["direct"], rounds["switchyard"]
    ratio = median([c.rate / b.rate for b, c in zip(bases, cands, strict=True)])
    added = median([c.p99_gap - b.p99_gap for b, c in zip(bases, cands, strict=True)])
    total = plan.streams * plan.tokens * plan.rounds  # `account` raised if any was missing
    shape = f"{plan.tokens} tok @ {plan.gap_ms:g} ms, {plan.rounds} rounds"
    rows = [
        Row(
            name,
            f"tokens/s (offered {plan.offered:,.0f}; {shape})",
            f"{median([b.rate for b in bases]):,.0f}",
            f"{median([c.rate for c in cands]):,.0f}",
            f"{ratio:.1%} of direct",
            f">= {target.delivered:.0%}" if target.delivered else "",
            ratio >= target.delivered if target.delivered else None,
        ),
        Row(
            name,
            "p99 gap between tokens",
            ms(median([b.p99_gap for b in bases])),
            ms(median([c.p99_gap for c in cands])),
            f"+{ms(added)}",
            f"<= +{ms(target.added_gap)}" if target.added_gap else "",
            added <= target.added_gap if target.added_gap else None,
        ),
        Row(name, "tokens accounted for", "all", "all", f"{total:,} of {total:,}"),
    ]
    return rows + _cpu_rows(plan, name, rounds)


def _per_thousand(rounds: list[Round], part: str, plan: Plan) -> float:
    return median([r.cpu.get(part, 0.0) for r in rounds]) / (plan.streams * plan.tokens) * 1000


def _cpu_rows(plan: Plan, name: str, rounds: dict[str, list[Round]]) -> list[Row]:
    """CPU per 1,000 relayed tokens (all of Switchyard's processes; the stores beside), and the
    workers' CPU per token event, against the peer gateway in the same rounds."""
    ours = _per_thousand(rounds["switchyard"], "switchyard", plan)
    stores = _per_thousand(rounds["switchyard"], "stores", plan)
    worker_us = _per_thousand(rounds["switchyard"], "workers", plan) * 1000
    rows = []
    if "peer" in rounds:
        theirs = _per_thousand(rounds["peer"], "peer", plan)
        rate = median([r.rate for r in rounds["peer"]])
        ratio = median([p.rate / b.rate for b, p in zip(rounds["direct"], rounds["peer"],
                                                          strict=True)])
        rows.append(Row(name, "LiteLLM proxy (peer): tokens/s", "", f"{rate:,.0f}",
                        f"{ratio:.1%} of direct"))
        gated = plan.streams == 250 and plan.gap_ms == 50
        rows.append(
            Row(
                name,
                "CPU s per 1,000 relayed tokens",
                f"{theirs:.2f} (LiteLLM)",
                f"{ours:.2f} + {stores:.2f} stores",
                f"{ours / theirs:.2f}x LiteLLM's" if theirs else "",
                "<= 0.30, <= 0.25x LiteLLM's" if gated else "",
                (ours <= 0.3 and ours <= theirs / 4) if gated else None,
            )
        )
    rows.append(
        Row(name, "worker CPU per token event", "", f"{worker_us:.0f} µs", "",
            "<= 100 µs" if plan.streams == 250 and plan.gap_ms == 50 else "",
            worker_us <= 100 if plan.streams == 250 and plan.gap_ms == 50 else None)
    )
    return rows


def plans(quick: bool) -> list[Plan]:
    rounds = 1 if quick else 3
    streams = (100, 250, 500) if quick else (100, 250, 500, 1000)
    return [Plan(n, 100, 50, rounds) for n in streams] + [Plan(250, 100, 10, rounds)]


async def run(stack: BenchStack, quick: bool) -> list[Row]:
    rows: list[Row] = []
    for plan in plans(quick):
        rows += await measure(stack, plan)
    return rows

