"""deploy/seccomp-bwrap.json lets the sandbox worker run code under bubblewrap, and still refuses
what it must. A child process loads the profile with libseccomp, as Docker would, then runs a
trivial execution through the real Sandbox (setpriv, bwrap, the harness, the worker's own
event loop), all under the filter."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker.sandbox.conftest import SANDBOX_UID

ROOT = Path(__file__).resolve().parents[3]
PROFILE = ROOT / "deploy" / "seccomp-bwrap.json"
LIBSECCOMP = ctypes.util.find_library("seccomp")
NEVER = (
    "kexec_load",
    "kexec_file_load",
    "ptrace",
    "process_vm_readv",
    "init_module",
    "finit_module",
    "bpf",
    "reboot",
    "keyctl",
    "perf_event_open",
    "userfaultfd",
    "open_by_handle_at",
)

# Runs in the child: load the profile (default action: errno; allowlist), then use it.
CHILD = r"""
import asyncio, ctypes, errno, json, os, sys

SCMP_ACT_ALLOW = 0x7FFF0000
library, profile_path, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
seccomp = ctypes.CDLL(library, use_errno=True)
seccomp.seccomp_init.restype = ctypes.c_void_p
seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
seccomp.seccomp_load.argtypes = [ctypes.c_void_p]

profile = json.load(open(profile_path))
assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
context = seccomp.seccomp_init(0x00050000 | profile["defaultErrnoRet"])  # SCMP_ACT_ERRNO(n)
for rule in profile["syscalls"]:
    assert rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
    for name in rule["names"]:
        number = seccomp.seccomp_syscall_resolve_name(name.encode())
        if number >= 0:  # negative: not a system call on this architecture
            assert seccomp.seccomp_rule_add(context, SCMP_ACT_ALLOW, number, 0) == 0, name
assert seccomp.seccomp_load(context) == 0

# Refused: PTRACE_PEEKDATA on pid 1 fails with ESRCH unfiltered (not our tracee), EPERM here.
libc = ctypes.CDLL(None, use_errno=True)
ptrace = seccomp.seccomp_syscall_resolve_name(b"ptrace")
refused = libc.syscall(ptrace, 2, 1, 0, 0) == -1 and ctypes.get_errno() == errno.EPERM

from shared.settings import SandboxSettings
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.runner import Sandbox, classify

async def execute():
    sandbox = Sandbox(SandboxSettings(uid=uid, uid_count=1, allow_unsafe=False))
    await sandbox.ensure_available()  # raises if bwrap cannot isolate under this profile
    limits = SandboxLimits(wall_time_limit=10)
    with sandbox.box("import os\nprint('ran as', os.getuid())") as box:
        outcome = await sandbox.run(box, "run", {}, limits)
    return classify(outcome, limits).status, outcome.stdout, outcome.stderr

status, stdout, stderr = asyncio.run(execute())
print(json.dumps({"ptrace_refused": refused, "status": status, "stdout": stdout, "stderr": stderr}))
"""


def test_the_profile_never_allows_the_dangerous_calls() -> None:
    profile = json.loads(PROFILE.read_text())
    allowed = {name for rule in profile["syscalls"] for name in rule["names"]}
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert {rule["action"] for rule in profile["syscalls"]} == {"SCMP_ACT_ALLOW"}
    assert allowed >= {"clone", "unshare", "mount", "pivot_root", "setresuid", "pidfd_open"}
    assert not allowed & set(NEVER)


@pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp is not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="loads a filter, then switches uid: needs root")
def test_bubblewrap_runs_code_under_the_profile() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(LIBSECCOMP), str(PROFILE), str(SANDBOX_UID)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    seen = json.loads(child.stdout.splitlines()[-1])
    assert seen["ptrace_refused"] is True
    assert (seen["status"], seen["stdout"]) == ("Accepted", f"ran as {SANDBOX_UID}\n"), seen
