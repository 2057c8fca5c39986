"""The sandbox sealed without Docker: the seccomp filter bubblewrap applies, one uid per job,
private boxes, the host's own accounting, and the sandbox's report as untrusted input. Every
program runs through the real sandbox (bwrap, the filter, setpriv, the harness)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import json
import os
import platform
import stat
import uuid
from pathlib import Path

import pytest

from shared.errors import SandboxUnavailable
from shared.schemas.execute import CallTest
from shared.settings import SandboxSettings
from tests.worker.sandbox.conftest import (
    SANDBOX_UID,
    SANDBOX_UIDS,
    eventually,
    sandbox_processes,
)
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.runner import Sandbox
from worker.sandbox.testcases import read_report, run_test

SMALL = {
    "cpu_time_limit": 2,
    "wall_time_limit": 4,
    "memory_limit": 256_000,
    "max_processes_and_or_threads": 16,
    "max_output_size": 256,
}
# System call numbers (the harness's interpreter has no seccomp binding to name them).
NUMBERS = {
    "x86_64": {
        "ptrace": 101,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "unshare": 272,
        "setns": 308,
        "clone": 56,
        "clone3": 435,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "perf_event_open": 298,
        "bpf": 321,
        "mount": 165,
        "userfaultfd": 323,
    },
    "aarch64": {
        "ptrace": 117,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "unshare": 97,
        "setns": 268,
        "clone": 220,
        "clone3": 435,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "perf_event_open": 241,
        "bpf": 280,
        "mount": 40,
        "userfaultfd": 282,
    },
}[platform.machine()]
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17

# Each program makes one system call the filter must refuse; it prints the errno it got.
REFUSED = {
    "add a key to a keyring": f"syscall({NUMBERS['add_key']}, b'user', b'k', b'v', 1, -3)",
    "read the session keyring": f"syscall({NUMBERS['keyctl']}, 0, -3, 0)",
    "request a key": f"syscall({NUMBERS['request_key']}, b'user', b'k', None, -3)",
    "nested user namespace": f"unshare({CLONE_NEWUSER})",
    "nested user and mount namespace": f"unshare({CLONE_NEWUSER | CLONE_NEWNS})",
    "clone a new user namespace": (
        f"syscall({NUMBERS['clone']}, {CLONE_NEWUSER | SIGCHLD}, 0, 0, 0, 0)"
    ),
    "join a namespace": f"syscall({NUMBERS['setns']}, 0, 0)",
    "mount a tmpfs": "mount(b'none', b'/tmp', b'tmpfs', 0, None)",
    "ptrace the sandbox's init": "ptrace(16, 1, 0, 0)",  # PTRACE_ATTACH
    "ptrace itself": "ptrace(0, 0, 0, 0)",  # PTRACE_TRACEME
    "io_uring_setup": f"syscall({NUMBERS['io_uring_setup']}, 8, ctypes.create_string_buffer(120))",
    "io_uring_enter": f"syscall({NUMBERS['io_uring_enter']}, 0, 0, 0, 0, 0, 0)",
    "perf_event_open": (
        f"syscall({NUMBERS['perf_event_open']}, ctypes.create_string_buffer(128), 0, -1, -1, 0)"
    ),
    "bpf": f"syscall({NUMBERS['bpf']}, 0, ctypes.create_string_buffer(128), 128)",
    "userfaultfd": f"syscall({NUMBERS['userfaultfd']}, 0)",
    "a virtual machine socket": "socket(40, 1, 0)",  # AF_VSOCK, SOCK_STREAM
}


def _calling(expression: str) -> str:
    return (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"result = libc.{expression}\n"
        "print('result', result, 'errno', ctypes.get_errno())\n"
    )


@pytest.mark.parametrize("name", list(REFUSED))
async def test_the_filter_refuses(execute_code, name: str) -> None:  # type: ignore[no-untyped-def]
    run = await execute_code(_calling(REFUSED[name]), limits=SMALL)
    assert run.status == "Accepted", run.result["stderr"][-500:]
    assert run.result["stdout"] == f"result -1 errno {errno.EPERM}\n"


async def test_clone3_says_enosys_so_libc_falls_back_to_clone(execute_code) -> None:  # type: ignore[no-untyped-def]
    run = await execute_code(_calling(f"syscall({NUMBERS['clone3']}, 0, 0)"), limits=SMALL)
    assert run.result["stdout"] == f"result -1 errno {errno.ENOSYS}\n"


NORMAL_PYTHON = """
import asyncio, multiprocessing, subprocess, sys, threading

