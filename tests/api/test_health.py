from __future__ import annotations

import json
import uuid

import httpx

from tests.support.processes import Stack


async def test_health_ready_and_metrics(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        ready = await http.get("/ready")
        body = ready.json()
        assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
        assert body["checks"]["workers"]["llm"] >= 1
        assert body["checks"]["workers"]["sandbox"] >= 1
        assert ready.status_code == 200 and body["status"] == "ready"
        metrics = (await http.get("/metrics")).text
        assert 'switchyard_http_requests_total{method="GET",route="/ready",status="200"}' in metrics


async def test_metrics_cover_jobs_tokens_latency_and_streams(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    body = {"messages": [{"role": "user", "content": "count these three"}], "model": "mock/echo"}
    await client.post("/api/chat?wait=true", json=body)
    text = (await client.get("/metrics")).text
    lines = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert lines['switchyard_jobs_total{kind="chat",status="succeeded"}'] >= 1
    assert lines['switchyard_tokens_total{direction="output",model="mock/echo"}'] >= 3
    assert lines['switchyard_time_to_first_token_seconds_count{kind="chat"}'] >= 1
    assert lines['switchyard_queue_wait_seconds_bucket{kind="chat",le="+Inf"}'] >= 1
    assert lines['switchyard_queue_depth{queue="llm"}'] >= 0
    assert "switchyard_active_streams" in lines


async def test_stats_show_usage_latency_queues_and_a_labelled_estimate(
    client: httpx.AsyncClient,
) -> None:
    body = {"messages": [{"role": "user", "content": "one two three"}], "model": "mock/echo"}
    await client.post("/api/chat?wait=true", json=body)
    await client.post("/api/chat?wait=true", json=body)
    stats = (await client.get("/api/stats")).json()
    assert stats["usage"] == [
        {"model": "mock/echo", "jobs": 2, "input_tokens": 6, "output_tokens": 6, "cost": 0.0}
    ]
    assert stats["latency_seconds"]["time_to_first_token"]["p50"] > 0
    assert set(stats["queues"]) == {"llm", "sandbox"}
    energy = stats["energy"]
    assert energy["estimate"] is True and energy["coefficients"]["wh_per_1k_tokens"] == 0.3
    assert energy["kwh"] == round(12 / 1000 * 0.3 / 1000, 9)


async def test_agents_choose_the_default_model_per_kind(client: httpx.AsyncClient) -> None:
    agents = (await client.get("/api/agents")).json()
    assert agents == {
        "chat": {"model": "mock/echo", "source": "server"},
        "judge": {"model": "mock/judge", "source": "server"},
    }
    chosen = await client.put("/api/agents", json={"chat": "mock/echo-slow"})
    assert chosen.json()["chat"] == {"model": "mock/echo-slow", "source": "user"}
    body = {"messages": [{"role": "user", "content": "which model"}]}
    assert (await client.post("/api/chat", json=body)).json()["model"] == "mock/echo-slow"
    assert (await client.put("/api/agents", json={"chat": "nope/x"})).status_code == 422
    reset = await client.put("/api/agents", json={"chat": None})
    assert reset.json()["chat"]["source"] == "server"


async def test_the_request_id_travels_from_the_api_to_the_worker_logs(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    body = {"messages": [{"role": "user", "content": "trace me"}], "model": "mock/echo"}
    given = f"trace-{uuid.uuid4().hex[:12]}"
    response = await client.post("/api/chat?wait=true", json=body, headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    fresh = await client.get("/api/jobs")
    assert len(fresh.headers["X-Request-ID"]) == 32  # one is made when the client sends none
    worker_log = stack.worker().log_path.read_text(errors="replace")
    finished = [
        json.loads(line)
        for line in worker_log.splitlines()
        if given in line and line.startswith("{")
    ]
    assert any(entry.get("event") == "job.finished" for entry in finished), finished
    assert all("trace me" not in line for line in worker_log.splitlines() if given in line)
