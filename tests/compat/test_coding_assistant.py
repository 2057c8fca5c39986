"""seeds/002, the coding assistant, played as its frontend: the WebSocket chat protocol, the
REST chat, code execution with `@endpoint` handlers and test cases, syntax validation, tasks,
the LLM judge of a screenshot, on the real stack and sandbox.

Each assertion quotes the document line it rests on."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import websockets

from tests.compat.conftest import recv_json, ws_base
from tests.support.clients import basic_header
from tests.support.processes import Stack
from tests.support.solutions import TODO_API, TWO_SUM

# The document's "Client → Server" frame, literally (`"model": "gpt-4"` included).
FRAME = {
    "messages": [{"role": "user", "content": "Hello!"}],
    "model": "gpt-4",
    "max_tokens": 1000,
    "proactive": False,
    "current_code": "",
}
# A 1x1 PNG, as a screenshot would come (base64, no data: prefix).
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


async def _until_end(socket: websockets.ClientConnection) -> list[dict]:
    frames = [await recv_json(socket)]
    while frames[-1]["type"] == "chunk":
        frames.append(await recv_json(socket))
    return frames


async def test_health_checks(anonymous: httpx.AsyncClient) -> None:
    # "`GET /` - Health check"; "`GET /health` - Detailed health status"
    assert (await anonymous.get("/")).json()["status"] == "ok"
    assert (await anonymous.get("/health")).json()["status"] == "ok"


async def test_the_socket_streams_chunks_then_complete(
    stack: Stack, user: tuple[str, str], fake: object
) -> None:
    url = ws_base(stack) + "/ws/chat"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        await socket.send(json.dumps(FRAME))
        frames = await _until_end(socket)
        # `{"type": "chunk", "content": "Hello"}` ... `{"type": "complete", "content": ...}`
        assert [f["type"] for f in frames[:-1]] == ["chunk"] * (len(frames) - 1)
        assert frames[-1]["type"] == "complete"
        assert "".join(f["content"] for f in frames[:-1]) == frames[-1]["content"]
        # `"model": "gpt-4"`: OpenAI's model, served (here by the fake OpenAI)
        assert frames[-1]["content"] == "Hello from the fake provider."
        # the same socket takes the next frame
        await socket.send(json.dumps({**FRAME, "model": "mock/echo", "current_code": "x = 1"}))
        again = await _until_end(socket)
        assert again[-1] == {"type": "complete", "content": "Hello!"}
        # `{"type": "error", "content": "Error message"}`
        await socket.send(json.dumps({**FRAME, "model": "mock/fail"}))
        failed = await _until_end(socket)
        assert failed[-1]["type"] == "error" and failed[-1]["content"]
        await socket.send(json.dumps({"messages": []}))
        refused = await recv_json(socket)
        assert refused["type"] == "error" and "messages" in refused["content"]


async def test_the_socket_needs_basic_auth_unless_dev_mode(stack: Stack, dev_stack: Stack) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_base(stack) + "/ws/chat"):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(ws_base(dev_stack) + "/ws/chat") as socket:
        await socket.send(json.dumps({**FRAME, "model": "mock/echo"}))
        assert (await _until_end(socket))[-1] == {"type": "complete", "content": "Hello!"}


async def test_rest_chat_answers_the_whole_reply(client: httpx.AsyncClient) -> None:
    body = {**FRAME, "model": "mock/echo", "current_code": "print(1/0)", "proactive": True}
    # "`POST /api/chat` - REST API chat endpoint (non-streaming)"
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["content"] == reply["response"] == "Hello!"
    job = (await client.get(f"/api/jobs/{reply['job_id']}")).json()
    system = [m["content"] for m in job["input"]["messages"] if m["role"] == "system"]
    assert "print(1/0)" in system[0] and "Proactively" in system[1]


async def test_an_endpoint_handler_is_executed(client: httpx.AsyncClient) -> None:
    body = {"code": TODO_API, "method": "POST", "path": "/todos", "body": {"title": "tea"}}
    # "`POST /api/execute-endpoint` - Execute Python code with @endpoint decorators"
    answer = (await client.post("/api/execute-endpoint", json=body)).json()
    assert answer["status_code"] == 201 and answer["success"] is True
    assert answer["body"] == {"id": 1, "title": "tea", "done": False}
    missing = (await client.post("/api/execute-endpoint", json={**body, "path": "/nope"})).json()
    assert missing["status_code"] == 404
    broken = (await client.post("/api/execute-endpoint", json={**body, "code": "def ("})).json()
    assert broken["status_code"] is None and broken["error"] and broken["success"] is False


async def test_test_cases_are_loaded_and_executed(client: httpx.AsyncClient) -> None:
    # "`POST /api/load-test-cases` - Load test cases from task data"
    loaded = (await client.post("/api/load-test-cases", json={"task_name": "two-sum"})).json()
    assert len(loaded["test_cases"]) == 3 and "two_sum" in loaded["starter_files"]["main.py"]
    # "`POST /api/execute-test-cases` - Execute test cases against backend code"
    body = {"code": TWO_SUM, "test_cases": loaded["test_cases"]}
    passing = (await client.post("/api/execute-test-cases", json=body)).json()
    assert passing["all_passed"] is True and passing["passed"] == passing["total"] == 3
    wrong = {"code": "def two_sum(nums, target):\n    return [0, 0]\n", "task_name": "two-sum"}
    failing = (await client.post("/api/execute-test-cases", json=wrong)).json()
    assert failing["all_passed"] is False and failing["verdict"]["status"] == "Wrong Answer"


async def test_validation_and_tasks(client: httpx.AsyncClient) -> None:
    # "`POST /api/validate-python` - Validate Python code syntax"
    bad = (await client.post("/api/validate-python", json={"code": "if x\n  pass"})).json()
    assert bad["valid"] is False and bad["errors"][0]["line"] == 1
    assert bad["error"] == bad["errors"][0]["message"]  # the single-error shape too
    good = (await client.post("/api/validate-python", json={"code": "x = 1\n"})).json()
    assert good == {"valid": True, "errors": [], "error": None}
    # "`GET /tasks/{task_name}` - Get task data with files and tests"
    task = (await client.get("/tasks/fizzbuzz")).json()
    assert task["name"] == "fizzbuzz" and len(task["tests"]) == 3 and task["starter_files"]
    assert (await client.get("/tasks/nope")).status_code == 404


async def test_the_judge_scores_a_screenshot_against_criteria(client: httpx.AsyncClient) -> None:
    # "`POST /api/llm-judge` - Use GPT-4 Vision to judge screenshot against test criteria"
    body = {"screenshot": PNG, "test_criteria": ["the page shows a title"]}
    verdict = await client.post("/api/llm-judge", json=body)
    assert verdict.status_code == 200, verdict.text
    judged = verdict.json()
    assert [c["name"] for c in judged["criteria"]] == ["the page shows a title"]
    assert judged["passed"] is judged["pass"] and 0.0 <= judged["score"] <= 1.0
    job = (await client.get(f"/api/jobs/{judged['job_id']}")).json()
    assert job["input"]["subject"]["image"]["url"].startswith("data:image/png;base64,")
    with_code = {**body, "code": "total = sum(sorted(xs))", "test_criteria": ['uses "sorted"']}
    assert (await client.post("/api/llm-judge", json=with_code)).json()["score"] == 1.0
    nothing = await client.post("/api/llm-judge", json={"test_criteria": ["x"]})
    assert nothing.status_code == 422


async def test_deprecated_python_servers_are_gone(client: httpx.AsyncClient) -> None:
    # "### Python Server Management (deprecated)"
    assert (await client.post("/api/start-python-server", json={})).status_code == 410
    assert (await client.post("/api/stop-python-server", json={})).status_code == 410
    assert (await client.get("/api/list-python-servers")).status_code == 410


async def test_http_routes_need_basic_auth_unless_dev_mode(
    anonymous: httpx.AsyncClient, dev_client: httpx.AsyncClient
) -> None:
    assert (await anonymous.post("/api/validate-python", json={"code": ""})).status_code == 401
    assert (await anonymous.post("/api/chat", json={**FRAME, "proactive": True})).status_code == 401
    body = {"code": "print(1)", "test_cases": [{"stdin": "", "expected_output": "1"}]}
    answer = (await dev_client.post("/api/execute-test-cases", json=body)).json()
    assert answer["all_passed"] is True


async def test_messages_as_a_frontend_keeps_them(
    stack: Stack, user: tuple[str, str], client: httpx.AsyncClient
) -> None:
    # the "Client → Server" frame, its messages carrying the keys a chat UI keeps on them
    kept = [{"id": 1, "role": "user", "content": "Hello!", "timestamp": "2025-01-01T00:00:00Z"}]
    frame = {**FRAME, "messages": kept, "model": "mock/echo"}
    url = ws_base(stack) + "/ws/chat"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        await socket.send(json.dumps(frame))
        # `{"type": "complete", "content": "Hello! How can I help you?"}`
        assert (await _until_end(socket))[-1] == {"type": "complete", "content": "Hello!"}
    # "`POST /api/chat` - REST API chat endpoint (non-streaming)", the same messages
    response = await client.post("/api/chat", json={**FRAME, "messages": kept})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "Hello from the fake provider."


async def test_a_proactive_frame_needs_no_message(stack: Stack, user: tuple[str, str]) -> None:
    # `"proactive": false, "current_code": ""`: proactive, the assistant speaks about the code
    # before the user has said anything
    frame = {**FRAME, "messages": [], "proactive": True, "current_code": "x = 1/0"}
    url = ws_base(stack) + "/ws/chat"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        await socket.send(json.dumps({**frame, "model": "mock/echo"}))
        # `{"type": "complete", "content": "Hello! How can I help you?"}`
        done = (await _until_end(socket))[-1]
        assert done["type"] == "complete" and done["content"]
        # without code to look at, an empty conversation is still refused
        await socket.send(json.dumps({**frame, "current_code": ""}))
        refused = await recv_json(socket)
        assert refused["type"] == "error" and "messages" in refused["content"]


async def test_the_criteria_as_one_text(client: httpx.AsyncClient) -> None:
    # "Use GPT-4 Vision to judge screenshot against test criteria": the criteria as one text
    body = {"screenshot": PNG, "test_criteria": "the page shows a title"}
    verdict = await client.post("/api/llm-judge", json=body)
    assert verdict.status_code == 200, verdict.text
    assert isinstance(verdict.json()["passed"], bool)
    blank = await client.post("/api/llm-judge", json={**body, "test_criteria": []})
    assert blank.status_code == 422