def square(n):
    return n * n

if __name__ == "__main__":
    seen = []
    threads = [threading.Thread(target=seen.append, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("threads", sorted(seen))
    print("subprocess", subprocess.run([sys.executable, "-c", "print(6 * 7)"],
          capture_output=True, text=True).stdout.strip())
    print("shell", subprocess.run("echo $((2 + 3))", shell=True, capture_output=True,
          text=True).stdout.strip())
    with multiprocessing.Pool(2) as pool:
        print("pool", pool.map(square, range(5)))
    async def main():
        process = await asyncio.create_subprocess_exec("/bin/echo", "async",
                                                       stdout=asyncio.subprocess.PIPE)
        return (await process.communicate())[0].decode().strip()
    print("asyncio", asyncio.run(main()))
"""


async def test_normal_python_still_works_under_the_filter(execute_code) -> None:  # type: ignore[no-untyped-def]
    run = await execute_code(NORMAL_PYTHON, limits=SMALL)
    assert run.status == "Accepted", run.result["stderr"][-1500:]
    assert run.result["stdout"] == (
        "threads [0, 1, 2, 3]\nsubprocess 42\nshell 5\npool [0, 1, 4, 9, 16]\nasyncio async\n"
    )


def _plant_host_key(description: str) -> int:
    """A key in this (host) process's session keyring that everyone may view and read."""
    libc = ctypes.CDLL(None, use_errno=True)
    key = libc.syscall(NUMBERS["add_key"], b"user", description.encode(), b"host-secret", 11, -3)
    if key < 0:
        pytest.skip(f"cannot add a key on this host: {os.strerror(ctypes.get_errno())}")
    libc.syscall(NUMBERS["keyctl"], 5, key, 0x3F3F3F3F)  # KEYCTL_SETPERM: all, for all
    return int(key)


async def test_concurrent_jobs_have_their_own_uid_and_see_no_keys(execute_code) -> None:  # type: ignore[no-untyped-def]
    planted = f"switchyard-planted-{uuid.uuid4().hex}"
    key = _plant_host_key(planted)
    job_a = (
        "import ctypes, os, time\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"key = libc.syscall({NUMBERS['add_key']}, b'user', b'job-a-key', b'a-secret', 8, -3)\n"
        "print('uid', os.getuid(), 'add_key', key, ctypes.get_errno(), flush=True)\n"
        "time.sleep(1.5)\n"
    )
    job_b = (
        "import os, time\ntime.sleep(0.5)\n"
        "print('uid', os.getuid())\nprint(open('/proc/keys').read())\n"
        "print(open('/proc/key-users').read())\n"
    )
    try:
        a, b = await asyncio.gather(
            execute_code(job_a, limits=SMALL), execute_code(job_b, limits=SMALL)
        )
    finally:
        ctypes.CDLL(None).syscall(NUMBERS["keyctl"], 3, key)  # KEYCTL_REVOKE
    uid_a = int(a.result["stdout"].split()[1])
    uid_b = int(b.result["stdout"].split()[1])
    assert uid_a != uid_b and {uid_a, uid_b} <= set(SANDBOX_UIDS)
    assert a.result["stdout"].split()[2:] == ["add_key", "-1", str(errno.EPERM)]
    assert "job-a-key" not in b.text and planted not in b.text and "host-secret" not in b.text


async def test_boxes_are_private_to_their_job() -> None:
    sandbox = Sandbox(SandboxSettings(uid=SANDBOX_UID, uid_count=len(SANDBOX_UIDS)))
    with sandbox.box("print(1)") as first, sandbox.box("print(2)") as second:
        assert first.uid != second.uid
        for box in (first, second):
            folder = box.path.stat()
            assert (stat.S_IMODE(folder.st_mode), folder.st_uid) == (0o700, box.uid)
            box.add("stdin", ".in")
            for file in box.path.iterdir():
                assert (stat.S_IMODE(file.stat().st_mode), file.stat().st_uid) == (0o400, box.uid)
    assert not first.path.exists() and not second.path.exists()


async def test_time_and_memory_are_the_hosts_accounting(execute_code) -> None:  # type: ignore[no-untyped-def]
    # CPU in a child process and 80 MB in the parent; the program also tries to forge a report
    # on every descriptor it has, and a plain run has no result pipe to find.
    code = (
        "import os, time\nprint(sorted(os.listdir('/proc/self/fd')), flush=True)\n"
        "for fd in range(3, 64):\n"
        '    try: os.write(fd, b\'{"usage": {"cpu": Infinity, "maxrss": "x"}}\\n\')\n'
        "    except OSError: pass\n"
        "block = bytearray(80 * 10**6)\n"
        "if os.fork() == 0:\n"
        "    start = time.process_time()\n"
        "    while time.process_time() - start < 0.5: pass\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    )
    run = await execute_code(code, limits=SMALL)
    assert run.status == "Accepted", run.result["stderr"][-500:]
    assert run.result["stdout"] == "['0', '1', '2', '3']\n"  # 3: listdir's own
    assert 0.5 <= run.result["time"] < 2
    assert 80_000 <= run.result["memory"] < 256_000


FORGED = {
    "not json": b"this is not json\n",
    "non-numeric usage": b'{"usage": {"cpu": "lots", "maxrss": "x"}}\n',
    "infinity": b'{"value": Infinity}\n',
    "nan and an overflowing float": b'{"value": [NaN, 1e999, -Infinity]}\n',
    "a huge report": b'{"value": "' + b"x" * (2 << 20) + b'"}\n',
    "deep nesting": b'{"value": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
    "wrong field types": b'{"error": 12, "status": "200"}\n',
    "invalid utf-8": b'{"value": "\xff\xfe"}\n',
    "many lines": b'{"value": 1}\n{"value": 2}\n',
}
FORGER = (
    "import os\ndef answer():\n"
    "    for fd in range(3, 64):\n"
    "        try:\n"
    "            if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
    "                os.write(fd, open('/box/' + sorted(n for n in os.listdir('/box') "
    "if n.endswith('.forged'))[0], 'rb').read())\n"
    "        except OSError: pass\n"
    "    os._exit(0)\n"
)


@pytest.mark.parametrize("name", list(FORGED))
async def test_a_forged_report_is_the_programs_failure(name: str, tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxSettings(uid=SANDBOX_UID, uid_count=len(SANDBOX_UIDS)))
    with sandbox.box(FORGER) as box:
        box.write("x.forged", FORGED[name])
        test = CallTest.model_validate({"call": {"function": "answer"}, "expected": 2})
        verdict = await run_test(sandbox, box, 0, test, SandboxLimits(wall_time_limit=5))
    status = verdict.verdict.status
    if name in ("infinity", "nan and an overflowing float"):
        assert status == "Wrong Answer"  # parsed, its non-finite numbers kept as text
        assert json.dumps(verdict.details["actual"], allow_nan=False)
    else:
        assert status == "Runtime Error (Other)", verdict.details
        assert "report was malformed" in verdict.details["error"]
    json.dumps(verdict.model_dump(mode="json"), allow_nan=False)  # storable: finite, bounded
    assert verdict.time is not None and verdict.time < 5


def test_reports_are_validated() -> None:
    assert read_report(b'{"value": [1, 2.5, "x"]}\n').outcome == {"value": [1, 2.5, "x"]}
    assert read_report(b'{"value": 1e999}\n').outcome == {"value": "1e999"}
    assert read_report(b'{"status": true}\n').malformed
    assert read_report(b'["value"]\n').malformed
    assert read_report(b"").outcome is None and read_report(b"").malformed is None


async def test_a_worker_that_cannot_isolate_refuses_with_the_reason() -> None:
    settings = SandboxSettings(uid=SANDBOX_UID, uid_count=1, python="/usr/bin/false")
    sandbox = Sandbox(settings)
    with pytest.raises(SandboxUnavailable, match=r"cannot isolate code .*bubblewrap failed"):
        await sandbox.ensure_available()
    assert sandbox.probed is not None and not sandbox.probed.isolated


def _our_sandbox_zombies() -> list[str]:
    """Exited sandbox processes (bwrap's init above all) left unreaped as children of this
    process, which is their subreaper while a sandbox runs."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        uid = int(fields.get("Uid", "0").split()[0])
        if (
            fields.get("State", "").startswith("Z")
            and fields.get("PPid", "").strip() == str(os.getpid())
            and uid in SANDBOX_UIDS
        ):
            found.append(entry.name)
    return found


async def test_runs_finished_or_cancelled_leave_no_zombie(execute_code) -> None:  # type: ignore[no-untyped-def]
    await execute_code("print('done')", limits=SMALL)
    task = asyncio.ensure_future(
        execute_code("import time\nprint('started', flush=True)\ntime.sleep(30)", limits=SMALL)
    )
    assert await eventually(lambda: bool(sandbox_processes()), 5)
    await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.3)  # a zombie never goes away on its own: waiting only makes it show
    assert _our_sandbox_zombies() == []
