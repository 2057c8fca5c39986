"""Where the relay's time goes per event: py-spy samples the API and a worker while N streams
run through Switchyard, and the samples are folded into shares by layer.

    .venv/bin/python -m bench.profile [--streams 100] [--tokens 200] [--gap-ms 50]

Needs py-spy (in the dev extras) and permission to ptrace the processes the bench starts.
Writes the raw folded stacks next to the stack's logs and prints the shares.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from bench import throughput
from bench.stack import REDIS_URL, BenchStack, running_stack

# First match wins, checked against the whole stack from the leaf up.
LAYERS = (
    ("serialisation (pydantic/json)", ("pydantic", "json/", "orjson", "model_dump")),
    ("redis client", ("redis/", "hiredis")),
    ("SSE framing (sse-starlette)", ("sse_starlette",)),
    ("HTTP server (uvicorn/starlette)", ("uvicorn/", "starlette/", "httptools", "h11")),
    ("OpenAI SDK + httpx", ("openai/", "httpx/", "httpcore/", "anyio/")),
    ("database (sqlalchemy/asyncpg)", ("sqlalchemy/", "asyncpg/")),
    ("logging", ("structlog/", "logging/")),
    ("celery/kombu", ("celery/", "kombu/")),
    ("switchyard code", ("api/", "shared/", "worker/")),
    ("asyncio event loop", ("asyncio/", "uvloop")),
)


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for layer, needles in LAYERS:
            if any(needle in frame for needle in needles):
                return layer
    return "other"


IDLE = (
    "select (selectors.py",
    "epoll_wait",
    "epoll_pwait",
    "Condition.wait",
    "_worker (concurrent",
)


def _is_busy_loop_sample(stack: str) -> bool:
    """A sample of a thread doing work (not waiting on a lock or in epoll)."""
    return not any(idle in stack.split(";")[-1] for idle in IDLE)


def _leaf(stack: str) -> str:
    python = [frame for frame in stack.split(";") if ".py:" in frame]
    return python[-1] if python else stack.split(";")[-1]


def shares(folded: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """(samples, samples by layer, samples by leaf Python function) of the event loop's busy
    samples in a py-spy raw profile."""
    layers: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not _is_busy_loop_sample(stack):
            continue
        samples = int(count)
        total += samples
        layers[layer_of(stack)] += samples
        leaves[_leaf(stack)] += samples
    return total, layers, leaves


def record(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy until interrupted (SIGINT makes it write what it sampled)."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "250",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid() -> int:
    info = redis.Redis.from_url(REDIS_URL).info("server")
    return int(info["process_id"])


def report(name: str, folded: Path, cpu: float, events: int) -> str:
    total, layers, leaves = shares(folded)
    lines = [
        f"{name}: {cpu:.1f} CPU-s for {events:,} token events = "
        f"{cpu / max(events, 1) * 1e6:.0f} µs of CPU per event ({total} samples)"
    ]
    lines += [f"  {count / total:6.1%}  {layer}" for layer, count in layers.most_common()]
    lines += ["  top leaf functions:"]
    lines += [f"  {count / total:6.1%}  {leaf}" for leaf, count in leaves.most_common(12)]
    return "\n".join(lines)


async def _load(stack: BenchStack, streams: int, tokens: int, gap_ms: float) -> None:
    plan = throughput.Plan(streams, tokens, gap_ms, 1)
    await throughput._round(plan, stack, "switchyard")


def _profiled_load(stack: BenchStack, args: argparse.Namespace) -> None:
    pids = {
        "API": stack.pid("api"),
        "worker": stack.pid("llm0"),
        "upstream": stack.pid("upstream"),
        "redis-server": redis_pid(),
    }
    folded = {name: stack.workdir / f"{name}.folded" for name in ("API", "worker")}
    spies = [record(pids[name], path) for name, path in folded.items()]
    try:
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        client_before = time.process_time()
        asyncio.run(_load(stack, args.streams, args.tokens, args.gap_ms))
        client = time.process_time() - client_before
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
    events = args.streams * args.tokens
    for name, path in folded.items():
        print(report(name, path, used[name], events))
    for name in ("upstream", "redis-server"):
        print(f"{name}: {used[name]:.1f} CPU-s = {used[name] / events * 1e6:.0f} µs/event")
    print(f"bench client: {client:.1f} CPU-s = {client / events * 1e6:.0f} µs/event")
    print(f"(folded stacks in {stack.workdir})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=50)
    args = parser.parse_args()
    with running_stack(workers=1, with_peer=False) as stack:
        asyncio.run(_load(stack, 20, 20, 10))  # warm-up
        _profiled_load(stack, args)


if __name__ == "__main__":
    main()
