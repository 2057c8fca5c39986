"""The sandbox's self-test: can this host isolate code?

A sandbox worker runs it once at start (worker/app.py), before it takes a job: a trivial program
through the real sandbox (bubblewrap, the seccomp filter, the job uid) that must come back as its
uid and fail to create a user namespace. The result is inherited by the pool's processes,
published with the worker's heartbeat (so `/ready` says why a worker cannot isolate), and a
worker that failed it refuses execute jobs unless the unsafe development setting is on.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shared.logging import get_logger
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.seccomp import FilterUnavailable

if TYPE_CHECKING:
    from worker.sandbox.runner import Sandbox

log = get_logger(__name__)
PROGRAM = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
nested = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER: the filter must refuse it
print("uid", os.getuid(), "nested user namespace", nested)
"""
LIMITS = SandboxLimits(wall_time_limit=10, cpu_time_limit=5)
_started: ProbeResult | None = None


@dataclass(frozen=True)
class ProbeResult:
    isolated: bool
    detail: str  # "isolated", or why not
    checked_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_start() -> ProbeResult | None:
    """The probe this worker ran at start (None where none ran: a sandbox built in a test)."""
    return _started


def remember(result: ProbeResult) -> None:
    global _started
    _started = result


async def run(sandbox: Sandbox) -> ProbeResult:
    detail = await _failure(sandbox)
    result = ProbeResult(detail is None, detail or "isolated", checked_at=time.time())
    if result.isolated:
        log.info("sandbox.probe", detail=result.detail)
    else:
        log.warning("sandbox.probe_failed", detail=result.detail)
    return result


async def _failure(sandbox: Sandbox) -> str | None:
    """Why the sandbox cannot isolate, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        with sandbox.box(PROGRAM, isolated=True) as box:
            outcome = await sandbox.run(box, "run", {}, LIMITS)
            expected = f"uid {box.uid} nested user namespace False\n"
    except FilterUnavailable as exc:
        return f"no seccomp filter: {exc}"
    except OSError as exc:
        return f"cannot start bubblewrap: {exc}"
    if outcome.exit_code != 0 or outcome.signal is not None:
        return f"bubblewrap failed: {outcome.stderr.strip()[-300:] or f'exit {outcome.exit_code}'}"
    if outcome.stdout != expected:
        return f"the sandbox did not hold: {outcome.stdout.strip()[-300:]}"
    return None
