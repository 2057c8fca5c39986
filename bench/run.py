"""Switchyard's benchmarks: what it adds over calling a provider directly.

    make bench                               # everything
    .venv/bin/python -m bench --quick        # a short version
    .venv/bin/python -m bench ttft relay     # some of them (ttft, relay, submit, streams)
    .venv/bin/python -m bench --no-peer      # without the peer gateway (LiteLLM's proxy)

Starts what it needs (its own database and Redis db, a paced local upstream, the API, the
workers, and the peer gateway, installed into `.venv-peer` on first use), notes the machine's
load before and after, prints one table, stops everything (also on error or Ctrl-C), then runs
`bench/sandbox.py` if it exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import streams, submit, throughput, ttft
from bench.report import Row, render
from bench.stack import BenchStack, running_stack

Benchmark = Callable[[BenchStack, bool], Awaitable[list[Row]]]
BENCHMARKS: dict[str, Benchmark] = {
    "ttft": ttft.run,
    "relay": throughput.run,
    "submit": submit.run,
    "streams": streams.run,  # last: it leaves the API holding the memory it measured
}
SANDBOX = Path(__file__).resolve().parent / "sandbox.py"


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def run_all(names: list[str], quick: bool, with_peer: bool) -> list[Row]:
    rows: list[Row] = []
    with running_stack(with_peer=with_peer) as stack:
        print(f"stack up (logs in {stack.workdir})", flush=True)
        for name in names:
            started = time.monotonic()
            print(f"-- {name} ...", flush=True)
            rows += asyncio.run(BENCHMARKS[name](stack, quick))
            print(f"-- {name}: {time.monotonic() - started:.0f} s", flush=True)
    return rows


def run_sandbox(quick: bool) -> int:
    if not SANDBOX.exists():
        print("\nsandbox benchmark: bench/sandbox.py is missing (not run)")
        return 0
    print("\n-- sandbox (bench/sandbox.py)", flush=True)
    argv = [sys.executable, str(SANDBOX), *(["--quick"] if quick else [])]
    return subprocess.run(argv, cwd=SANDBOX.parents[1], timeout=900).returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Switchyard benchmarks")
    parser.add_argument("only", nargs="*", help=f"some of {', '.join(BENCHMARKS)}; default: all")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and samples")
    parser.add_argument("--no-sandbox", action="store_true", help="skip bench/sandbox.py")
    parser.add_argument("--no-peer", action="store_true", help="without LiteLLM's proxy")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    started = time.monotonic()
    print(machine(), flush=True)
    print(f"before: {load()}", flush=True)
    rows = run_all(names, args.quick, not args.no_peer)
    print(f"\n{render(rows)}\n")
    print(f"after: {load()}")
    print(f"({time.monotonic() - started:.0f} s; {' '.join(sys.argv)})")
    if not args.no_sandbox and not args.only:
        sys.exit(run_sandbox(args.quick))


if __name__ == "__main__":
    main()
