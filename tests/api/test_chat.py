"""One-shot chat through the whole stack: POST, then read the events as a client does."""

from __future__ import annotations

import httpx

from tests.support.clients import read_sse

HELLO = {"messages": [{"role": "user", "content": "hello there"}], "model": "mock/echo"}


async def test_chat_job_streams_tokens_in_order_to_done(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json=HELLO)
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and job["kind"] == "chat"
    assert response.headers["location"] == f"/api/jobs/{job['id']}"

    frames = await read_sse(client, job["events_url"])

    assert [f.event for f in frames] == ["status", "token", "token", "result", "done"]
    assert "".join(f.data["delta"] for f in frames if f.event == "token") == "hello there"
    assert frames[0].data == {
        "job_id": job["id"],
        "type": "status",
        "status": "running",
        "attempt": 1,
    }
    assert frames[-1].data["status"] == "succeeded"
    assert frames[-1].data["usage"]["output_tokens"] == 2
    ids = [f.id for f in frames]
    assert len(set(ids)) == len(ids)

    stored = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert stored["status"] == "succeeded"
    assert stored["result"]["content"] == "hello there"
    assert stored["usage"]["input_tokens"] == 2
    assert stored["started_at"] and stored["first_token_at"] and stored["finished_at"]


async def test_wait_answers_with_the_finished_reply(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat?wait=true", json=HELLO)
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"]["content"] == "hello there"


async def test_default_model_is_used_when_a_request_names_none(client: httpx.AsyncClient) -> None:
    body = {"messages": [{"role": "user", "content": "no model named"}]}
    response = await client.post("/api/chat?wait=true", json=body)
    assert response.json()["model"] == "mock/echo"  # DEFAULT_MODEL in the test stack
    assert response.json()["result"]["content"] == "no model named"


def test_the_mock_is_the_default_when_no_key_is_set() -> None:
    from shared.settings import ProviderSettings

    bare = ProviderSettings(
        openai_api_key="", anthropic_api_key="", openrouter_api_key="", default_model=""
    )
    assert bare.default_chat_model() == "mock/echo"
    assert bare.configured() == ["mock"]
    assert bare.default_judge_model() == "mock/judge"
    with_key = bare.model_copy(update={"anthropic_api_key": "k"})
    assert with_key.default_chat_model() == "anthropic/claude-sonnet-4-5"


async def test_idempotency_key_returns_the_same_job(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "same-request-1"}
    first = await client.post("/api/chat", json=HELLO, headers=headers)
    second = await client.post("/api/chat", json=HELLO, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    listed = (await client.get("/api/jobs", params={"kind": "chat"})).json()["items"]
    assert [j["id"] for j in listed].count(first.json()["id"]) == 1


async def test_max_tokens_cuts_the_reply(client: httpx.AsyncClient) -> None:
    body = {
        **HELLO,
        "messages": [{"role": "user", "content": "one two three four"}],
        "max_tokens": 2,
    }
    job = (await client.post("/api/chat?wait=true", json=body)).json()
    assert job["result"]["content"] == "one two "
    assert job["result"]["finish_reason"] == "length"


async def test_failing_provider_ends_failed_with_retryable_error(
    client: httpx.AsyncClient,
) -> None:
    body = {"messages": [{"role": "user", "content": "a b c d e f"}], "model": "mock/fail"}
    job = (await client.post("/api/chat", json=body)).json()
    frames = await read_sse(client, job["events_url"])
    assert [f.event for f in frames][-2:] == ["error", "done"]
    assert frames[-2].data["retryable"] is True
    assert frames[-1].data["status"] == "failed"
    stored = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert stored["error"]["code"] == "provider_unavailable"
    assert stored["result"] == {"content": "a b c ", "model": "mock/fail", "complete": False}


async def test_jobs_list_filters_and_paginates(client: httpx.AsyncClient) -> None:
    ids = [(await client.post("/api/chat", json=HELLO)).json()["id"] for _ in range(3)]
    page = (await client.get("/api/jobs", params={"limit": 2})).json()
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]
    rest = await client.get("/api/jobs", params={"limit": 2, "before": page["next_before"]})
    assert rest.json()["items"][0]["id"] == ids[0]
    none = (await client.get("/api/jobs", params={"kind": "execute"})).json()
    assert none["items"] == []
