"""Start and stop the real Switchyard processes the tests talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crashed machine would."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    """The API, an LLM worker and beat, started as a user would start them."""

    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    _workers_started: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _process(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log", {**self.env, **(env or {})})
        self.processes[name] = process.start()
        return process

    def start_api(self) -> Process:
        return self._process(
            "api",
            [
                str(BIN / "uvicorn"),
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
        )

    def start_worker(
        self, queue: str = "llm", concurrency: int = 16, env: dict[str, str] | None = None
    ) -> Process:
        self._workers_started += 1
        name = f"worker-{queue}-{self._workers_started}"
        pool = ["--pool", "threads"] if queue == "llm" else ["--pool", "prefork"]
        return self._process(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "worker.app",
                "worker",
                "-Q",
                queue,
                *pool,
                "--concurrency",
                str(concurrency),
                "-n",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
                "-E",
            ],
            env,
        )

    def start_beat(self) -> Process:
        return self._process(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "worker.app",
                "beat",
                "-s",
                str(self.workdir / "beat-schedule"),
            ],
        )

    def worker(self, prefix: str = "worker-llm") -> Process:
        live = [
            p
            for n, p in self.processes.items()
            if n.startswith(prefix) and p.popen is not None and p.popen.poll() is None
        ]
        assert live, f"no live {prefix} process"
        return live[-1]

    def wait_ready(self, queues: tuple[str, ...] = ("llm",), timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for process in self.processes.values():
                if process.popen is not None and process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
            try:
                ready = httpx.get(f"{self.base_url}/ready", timeout=2).json()
                workers = ready["checks"].get("workers", {})
                if all(workers.get(q, 0) > 0 for q in queues):
                    return
                last = str(ready)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                last = repr(exc)
            time.sleep(0.2)
        logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes.values())
        raise RuntimeError(f"stack not ready: {last}\n{logs}")

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
