"""The team task split's API, driven as its frontend did: presets, runs and the status socket."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.support.clients import basic_header
from tests.support.processes import Stack

CODE = "def total(xs):\n    result = 0\n    for x in xs:\n        result += x\n    return result\n"


def stream_url(stack: Stack) -> str:
    return stack.base_url.replace("http://", "ws://", 1) + "/stream"


async def _until_done(socket: websockets.ClientConnection) -> list[dict]:
    frames = [json.loads(await socket.recv())]
    while frames[-1]["event"] not in ("done", "error"):
        frames.append(json.loads(await socket.recv()))
    return frames


async def test_optimize_and_debug_answer_code(client: httpx.AsyncClient) -> None:
    optimized = await client.post("/optimize", json={"code": CODE, "model": "mock/echo"})
    assert optimized.status_code == 200, optimized.text
    answer = optimized.json()
    assert answer["code"].strip() == CODE.strip()  # the echo model hands the code back
    assert answer["model"] == "mock/echo" and "Optimize this python code" in answer["explanation"]
    job = (await client.get(f"/api/jobs/{answer['job_id']}")).json()
    assert job["input"]["messages"][0]["role"] == "system"

    body = {"code": "print(1/0)", "error": "ZeroDivisionError"}
    fixed = (await client.post("/debug", json=body)).json()
    assert fixed["code"].strip() == "print(1/0)" and "ZeroDivisionError" in fixed["explanation"]


async def test_a_run_reports_its_status_over_the_stream(
    client: httpx.AsyncClient, stack: Stack, user: tuple[str, str]
) -> None:
    started = await client.post("/run", json={"code": "print('hi', input())", "stdin": "team"})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    url = stream_url(stack) + f"?job_id={job_id}"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        frames = await _until_done(socket)
    assert frames[0] == {
        "job_id": job_id,
        "event": "status",
        "status": "running",
        "message": "running (attempt 1)",
    }
    assert {
        "job_id": job_id,
        "event": "output",
        "status": "running",
        "message": "stdout: hi team\n",
    } in frames
    result = next(f for f in frames if f["event"] == "result")
    assert result["result"]["stdout"] == "hi team\n"
    assert frames[-1]["status"] == "succeeded" and frames[-1]["message"] == "finished: succeeded"


async def test_the_stream_names_jobs_by_frame_and_hides_others(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, stack: Stack, user: tuple[str, str]
) -> None:
    mine = (await client.post("/run", json={"code": "print(1)"})).json()["job_id"]
    theirs = (await other_client.post("/run", json={"code": "print(2)"})).json()["job_id"]
    async with websockets.connect(
        stream_url(stack), additional_headers=basic_header(*user)
    ) as socket:
        await socket.send(json.dumps({"job_id": theirs}))
        assert json.loads(await socket.recv())["message"] == "job not found"
        await socket.send(json.dumps({"job_id": mine}))
        frames = await _until_done(socket)
    assert {f["job_id"] for f in frames} == {mine} and frames[-1]["status"] == "succeeded"


async def test_stream_needs_credentials(stack: Stack) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(stream_url(stack)):
            pass
    assert refused.value.response.status_code == 403


async def test_agent_switch_sets_the_default_models(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    mock = (await client.post("/agent/switch", json={"agent": "mock"})).json()
    assert mock["agents"]["chat"] == {"model": "mock/echo", "source": "user"}
    assert mock["agents"]["judge"] == {"model": "mock/judge", "source": "user"}
    slow = (await client.post("/agent/switch", json={"agent": "mock/echo-slow"})).json()
    assert slow["agents"]["chat"]["model"] == "mock/echo-slow"
    assert (await client.get("/api/agents")).json()["chat"]["model"] == "mock/echo-slow"
    real = (await client.post("/agent/switch", json={"agent": "real"})).json()
    assert real["agents"]["chat"]["source"] == "server"
    assert (await client.post("/agent/switch", json={"agent": "skynet"})).status_code == 422
    assert (await anonymous.post("/optimize", json={"code": "x"})).status_code == 401
