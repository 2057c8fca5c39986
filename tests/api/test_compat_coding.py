"""The coding assistant's API, driven as its frontend did, on the real stack and sandbox."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.support.clients import basic_header
from tests.support.processes import Stack
from tests.support.solutions import TODO_API, TWO_SUM

ASK = {"messages": [{"role": "user", "content": "why does this fail"}], "model": "mock/echo"}


def chat_socket_url(stack: Stack) -> str:
    return stack.base_url.replace("http://", "ws://", 1) + "/ws/chat"


async def _frames_until_end(socket: websockets.ClientConnection) -> list[dict]:
    frames = []
    while not frames or frames[-1]["type"] == "chunk":
        frames.append(json.loads(await socket.recv()))
    return frames


async def test_chat_with_the_current_code_answers_the_reply(client: httpx.AsyncClient) -> None:
    body = {**ASK, "current_code": "print(1/0)", "proactive": True, "max_tokens": 100}
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["content"] == "why does this fail"
    assert reply["model"] == "mock/echo" and reply["usage"]["output_tokens"] == 4

    job = (await client.get(f"/api/jobs/{reply['job_id']}")).json()
    system = [m["content"] for m in job["input"]["messages"] if m["role"] == "system"]
    assert "print(1/0)" in system[0] and "Proactively" in system[1]


async def test_a_native_chat_body_keeps_the_native_contract(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json=ASK)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    stray = await client.post("/api/chat", json={**ASK, "stray": 1})
    assert stray.status_code == 422
    schema = (await client.get("/openapi.json")).json()
    assert schema["paths"]["/api/chat"]["post"]["tags"] == ["chat"]


async def test_websocket_streams_chunks_then_the_complete_reply(
    stack: Stack, user: tuple[str, str]
) -> None:
    async with websockets.connect(
        chat_socket_url(stack), additional_headers=basic_header(*user)
    ) as socket:
        await socket.send(json.dumps({**ASK, "current_code": "x = 1", "proactive": False}))
        frames = await _frames_until_end(socket)
        assert [f["type"] for f in frames] == ["chunk"] * 4 + ["complete"]
        assert "".join(f["content"] for f in frames[:-1]) == frames[-1]["content"]
        assert frames[-1]["content"] == "why does this fail"

        await socket.send(json.dumps({**ASK, "model": "mock/fail"}))
        failed = await _frames_until_end(socket)
        assert failed[-1]["type"] == "error" and failed[-1]["content"]

        await socket.send(json.dumps({"messages": []}))
        assert json.loads(await socket.recv())["type"] == "error"


async def test_websocket_needs_credentials(stack: Stack) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(chat_socket_url(stack)):
            pass
    assert refused.value.response.status_code == 403


async def test_an_endpoint_is_called_in_the_sandbox(client: httpx.AsyncClient) -> None:
    body = {"code": TODO_API, "method": "POST", "path": "/todos", "body": {"title": "tea"}}
    answer = (await client.post("/api/execute-endpoint", json=body)).json()
    assert answer["status_code"] == 201
    assert answer["body"] == {"id": 1, "title": "tea", "done": False}
    missing = (await client.post("/api/execute-endpoint", json={**body, "path": "/nope"})).json()
    assert missing["status_code"] == 404
    broken = (await client.post("/api/execute-endpoint", json={**body, "code": "def ("})).json()
    assert broken["status_code"] is None and broken["error"]


async def test_loaded_test_cases_run_and_answer_every_verdict(client: httpx.AsyncClient) -> None:
    loaded = (await client.post("/api/load-test-cases", json={"task_name": "two-sum"})).json()
    assert len(loaded["test_cases"]) == 3 and "two_sum" in loaded["starter_files"]["main.py"]

    body = {"code": TWO_SUM, "test_cases": loaded["test_cases"]}
    passing = (await client.post("/api/execute-test-cases", json=body)).json()
    assert passing["all_passed"] is True and passing["passed"] == passing["total"] == 3
    assert [t["verdict"]["status"] for t in passing["tests"]] == ["Accepted"] * 3

    wrong = {"code": "def two_sum(nums, target):\n    return [0, 0]\n", "task_name": "two-sum"}
    failing = (await client.post("/api/execute-test-cases", json=wrong)).json()
    assert failing["all_passed"] is False and failing["verdict"]["status"] == "Wrong Answer"


async def test_validate_and_tasks(client: httpx.AsyncClient) -> None:
    bad = (await client.post("/api/validate-python", json={"code": "if x\n  pass"})).json()
    assert bad["valid"] is False and bad["errors"][0]["line"] == 1
    good = (await client.post("/api/validate-python", json={"code": "x = 1\n"})).json()
    assert good == {"valid": True, "errors": []}
    task = (await client.get("/tasks/fizzbuzz")).json()
    assert task["name"] == "fizzbuzz" and len(task["tests"]) == 3
    assert (await client.get("/tasks/nope")).status_code == 404
    assert (await client.post("/api/load-test-cases", json={"task_name": "x"})).status_code == 404


async def test_llm_judge_answers_the_verdict(client: httpx.AsyncClient) -> None:
    body = {"code": "total = sum(sorted(xs))", "criteria": ['uses "sorted"', 'uses "heapq"']}
    verdict = (await client.post("/api/llm-judge", json=body)).json()
    assert [c["score"] for c in verdict["criteria"]] == [1.0, 0.0]
    assert verdict["score"] == 0.5 and verdict["model"] == "mock/judge"

    by_task = {"code": "prints Fizz and Buzz", "task_name": "fizzbuzz", "threshold": 0.9}
    judged = (await client.post("/api/llm-judge", json=by_task)).json()
    assert judged["pass"] is True
    unknown = await client.post("/api/llm-judge", json={"code": "x", "task_name": "nope"})
    assert unknown.status_code == 422


async def test_auth_and_ownership_are_the_native_ones(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    body = {"code": "print(1)", "test_cases": [{"stdin": "", "expected_output": "1"}]}
    assert (await anonymous.post("/api/execute-test-cases", json=body)).status_code == 401
    assert (await anonymous.post("/api/chat", json={**ASK, "proactive": True})).status_code == 401
    answer = (await client.post("/api/execute-test-cases", json=body)).json()
    assert answer["all_passed"] is True
    assert (await other_client.get(f"/api/jobs/{answer['job_id']}")).status_code == 404
