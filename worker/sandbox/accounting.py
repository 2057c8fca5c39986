"""Time and memory of sandboxed code, from the host kernel's own accounting.

Nothing the sandbox says about itself is believed. bubblewrap runs the code under an init
process of its own (pid 1 of the sandbox's pid namespace) that reaps every process of the
tree, so the kernel adds each one's CPU time and peak memory to init's. The outer bwrap exits
as soon as the program does, without reaping init; the worker is a child subreaper while a
sandbox runs (`PR_SET_CHILD_SUBREAPER`), so init is reparented to it, and `wait4` on init's pid
(bwrap's `--info-fd` names it) returns the whole tree's rusage.

What it cannot count: a process still running when the program's main process exits is killed
with the namespace and never reaped, so its CPU time is lost (each such process is still bounded
by RLIMIT_CPU and the wall clock). A cgroup would count it; this host path keeps working without
one (docs/sandbox.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import signal
import threading
from typing import Any

PR_SET_CHILD_SUBREAPER = 36
INFO_CAP_BYTES = 4096
_INIT_GRACE_SECONDS = 2.0


class Subreaper:
    """This process is a child subreaper while any sandbox of it runs (a count, not a flag:
    sandboxes overlap), so orphans elsewhere in it (a test's processes) stay with init."""

    _lock = threading.Lock()
    _active = 0

    def __enter__(self) -> Subreaper:
        with Subreaper._lock:
            if Subreaper._active == 0:
                _prctl(PR_SET_CHILD_SUBREAPER, 1)
            Subreaper._active += 1
        return self

    def __exit__(self, *_: object) -> None:
        with Subreaper._lock:
            Subreaper._active -= 1
            if Subreaper._active == 0:
                _prctl(PR_SET_CHILD_SUBREAPER, 0)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _libc().prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def child_pid(info_fd: int) -> int | None:
    """The host pid of bwrap's init, from what bwrap wrote on `--info-fd` (None if it failed
    before starting one). Read once bwrap has exited: the bytes are in the pipe already."""
    os.set_blocking(info_fd, False)
    try:
        data = os.read(info_fd, INFO_CAP_BYTES)
    except BlockingIOError:
        return None
    try:
        pid = json.loads(data).get("child-pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1 else None


async def reap(pid: int) -> tuple[int, int, Any]:
    """wait4 (which returns the rusage) once a pidfd says the process exited: no thread hop
    per execution. Where pidfds are missing (Linux < 5.3), a thread blocks in wait4."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return await asyncio.to_thread(os.wait4, pid, 0)
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return os.wait4(pid, 0)  # noqa: ASYNC222 - the pidfd said it exited: this returns at once


async def reap_init(pid: int) -> Any | None:
    """The rusage of bwrap's init and everything it reaped; None where it is not our child
    (no subreaper: it went to the host's init). It dies with bwrap (--die-with-parent); if it
    lingers, it is killed."""
    try:  # WNOWAIT: look, never reap here (that would lose the rusage)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # noqa: ASYNC222
    except ChildProcessError:
        return None
    reaped = asyncio.ensure_future(reap(pid))
    done, _ = await asyncio.wait({reaped}, timeout=_INIT_GRACE_SECONDS)
    if not done:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    _, _, usage = await reaped
    return usage
