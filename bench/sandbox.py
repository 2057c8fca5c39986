"""The sandbox's overhead over a bare interpreter start, and its throughput on all cores.

    .venv/bin/python bench/sandbox.py [--rounds 500] [--throughput 600] [--concurrency 2]

Latency: each round starts a bare `python -I -S -c pass` (the same absolute interpreter the
sandbox uses) and then one trivial execution through the real sandbox path — the `Sandbox.box`
and `Sandbox.run` calls the execute handler makes, bubblewrap, rlimits, harness and all —
alternating, so drift in the machine's load hits both alike. Throughput: `--throughput`
executions (and as many bare starts) spread over `--concurrency` concurrent runners, one per
core by default. Needs root (the sandbox switches to its unprivileged uid) and bubblewrap;
no Postgres, Redis or Celery.

Targets (issue 5): at most 10 ms median overhead, at least 40 executions a second on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from shared.settings import SandboxSettings
from worker.sandbox import verdicts
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.runner import Sandbox, classify

TRIVIAL = "pass\n"
OVERHEAD_TARGET_MS = 10.0
THROUGHPUT_TARGET = 40.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bare_start(python: str) -> None:
    subprocess.run([python, "-I", "-S", "-c", "pass"], check=True)


async def sandboxed(sandbox: Sandbox, limits: SandboxLimits) -> None:
    """One trivial execution as the execute handler runs it (no tests, empty stdin)."""
    with sandbox.box(TRIVIAL) as box:
        outcome = await sandbox.run(box, "run", {}, limits)
    verdict = classify(outcome, limits)
    if verdict != verdicts.ACCEPTED:
        raise RuntimeError(f"trivial execution gave {verdict.status}: {outcome.stderr[-500:]}")


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def latency(sandbox: Sandbox, limits: SandboxLimits, rounds: int) -> dict[str, list[float]]:
    python = sandbox.python

    async def bare() -> None:
        bare_start(python)  # blocking on purpose: nothing else runs, no thread hop to time

    samples: dict[str, list[float]] = {"bare": [], "sandbox": []}
    for _ in range(rounds):
        samples["bare"].append(await timed(bare))
        samples["sandbox"].append(await timed(lambda: sandboxed(sandbox, limits)))
    return samples


async def rate(action: Callable[[], Awaitable[None]], total: int, concurrency: int) -> float:
    """Completions a second with `concurrency` runners sharing `total` actions."""
    remaining = iter(range(total))

    async def runner() -> None:
        for _ in remaining:
            await action()

    started = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def throughput(
    sandbox: Sandbox, limits: SandboxLimits, total: int, concurrency: int
) -> dict[str, float]:
    python = sandbox.python
    return {
        "bare": await rate(lambda: asyncio.to_thread(bare_start, python), total, concurrency),
        "sandbox": await rate(lambda: sandboxed(sandbox, limits), total, concurrency),
    }


def report(samples: dict[str, list[float]], rates: dict[str, float], concurrency: int) -> bool:
    labels = {"bare": "bare python -I -S -c pass", "sandbox": "sandboxed trivial execution"}
    print(f"\n{'latency (ms)':<30}{'median':>9}{'p90':>9}{'p99':>9}{'min':>9}")
    for key, label in labels.items():
        values = samples[key]
        print(
            f"{label:<30}{statistics.median(values):>9.2f}{percentile(values, 90):>9.2f}"
            f"{percentile(values, 99):>9.2f}{min(values):>9.2f}"
        )
    overhead = statistics.median(samples["sandbox"]) - statistics.median(samples["bare"])
    overhead_ok = overhead <= OVERHEAD_TARGET_MS
    rate_ok = rates["sandbox"] >= THROUGHPUT_TARGET
    print(
        f"{'overhead (median difference)':<30}{overhead:>9.2f}"
        f"   target <= {OVERHEAD_TARGET_MS:g} ms: {'met' if overhead_ok else 'MISSED'}"
    )
    print(f"\n{f'per second, {concurrency} concurrent':<30}{'runs/s':>9}")
    for key, label in labels.items():
        print(f"{label:<30}{rates[key]:>9.1f}")
    print(f"{'':<30}{'':>9}   target >= {THROUGHPUT_TARGET:g}/s: {'met' if rate_ok else 'MISSED'}")
    return overhead_ok and rate_ok


def cpu_pressure() -> str:
    """How much of the last 10 s runnable work waited for a CPU: others' load skews figures."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "cpu pressure unknown"
    return "cpu pressure " + line.split()[1].replace("avg10=", "avg10 ") + "%"


def describe(sandbox: Sandbox) -> None:
    bwrap = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    python = sandbox.python
    version = subprocess.run([python, "-V"], capture_output=True, text=True).stdout.strip()
    print(
        f"{platform.node()}: {os.cpu_count()} cores, kernel {platform.release()}; "
        f"{bwrap}; {python} ({version}); {cpu_pressure()}"
    )


async def main(arguments: argparse.Namespace) -> int:
    sandbox = Sandbox(SandboxSettings(allow_unsafe=False))
    await sandbox.ensure_available()  # refuses, as the worker would, where bwrap cannot isolate
    limits = SandboxLimits()  # the defaults an execution gets when it asks for none
    describe(sandbox)
    for _ in range(arguments.warmup):
        bare_start(sandbox.python)
        await sandboxed(sandbox, limits)
    samples = await latency(sandbox, limits, arguments.rounds)
    rates = await throughput(sandbox, limits, arguments.throughput, arguments.concurrency)
    report(samples, rates, arguments.concurrency)
    print(f"\nafterwards: {cpu_pressure()}")
    return 0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500, help="latency rounds (each: 1 + 1)")
    parser.add_argument("--throughput", type=int, default=600, help="runs per throughput phase")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
