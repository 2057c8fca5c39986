"""Hostile programs, each contained with the right verdict, leaking nothing, leaving nothing."""

from __future__ import annotations

import os

import pytest

from tests.worker.sandbox.conftest import SECRET

SMALL = {
    "cpu_time_limit": 1,
    "wall_time_limit": 2,
    "memory_limit": 100_000,
    "max_processes_and_or_threads": 16,
    "max_file_size": 1_024,
    "max_output_size": 256,
}

ACCEPTED, WRONG, TLE, RE = "Accepted", "Wrong Answer", "Time Limit Exceeded", "Runtime Error (NZEC)"
MLE, OLE, XFSZ = "Memory Limit Exceeded", "Output Limit Exceeded", "Runtime Error (SIGXFSZ)"

BATTERY = {
    "connect to loopback": (
        RE,
        "import socket\nsocket.create_connection(('127.0.0.1', 5432), 1)\nprint('CONNECTED')",
    ),
    "connect outside": (
        RE,
        "import socket\nsocket.create_connection(('1.1.1.1', 443), 1)\nprint('CONNECTED')",
    ),
    "udp outside": (
        RE,
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.sendto(b'x', ('8.8.8.8', 53))\nprint('CONNECTED')",
    ),
    "dns lookup": (RE, "import socket\nprint('CONNECTED', socket.getaddrinfo('example.com', 80))"),
    "write into the code folder": (RE, "open('/box/code.py', 'w').write('owned')"),
    "write into /usr": (RE, "open('/usr/owned', 'w').write('x')"),
    "write at the root": (RE, "open('/owned', 'w').write('x')"),
    "write into /dev": (RE, "open('/dev/owned', 'w').write('x')"),
    "fill the scratch folder": (
        RE,
        "for i in range(200):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * 10**6)",
    ),
    "fill /dev/shm": (
        RE,
        "for i in range(200):\n    open(f'/dev/shm/f{i}', 'wb').write(b'x' * 10**6)",
    ),
    "read /etc/shadow": (RE, "print(open('/etc/shadow').read())"),
    "read the host's files": (RE, "print(open('/work/main/README.md').read())"),
    "environment secret": (ACCEPTED, "import os\nprint(dict(os.environ))"),
    "secret via /proc/1/environ": (ACCEPTED, "print(open('/proc/1/environ').read())"),
    "secret via every /proc/*/environ": (
        ACCEPTED,
        (
            "import os\nfor p in os.listdir('/proc'):\n"
            "    try: print(open(f'/proc/{p}/environ').read())\n"
            "    except Exception as e: print(p, e)"
        ),
    ),
    "secret via the worker's own pid": (
        RE,
        f"print(open('/proc/{os.getpid()}/environ').read())",
    ),
    "fork bomb": (RE, "import os\nwhile True:\n    os.fork()"),
    "fork bomb that swallows errors": (
        TLE,
        "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
    ),
    "memory hog at once": (MLE, "x = bytearray(2 * 10**9)"),
    "memory hog growing": (MLE, "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))"),
    "cpu loop": (TLE, "while True:\n    pass"),
    "cpu loop in many processes": (
        TLE,
        (
            "import os\nfor _ in range(8):\n    if os.fork() == 0:\n        while True: pass\n"
            "while True:\n    os.wait()"
        ),
    ),
    "sleep past the wall clock": (TLE, "import time\ntime.sleep(30)"),
    "huge output": (OLE, "while True:\n    print('x' * 1000)"),
    "huge file": (
        XFSZ,
        "with open('/tmp/big', 'wb') as f:\n    while True:\n        f.write(b'x' * 10**6)",
    ),
    "thousands of open files": (RE, "files = [open('/tmp/f%d' % i, 'w') for i in range(5000)]"),
    "threads past the cap": (
        RE,
        (
            "import threading, time\nfor _ in range(500):\n"
            "    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()"
        ),
    ),
    "signals to the parent": (
        ACCEPTED,
        (
            "import os, signal\nfor pid in (os.getppid(), 1, -1):\n"
            "    try: os.kill(pid, signal.SIGKILL)\n"
            "    except OSError as e: print(pid, e)"
        ),
    ),
    "escape the process group": (
        ACCEPTED,
        (
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
            "print('parent done')"
        ),
    ),
    "daemonised child left behind": (
        ACCEPTED,
        (
            "import os, time\nif os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n"
            "        time.sleep(60)\n    os._exit(0)\nprint('daemon started')"
        ),
    ),
    "symlinks planted for the host": (
        RE,
        (
            "import os\nos.symlink('/etc/shadow', '/tmp/result.json')\n"
            "os.symlink('/etc/passwd', '/box/f99.json')"
        ),
    ),
    "symlinks planted in the scratch folders": (
        ACCEPTED,
        (
            "import os\nfor target in ('/etc/shadow', '/proc/1/environ', '/box/code.py'):\n"
            "    for folder in ('/tmp', '/dev/shm'):\n"
            "        os.symlink(target, f'{folder}/{os.path.basename(target)}')\n"
            "os.symlink('/etc/passwd', '/tmp/result.json')\nprint('planted')"
        ),
    ),
    "text Postgres cannot store": (
        ACCEPTED,
        "import sys\nprint('nul \\0', flush=True)\nprint('nul', file=sys.stderr, end='\\0')\n"
        "sys.stdout.buffer.write(b'bad utf-8 \\xff\\xfe\\x00')",
    ),
    "become root": (RE, "import os\nos.setuid(0)"),
    "raise the process limit": (
        RE,
        ("import resource\nresource.setrlimit(resource.RLIMIT_NPROC, (100000, 100000))"),
    ),
    "mount a filesystem": (
        RE,
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "assert libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) == 0, "
        "os.strerror(ctypes.get_errno())",
    ),
}


@pytest.mark.parametrize("name", list(BATTERY))
async def test_hostile_program_is_contained(execute_code, name: str) -> None:  # type: ignore[no-untyped-def]
    expected, code = BATTERY[name]
    run = await execute_code(code, limits=SMALL)
    assert run.status == expected, (run.result["stdout"][-500:], run.result["stderr"][-800:])
    assert SECRET not in run.text
    assert "CONNECTED" not in run.result["stdout"]
    assert "root:" not in run.text  # no line of the host's /etc/shadow or /etc/passwd


async def test_the_code_sees_only_a_minimal_environment(execute_code) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import os\nprint(sorted(os.environ))\n"
        "print(sorted(v.split('=')[0] for v in open('/proc/1/environ').read().split('\\0') if v))"
    )
    run = await execute_code(code, limits=SMALL)
    names = ["HOME", "LANG", "PATH", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING"]
    assert run.result["stdout"] == f"{names}\n{['LANG', 'PATH']}\n"


async def test_code_larger_than_128_kib_runs(execute_code) -> None:  # type: ignore[no-untyped-def]
    code = "# padding\n" * 20_000 + "print('big program ran')\n"
    assert len(code.encode()) > 128 * 1024
    run = await execute_code(code, limits=SMALL)
    assert run.status == ACCEPTED and run.result["stdout"] == "big program ran\n"


async def test_the_worker_survives_and_keeps_running_code(execute_code) -> None:  # type: ignore[no-untyped-def]
    await execute_code("import os, signal\nos.kill(-1, signal.SIGKILL)", limits=SMALL)
    run = await execute_code("print(sum(range(10)))", limits=SMALL)
    assert run.status == ACCEPTED and run.result["stdout"] == "45\n"
