"""Running one sandboxed process under bubblewrap, and watching it from the host.

The traps DESIGN.md lists, and what answers each here:
- bwrap keeps the environment it was started with (readable at /proc/1/environ inside): it is
  started with a minimal environment, and `--clearenv` sets the child's.
- RLIMIT_NPROC is ignored for root: bwrap is started as the job's unprivileged host uid (one
  per job, from the `SANDBOX_UID` range, dropped to by setpriv), so the process cap (set by the
  harness) holds and a fork bomb is bounded.
- Outside Docker there is no syscall filter: bwrap applies the sandbox's own (`--seccomp`,
  worker/sandbox/seccomp.py) on every host.
- RLIMIT_CPU is per process: the process cap bounds how many can spin, and the wall clock kills
  the whole tree (pid namespace + --die-with-parent) regardless.
- `-c` fails past ~128 KiB: the code is a file in a read-only bind; results come back on a pipe.
- A version manager's shim costs ~100 ms a start: the interpreter is an absolute system path.
- The host never follows a path the code could plant: its box folder is bound read-only, the
  only writable places are size-capped tmpfs mounts (/tmp, /dev/shm) that vanish with the
  sandbox (bwrap's own /dev tmpfs is uncapped, so it is remounted read-only), commands are
  argument lists.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.settings import SandboxSettings
from shared.storable import storable_text
from worker.sandbox import accounting
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.pipes import (
    INFO_FD_PLACEHOLDER,
    RESULT_CAP_BYTES,
    SECCOMP_FD_PLACEHOLDER,
    RunPipes,
    collect,
)

OutputCallback = Callable[[str, str], Awaitable[None]]
MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
# POSIX semaphores (multiprocessing's locks) need a writable /dev/shm; it gets its own small
# tmpfs, because bwrap's /dev is an uncapped tmpfs (half the host's RAM) and is made read-only.
SHM_SIZE_BYTES = 16 * 1024 * 1024
_READ_SIZE = 65536


@dataclass
class ProcessOutcome:
    exit_code: int | None = None
    signal: int | None = None
    cpu_time: float = 0.0
    wall_time: float = 0.0
    memory_kb: int = 0
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    output_exceeded: bool = False
    result: bytes = b""


def find_python(configured: str) -> str:
    """An absolute interpreter under /usr (bound into the sandbox), never a shim."""
    candidates = [configured] if configured else ["/usr/bin/python3", "/usr/local/bin/python3"]
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real.startswith("/usr/") and os.access(real, os.X_OK):
            return real
    raise FileNotFoundError(f"no Python interpreter under /usr among {candidates}")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def command(
    box: Path, inner: list[str], limits: SandboxLimits, settings: SandboxSettings, uid: int
) -> list[str]:
    """bwrap's argument list around `inner` (the interpreter and the harness's arguments)."""
    network = ["--share-net"] if limits.enable_network and settings.enable_network else []
    return [
        shutil.which("bwrap") or "/usr/bin/bwrap",
        "--unshare-all",
        *network,
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--seccomp",
        SECCOMP_FD_PLACEHOLDER,
        "--info-fd",
        INFO_FD_PLACEHOLDER,
        "--uid",
        str(uid),
        "--gid",
        str(uid),
        "--hostname",
        "sandbox",
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(SHM_SIZE_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--size",
        str(settings.tmpfs_size_mb * 1024 * 1024),
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        str(box),
        "/box",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONIOENCODING",
        "utf-8",
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--",
        *inner,
    ]


@dataclass
class _Output:
    limit: int
    on_output: OutputCallback | None
    used: int = 0
    exceeded: asyncio.Event = field(default_factory=asyncio.Event)
    text: dict[str, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": []})

    async def read(self, stream: str, pipe: asyncio.StreamReader) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := await pipe.read(_READ_SIZE):
            room = self.limit - self.used
            self.used += len(chunk)
            text = storable_text(decoder.decode(chunk[: max(room, 0)]))
            if text:
                self.text[stream].append(text)
                if self.on_output is not None:
                    await self.on_output(stream, text)
            if self.used > self.limit:
                self.exceeded.set()
                return
        tail = storable_text(decoder.decode(b"", final=True))
        if tail:
            self.text[stream].append(tail)


async def _reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=RESULT_CAP_BYTES)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def as_user(uid: int | None) -> list[str]:
    """A prefix that drops to `uid` (no supplementary groups) before bwrap starts.

    Not Popen's user=/group=: those make CPython fork() instead of vfork(), and copying the
    worker's page tables costs ~1 ms per 30 MB it holds (6-16 ms measured for a 200 MB
    process), on every execution. setpriv (util-linux) costs ~1 ms, whatever the worker's size.
    """
    if uid is None or uid == os.geteuid():
        return []
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _spawn(argv: list[str], out_w: int, err_w: int, passed: list[int]) -> subprocess.Popen[bytes]:
    # Popen, not asyncio's subprocess: asyncio's child watcher would reap the process and
    # lose its rusage (CPU time, peak memory), which run_process collects with wait4.
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=out_w,
        stderr=err_w,
        pass_fds=tuple(passed),
        env=MINIMAL_ENV,
        process_group=0,  # its own group, so the wall clock kills everything it started
        close_fds=True,
    )


async def run_process(
    argv: list[str],
    limits: SandboxLimits,
    uid: int | None,
    on_output: OutputCallback | None = None,
) -> ProcessOutcome:
    """Run `argv` (a bwrap command) as `uid`; kill its tree on the wall clock, on too much
    output, or when cancelled. Time and memory come from the kernel (worker/sandbox/accounting)."""
    pipes = RunPipes.open(argv)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    with accounting.Subreaper():
        try:
            process = _spawn(as_user(uid) + pipes.argv, out_w, err_w, pipes.passed)
            spawner_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        except BaseException:
            for fd in (out_r, err_r, pipes.result, pipes.info):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
            pipes.close_passed()
        output = _Output(limit=limits.max_output_size * 1024, on_output=on_output)
        readers = [
            asyncio.ensure_future(output.read("stdout", await _reader(out_r))),
            asyncio.ensure_future(output.read("stderr", await _reader(err_r))),
        ]
        result = None
        if pipes.result is not None:
            result = asyncio.ensure_future(collect(await _reader(pipes.result)))
        outcome = ProcessOutcome()
        try:
            status, usage = await _run(process, output, limits, outcome)
        finally:  # cancelled too: bwrap's init is ours to reap, or it stays a zombie
            init_usage = await asyncio.shield(_init_usage(pipes.info))
    outcome.wall_time = round(time.monotonic() - started, 4)
    for task in readers:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
    if result is not None:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            outcome.result = await asyncio.wait_for(result, 2)
    _settle_status(outcome, status, output)
    _settle_usage(outcome, init_usage or usage, spawner_kb if init_usage is None else 0)
    return outcome


async def _run(
    process: subprocess.Popen[bytes],
    output: _Output,
    limits: SandboxLimits,
    outcome: ProcessOutcome,
) -> tuple[int, Any]:
    """Wait for the process (killing its tree on a limit or a cancel); its status and rusage."""
    reaped = asyncio.ensure_future(accounting.reap(process.pid))
    try:
        outcome.timed_out, outcome.output_exceeded = await _watch(
            reaped, output.exceeded, limits.wall_time_limit, process.pid
        )
        _, status, usage = await reaped
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    finally:
        if not reaped.done():
            _kill(process.pid)
            await asyncio.shield(reaped)
            process.returncode = -9
    return status, usage


async def _init_usage(info_fd: int | None) -> Any | None:
    if info_fd is None:
        return None
    try:
        pid = accounting.child_pid(info_fd)
    finally:
        os.close(info_fd)
    return await accounting.reap_init(pid) if pid is not None else None


async def _watch(
    reaped: asyncio.Future[Any], too_much: asyncio.Event, wall: float, pid: int
) -> tuple[bool, bool]:
    """Wait for the exit, the wall clock or the output cap; kill the tree on the last two."""
    capped = asyncio.ensure_future(too_much.wait())
    try:
        done, _ = await asyncio.wait(
            {reaped, capped}, timeout=wall, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        capped.cancel()
    if reaped in done:
        return False, False
    _kill(pid)
    return capped not in done, capped in done


def _settle_status(outcome: ProcessOutcome, status: int, output: _Output) -> None:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        outcome.signal = -code
    elif code > 128 and code - 128 < 65:  # bwrap reports a child killed by signal N as 128+N
        outcome.signal = code - 128
    else:
        outcome.exit_code = code
    outcome.stdout = "".join(output.text["stdout"])
    outcome.stderr = "".join(output.text["stderr"])


def _settle_usage(outcome: ProcessOutcome, usage: Any, spawner_kb: int) -> None:
    """CPU seconds and peak KB from a wait4 rusage. Without bwrap's init (unsafe mode), the
    process is a vfork child of the worker and inherits its peak RSS at exec: its own peak
    means something only above the worker's (`spawner_kb`), else it is 0."""
    outcome.cpu_time = round(usage.ru_utime + usage.ru_stime, 4)
    peak = int(usage.ru_maxrss)
    outcome.memory_kb = peak if peak > spawner_kb else 0
