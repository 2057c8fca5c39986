"""What the benchmarks run against: their own database and Redis database, the paced upstream,
the API and the LLM workers, started as production starts them and always stopped at the end.

Isolation from the test suite (`switchyard_test`, Redis db 14) and a dev stack (`switchyard`,
db 0, :8000): database `switchyard_bench`, Redis db 13, free ports, traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import httpx
import redis

from bench import cpu, peer
from tests.support.processes import BIN, ROOT, Process, free_port

DATABASE = os.environ.get("SWITCHYARD_BENCH_DATABASE", "switchyard_bench")
REDIS_DB = int(os.environ.get("SWITCHYARD_BENCH_REDIS_DB", "13"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PG_DSN = "postgresql://postgres@127.0.0.1:5432"
USER, PASSWORD = "bench", "bench-password"
OPEN_FILES = 16_384


def raise_open_files(wanted: int = OPEN_FILES) -> int:
    """Raise RLIMIT_NOFILE for this process and every process it starts (inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def auth_header() -> dict[str, str]:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def ensure_services() -> None:
    """Start Postgres and Redis if stopped, the way scripts/lib.sh does for the tests."""
    script = f'source "{ROOT}/scripts/lib.sh"; ensure_postgres; ensure_redis'
    subprocess.run(["bash", "-c", script], check=True)


def recreate_database(env: dict[str, str]) -> None:
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{DATABASE}"'], check=True)
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def base_env(upstream_port: int) -> dict[str, str]:
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    return {
        **os.environ,
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-key",
        "DEV_MODE": "false",
        "LOG_JSON": "true",
        "BASIC_AUTH_USER": USER,
        "BASIC_AUTH_PW_HASH": password_hash,
        "JOB_RATE_LIMIT_PER_MINUTE": "10000000",
        "MOCK_TOKEN_DELAY_MS": "0",
        "DEFAULT_MODEL": "mock/echo",
        "OPENAI_API_KEY": "sk-bench-local",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "ANTHROPIC_API_KEY": "",
        "OPENROUTER_API_KEY": "",
        # Sizes each worker's database pool (2 workers x 2 x 16 + the API's 20 < 100).
        "LLM_WORKER_CONCURRENCY": "16",
    }


@dataclass
class BenchStack:
    workdir: Path
    workers: int = 2
    worker_threads: int = 260
    upstream_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    with_peer: bool = True
    processes: dict[str, Process] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> BenchStack:
        self.env = base_env(self.upstream_port)
        ensure_services()
        recreate_database(self.env)
        redis.Redis.from_url(REDIS_URL).flushdb()
        self._start(
            "upstream", [sys.executable, "-m", "bench.upstream", "--port", str(self.upstream_port)]
        )
        self._start(
            "api",
            [
                str(BIN / "uvicorn"),
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--no-access-log",
                "--backlog",
                "4096",
            ],
        )
        for index in range(self.workers):
            self.start_worker(f"llm{index}", "worker.app", "llm")
        if self.with_peer:
            argv = peer.argv(self.workdir, self.peer_port, self.upstream_port)
            self._start("peer", argv, env=peer.environment(self.env))
        self.wait_ready()
        if self.with_peer:
            peer.wait_ready(self.peer_port)
        return self

    def switchyard_pids(self) -> list[int]:
        return [p.pid for name, p in self.processes.items() if name == "api" or "llm" in name]

    def worker_pids(self) -> list[int]:
        return [p.pid for name, p in self.processes.items() if name.startswith("llm")]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far: Switchyard's processes, its workers alone, the peer, the stores."""
        figures = {
            "switchyard": cpu.group_seconds(self.switchyard_pids()),
            "workers": cpu.group_seconds(self.worker_pids()),
            "stores": cpu.named_seconds(cpu.STORES),
        }
        if "peer" in self.processes:
            figures["peer"] = cpu.group_seconds([self.processes["peer"].pid])
        return figures

    def start_worker(self, name: str, app: str, queue: str) -> Process:
        return self._start(
            name,
            [
                str(BIN / "celery"),
                "-A",
                app,
                "worker",
                "-Q",
                queue,
                "--pool",
                "threads",
                "--concurrency",
                str(self.worker_threads),
                "-n",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
                "-E",
            ],
        )

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log", env or self.env)
        self.processes[name] = process.start()
        return process

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.stop()

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for process in self.processes.values():
                if process.popen is not None and process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
            try:
                ready = httpx.get(f"http://127.0.0.1:{self.api_port}/ready", timeout=2).json()
                if ready["checks"]["workers"].get("llm", 0) >= self.workers:
                    return
                last = str(ready)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise RuntimeError(f"bench stack not ready: {last}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes.values())

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)


@contextlib.contextmanager
def running_stack(workers: int = 2, with_peer: bool = True) -> Iterator[BenchStack]:
    """The whole stack for one benchmark run; stopped on exit, error or Ctrl-C."""
    raise_open_files()
    if with_peer:
        peer.install()
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    stack = BenchStack(workdir, workers=workers, with_peer=with_peer)
    try:
        yield stack.start()
    finally:
        stack.stop()
