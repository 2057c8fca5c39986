"""seeds/000, the team task split, played as its frontend: the endpoints it lists
(`/optimize`, `/debug`, `/run`, `/metrics`, `/agent/switch`) and the `/stream` WebSocket with
its live messages.

Each assertion quotes the document line it rests on."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.compat.conftest import ws_base
from tests.support.clients import basic_header
from tests.support.processes import Stack

CODE = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"


async def test_optimize_and_debug_answer_code(client: httpx.AsyncClient) -> None:
    # "`/optimize` → returns dummy optimized code."
    optimized = await client.post("/optimize", json={"code": CODE})
    assert optimized.status_code == 200, optimized.text
    body = optimized.json()
    assert body["optimized_code"] == CODE and "Optimize" in body["explanation"]
    # "`/debug` → returns dummy bug fix."
    fixed = (await client.post("/debug", json={"code": CODE, "error": "TypeError"})).json()
    assert fixed["fixed_code"] == CODE and "TypeError" in fixed["explanation"]
    # "Ensure endpoints reject invalid input."
    assert (await client.post("/optimize", json={"code": ""})).status_code == 422
    assert (await client.post("/debug", json={"source": CODE})).status_code == 422


async def test_run_executes_the_code(client: httpx.AsyncClient) -> None:
    # "`/run` → placeholder for code execution."
    ran = await client.post("/run", json={"code": "print(6 * 7)"})
    assert ran.status_code == 200, ran.text
    assert ran.json()["output"] == "42\n" and ran.json()["exit_code"] == 0
    echoed = (await client.post("/run", json={"code": "print(input())", "input": "hi"})).json()
    assert echoed["output"] == "hi\n"
    failed = (await client.post("/run", json={"code": "raise SystemExit(3)"})).json()
    assert failed["exit_code"] == 3
    assert (await client.post("/run", json={"code": "x", "language": "cobol"})).status_code == 422


async def test_metrics_are_energy_json_for_the_dashboard(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await client.post("/optimize", json={"code": CODE})
    # "`/metrics` → returns dummy energy/CO2 metrics." (asked for as JSON)
    metrics = await client.get("/metrics", headers={"Accept": "application/json"})
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("application/json")
    body = metrics.json()
    assert body["tokens"] > 0 and body["energy_kwh"] > 0 and body["co2_g"] > 0
    assert body["estimate"] is True
    # a Prometheus scraper on the same path still gets the text exposition
    scraped = await anonymous.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "switchyard_http_requests_total" in scraped.text


async def test_the_agent_switches_between_dummy_and_real(client: httpx.AsyncClient) -> None:
    # "`/agent/switch` → switch between dummy/real AI agents."
    dummy = await client.post("/agent/switch", json={"agent": "dummy"})
    assert dummy.status_code == 200 and dummy.json()["agent"] == "dummy"
    native = (await client.get("/api/agents")).json()
    assert native["chat"] == {"model": "mock/echo", "source": "user"}
    # "Create endpoint to read/update agent selection (dummy/real)."
    assert (await client.get("/agent/switch")).json()["agent"] == "dummy"
    real = (await client.post("/agent/switch", json={"agent": "real"})).json()
    assert real["agent"] == "real"
    assert (await client.get("/api/agents")).json()["chat"]["source"] == "server"
    assert (await client.post("/agent/switch", json={"agent": "smart"})).status_code == 422
    # `/agent/switch` as a handler taking `agent: str` reads it: from the query
    assert (await client.post("/agent/switch?agent=dummy")).json()["agent"] == "dummy"
    assert (await client.post("/agent/switch?agent=real")).json()["agent"] == "real"
    assert (await client.post("/agent/switch")).status_code == 422


async def test_the_stream_sends_live_messages(stack: Stack, user: tuple[str, str]) -> None:
    url = ws_base(stack) + "/stream"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        # "Send live messages: `'tokenizing...'`, `'calling AI...'`, `'done'`."
        await socket.send(json.dumps({"code": CODE, "action": "optimize"}))
        assert [await socket.recv() for _ in range(3)] == ["tokenizing...", "calling AI...", "done"]
        await socket.send("plain text is a prompt too")
        assert [await socket.recv() for _ in range(3)] == ["tokenizing...", "calling AI...", "done"]
        # "Ensure WebSocket errors don't crash server."
        await socket.send(json.dumps({"job_id": "not-a-uuid"}))
        assert (await socket.recv()).startswith("error: ")
        await socket.send(json.dumps({"prompt": "x", "model": "mock/fail"}))
        assert (await socket.recv()) == "tokenizing..."


async def test_the_stream_follows_a_job(
    stack: Stack, user: tuple[str, str], client: httpx.AsyncClient
) -> None:
    ran = (await client.post("/run", json={"code": "print(1)"})).json()
    url = ws_base(stack) + "/stream"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        await socket.send(json.dumps({"job_id": ran["job_id"]}))
        assert [await socket.recv() for _ in range(3)] == ["tokenizing...", "calling AI...", "done"]
    # the same job named on the URL, as a client that connects for one job would
    query = f"{url}?job_id={ran['job_id']}"
    async with websockets.connect(query, additional_headers=basic_header(*user)) as socket:
        assert [await socket.recv() for _ in range(3)] == ["tokenizing...", "calling AI...", "done"]


async def test_the_stream_reports_work_asked_over_rest(
    stack: Stack, user: tuple[str, str], client: httpx.AsyncClient
) -> None:
    url = ws_base(stack) + "/stream"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        # "WebSocket streaming updates." while the frontend calls the endpoints
        assert (await client.post("/optimize", json={"code": CODE})).status_code == 200
        assert (await client.post("/run", json={"code": "print(2)"})).status_code == 200
        expected = ["tokenizing...", "calling AI...", "done"] * 2
        assert [await asyncio.wait_for(socket.recv(), 30) for _ in range(6)] == expected


async def test_needs_basic_auth_unless_dev_mode(
    stack: Stack, dev_stack: Stack, anonymous: httpx.AsyncClient, dev_client: httpx.AsyncClient
) -> None:
    assert (await anonymous.post("/optimize", json={"code": CODE})).status_code == 401
    json_metrics = await anonymous.get("/metrics", headers={"Accept": "application/json"})
    assert json_metrics.status_code == 401
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(ws_base(stack) + "/stream"):
            pass
    assert (await dev_client.post("/optimize", json={"code": CODE})).status_code == 200
    dev_metrics = await dev_client.get("/metrics", headers={"Accept": "application/json"})
    assert dev_metrics.json()["estimate"] is True
    async with websockets.connect(ws_base(dev_stack) + "/stream") as socket:
        await socket.send("hello")
        assert [await socket.recv() for _ in range(3)] == ["tokenizing...", "calling AI...", "done"]


async def test_bodies_as_a_dashboard_sends_them(client: httpx.AsyncClient) -> None:
    # "Add Pydantic models for request/response schemas.": pydantic ignores keys it does not
    # name, so a frontend's extra keys (a language label, a client timestamp) are no error
    ran = await client.post("/run", json={"code": "print(5)", "language": "Python", "ts": 1})
    assert ran.status_code == 200, ran.text
    assert ran.json()["output"] == "5\n"
    optimized = await client.post("/optimize", json={"code": CODE, "agent": "dummy"})
    assert optimized.status_code == 200 and optimized.json()["optimized_code"] == CODE
    # "Ensure endpoints reject invalid input.": what the model names is still checked
    assert (await client.post("/run", json={"language": "Python"})).status_code == 422
