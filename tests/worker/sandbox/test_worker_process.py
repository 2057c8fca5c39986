"""The hardened sandbox through the API and real sandbox worker processes: forged reports end as
the program's own verdict in one attempt (no failed write, no reaper loop), time and memory come
from the host's accounting inside a prefork worker, and a worker that cannot isolate is not
ready, says why, and refuses execute jobs."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from shared import keys
from tests.support.clients import read_sse
from tests.support.processes import Stack

FORGE_EVERY_PIPE = (
    "import os\n"
    "def answer():\n"
    "    for fd in range(3, 64):\n"
    "        try: os.write(fd, {line!r})\n"
    "        except OSError: pass\n"
    "    os._exit(0)\n"
)


async def _finished(client: httpx.AsyncClient, body: dict) -> dict:
    response = await client.post("/api/executions", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    await read_sse(client, job["events_url"])
    return (await client.get(f"/api/jobs/{job['id']}")).json()


async def test_a_plain_run_cannot_forge_its_usage(client: httpx.AsyncClient) -> None:
    code = (
        "import os, time\n"
        "for fd in range(3, 64):\n"
        '    try: os.write(fd, b\'{"usage": {"cpu": Infinity, "maxrss": "lots"}}\\n\')\n'
        "    except OSError: pass\n"
        "block = bytearray(60 * 10**6)\n"
        "start = time.process_time()\n"
        "while time.process_time() - start < 0.3: pass\n"
        "print(sorted(os.listdir('/proc/self/fd')))\n"
    )
    job = await _finished(client, {"code": code})
    assert (job["status"], job["attempt"]) == ("succeeded", 1), job
    result = job["result"]
    assert result["verdict"]["status"] == "Accepted"
    assert result["stdout"] == "['0', '1', '2', '3']\n"  # no result pipe: 3 is listdir's own
    assert 0.3 <= result["time"] < 5 and 60_000 <= result["memory"] < 200_000


async def test_forged_reports_are_the_programs_failure(client: httpx.AsyncClient) -> None:
    forged = {
        b'{"usage": {"cpu": "x", "maxrss": "y"}}\n': "Runtime Error (Other)",
        b'{"value": Infinity}\n': "Wrong Answer",
        b'{"value": 1e999, "status": "x"}\n': "Runtime Error (Other)",
        b"not json at all\n": "Runtime Error (Other)",
    }
    for line, verdict in forged.items():
        test = {"call": {"function": "answer"}, "expected": 2}
        job = await _finished(client, {"code": FORGE_EVERY_PIPE.format(line=line), "tests": [test]})
        assert (job["status"], job["attempt"]) == ("succeeded", 1), (line, job)
        assert job["result"]["tests"][0]["verdict"]["status"] == verdict, (line, job)
        assert job["result"]["tests"][0]["memory"] > 0  # the host's accounting, in the worker


async def _ready(stack: Stack) -> dict:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        response = await http.get("/ready")
    return {"code": response.status_code, **response.json()}


async def _until(stack: Stack, check, seconds: float = 40) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        ready = await _ready(stack)
        if check(ready) or time.monotonic() > deadline:
            return ready
        await asyncio.sleep(0.3)


async def test_a_worker_that_cannot_isolate_is_not_ready_and_refuses(
    stack: Stack,
    client: httpx.AsyncClient,
    redis_db,  # type: ignore[no-untyped-def]
) -> None:
    killed = {"isolated": True, "detail": "isolated", "checked_at": 0, "unsafe": False, "seen": 0}
    redis_db.hset(keys.sandbox_probes(), "killed-long-ago@host", json.dumps(killed))
    for healthy in [n for n in stack.processes if n.startswith("worker-sandbox")]:
        stack.processes.pop(healthy).stop()  # stopped on purpose: not a crash for wait_ready
    broken = stack.start_worker("sandbox", concurrency=1, env={"SANDBOX_PYTHON": "/usr/bin/false"})
    name = f"{broken.name}@"
    try:
        ready = await _until(
            stack, lambda r: any(h.startswith(name) for h in r["checks"].get("sandbox", {}))
        )
        reason = next(v for h, v in ready["checks"]["sandbox"].items() if h.startswith(name))
        assert reason.startswith("cannot isolate: bubblewrap failed"), ready
        assert ready["code"] == 503 and ready["checks"]["workers"]["sandbox"] == 0, ready
        hostnames = [h.decode() for h in redis_db.zrange(keys.workers("sandbox"), 0, -1)]
        assert not any(h.startswith(name) for h in hostnames)
        assert "killed-long-ago@host" not in ready["checks"]["sandbox"]
        deadline = time.monotonic() + 12  # pruned by the next heartbeat (every 5 s) at most
        while redis_db.hget(keys.sandbox_probes(), "killed-long-ago@host") is not None:
            assert time.monotonic() < deadline, "a dead worker's probe was never pruned"
            await asyncio.sleep(0.2)

        job = await _finished(client, {"code": "print('never runs')"})
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "sandbox_unavailable"
        assert "cannot isolate code (bubblewrap failed" in job["error"]["message"]
    finally:
        stack.processes.pop(broken.name).stop()
        stack.start_worker("sandbox", concurrency=2)
    # Not stack.wait_ready: workers other tests killed on purpose stay in the stack's list.
    ready = await _until(stack, lambda r: r["checks"].get("workers", {}).get("sandbox", 0) > 0)
    assert "isolated" in ready["checks"]["sandbox"].values(), ready
