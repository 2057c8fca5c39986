"""Chat, conversations, runs and judgments through the real worker and the real SDKs, against
the fake provider server (the only stand-in: providers' HTTP endpoints cannot exist here)."""

from __future__ import annotations

import json
import os

import httpx
import pytest
import redis.asyncio as aioredis

from tests.fakes.control import FakeProviders
from tests.support.clients import Frame, read_sse

PNG_URL = "data:image/png;base64,iVBORw0KGgo="


async def _chat(client: httpx.AsyncClient, model: str, text: str = "hi") -> tuple[dict, list]:
    body = {"messages": [{"role": "user", "content": text}], "model": model}
    job = (await client.post("/api/chat", json=body)).json()
    frames = await read_sse(client, job["events_url"])
    return (await client.get(f"/api/jobs/{job['id']}")).json(), frames


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("openai/gpt-4o-mini", "/v1/chat/completions"),
        ("anthropic/claude-sonnet-4-5", "/v1/messages"),
        ("openrouter/meta-llama/llama-3.1-8b-instruct", "/openrouter/v1/chat/completions"),
    ],
)
async def test_each_provider_streams_a_chat_job(
    client: httpx.AsyncClient, fake: FakeProviders, model: str, path: str
) -> None:
    fake.script(reply="The moon pulls the sea.", usage={"input_tokens": 30, "output_tokens": 6})
    job, frames = await _chat(client, model)
    assert job["status"] == "succeeded"
    tokens = [f.data["delta"] for f in frames if f.event == "token"]
    assert tokens == ["The ", "moon ", "pulls ", "the ", "sea."]
    assert job["result"]["content"] == "The moon pulls the sea."
    assert (job["usage"]["input_tokens"], job["usage"]["output_tokens"]) == (30, 6)
    assert job["usage"]["cost"] > 0
    received = fake.requests(path)
    assert len(received) == 1 and received[0]["body"]["model"] == model.split("/", 1)[1]
    if model.startswith("openrouter/"):
        assert received[0]["headers"]["http-referer"] == "https://switchyard.test"
        assert received[0]["headers"]["x-title"] == "Switchyard Tests"


async def test_a_429_with_retry_after_is_retried_and_succeeds(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(faults=[{"status": 429, "retry_after": 1}], reply="second time lucky")
    job, frames = await _chat(client, "openai/gpt-4o-mini")
    assert job["status"] == "succeeded" and job["result"]["content"] == "second time lucky"
    assert len(fake.requests("/v1/chat/completions")) == 2
    assert [f.data["status"] for f in frames if f.event == "status"] == ["running"]


async def test_a_drop_mid_stream_fails_the_job_and_stores_no_reply(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    conversation = (
        await client.post("/api/conversations", json={"model": "anthropic/claude-sonnet-4-5"})
    ).json()
    fake.script(faults=[{"drop_after": 2}], reply="this reply never ends properly")
    accepted = (
        await client.post(
            f"/api/conversations/{conversation['id']}/messages", json={"content": "go"}
        )
    ).json()
    frames = await read_sse(client, accepted["job"]["events_url"])
    assert [f.event for f in frames][-2:] == ["error", "done"]
    assert frames[-2].data["retryable"] is True
    assert frames[-1].data["status"] == "failed"
    messages = (await client.get(f"/api/conversations/{conversation['id']}/messages")).json()
    assert [m["role"] for m in messages] == ["user"]


async def test_a_conversation_sends_the_whole_history_each_time(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    conversation = (
        await client.post(
            "/api/conversations",
            json={"model": "openai/gpt-4o-mini", "system_prompt": "You are terse."},
        )
    ).json()
    path = f"/api/conversations/{conversation['id']}/messages"
    fake.script(replies=["First answer.", "Second answer.", "Third answer."])
    for question in ("one?", "two?", "three?"):
        accepted = (await client.post(path, json={"content": question})).json()
        await read_sse(client, accepted["job"]["events_url"])
    sent = [r["body"]["messages"] for r in fake.requests("/v1/chat/completions")]
    assert sent[2] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "one?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "two?"},
        {"role": "assistant", "content": "Second answer."},
        {"role": "user", "content": "three?"},
    ]
    assert sent[0] == sent[2][:2]
    stored = (await client.get(path)).json()
    assert [m["content"] for m in stored if m["role"] == "assistant"] == [
        "First answer.",
        "Second answer.",
        "Third answer.",
    ]
    assert all(m["usage"]["output_tokens"] == 7 for m in stored if m["role"] == "assistant")


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_the_next_reply_sees_an_interrupted_reply_but_not_a_rolled_back_one(
    client: httpx.AsyncClient, fake: FakeProviders, strategy: str
) -> None:
    conversation = (await client.post("/api/conversations", json={"model": "mock/echo-slow"}))
    path = f"/api/conversations/{conversation.json()['id']}/messages"
    slow = " ".join(f"r{i}" for i in range(25))
    first = (await client.post(path, json={"content": slow})).json()["job"]
    said = await read_sse(client, first["events_url"], limit=3)  # status and two tokens
    fake.script(reply="Fresh answer.")
    second = (
        await client.post(
            path,
            json={
                "content": "next?",
                "model": "openai/gpt-4o-mini",
                "multitask_strategy": strategy,
            },
        )
    ).json()["job"]
    await read_sse(client, second["events_url"])
    [sent] = [r["body"]["messages"] for r in fake.requests("/v1/chat/completions")]
    if strategy == "rollback":
        assert sent == [{"role": "user", "content": slow}, {"role": "user", "content": "next?"}]
        return
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    partial = sent[1]["content"]
    assert partial.startswith("".join(f.data["delta"] for f in said[1:])) and partial != slow
    assert sent[2] == {"role": "user", "content": "next?"}


async def test_models_list_the_fakes_and_come_from_the_shared_cache(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fresh = (await client.get("/api/models", params={"refresh": "true"})).json()
    ids = {m["id"] for m in fresh["models"]}
    assert {
        "openai/fake-small",
        "anthropic/fake-large",
        "openrouter/fake-small",
        "mock/echo",
    } <= ids
    assert fresh["errors"] == {} and fresh["cached"] is False
    listed = len(fake.requests("/models"))
    assert listed == 3
    again = (await client.get("/api/models")).json()
    assert again["cached"] is True and {m["id"] for m in again["models"]} == ids
    assert len(fake.requests("/models")) == listed


async def test_a_provider_that_fails_to_list_is_reported_not_fatal(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(faults=[{"status": 500}] * 20)
    listed = (await client.get("/api/models", params={"refresh": "true"})).json()
    assert set(listed["errors"]) == {"openai", "anthropic", "openrouter"}
    assert "mock/echo" in {m["id"] for m in listed["models"]}


# --- runs --------------------------------------------------------------------------------------

RUN = {
    "bots": [
        {"name": "Olive", "model": "openai/gpt-4o-mini", "system_prompt": "You are Olive."},
        {
            "name": "Anton",
            "model": "anthropic/claude-sonnet-4-5",
            "system_prompt": "You are Anton.",
            "temperature": 0.5,
        },
    ],
    "topic": "Is the moon made of cheese?",
    "max_turns": 4,
}


async def test_a_run_between_openai_and_anthropic_sees_each_side(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(replies=["O1 no.", "A1 maybe.", "O2 surely not.", "A2 fine."])
    run = (await client.post("/api/runs", json=RUN)).json()
    frames = await read_sse(client, run["events_url"])
    assert frames[-1].data["status"] == "succeeded"
    ends = [
        (f.data["bot"], f.data["model"], f.data["content"]) for f in frames if f.event == "turn_end"
    ]
    assert ends == [
        (0, "openai/gpt-4o-mini", "O1 no."),
        (1, "anthropic/claude-sonnet-4-5", "A1 maybe."),
        (0, "openai/gpt-4o-mini", "O2 surely not."),
        (1, "anthropic/claude-sonnet-4-5", "A2 fine."),
    ]
    openai_calls = [r["body"] for r in fake.requests("/v1/chat/completions")]
    anthropic_calls = [r["body"] for r in fake.requests("/v1/messages")]
    assert openai_calls[1]["messages"] == [
        {"role": "system", "content": "You are Olive."},
        {"role": "user", "content": "Is the moon made of cheese?"},
        {"role": "assistant", "content": "O1 no."},
        {"role": "user", "content": "A1 maybe."},
    ]
    assert anthropic_calls[1]["system"] == "You are Anton."
    assert anthropic_calls[1]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Is the moon made of cheese?"},
                {"type": "text", "text": "O1 no."},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "A1 maybe."}]},
        {"role": "user", "content": [{"type": "text", "text": "O2 surely not."}]},
    ]
    assert anthropic_calls[0]["temperature"] == 0.5


async def test_a_patch_during_turn_1_changes_what_the_provider_receives(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(replies=["O1 a b c d", "A1", "O2", "A2"], token_delay_ms=100)
    run = (await client.post("/api/runs", json=RUN)).json()
    patched: list[bool] = []

    async def patch_in_turn_0(frame: Frame) -> None:
        if frame.event == "token" and frame.data["turn"] == 0 and not patched:
            patched.append(True)
            for index, change in (
                (0, {"system_prompt": "You are Olive v2.", "temperature": 0.9}),
                (1, {"system_prompt": "You are Anton v2."}),
            ):
                response = await client.patch(f"/api/runs/{run['id']}/bots/{index}", json=change)
                assert response.status_code == 202

    frames = await read_sse(client, run["events_url"], on_frame=patch_in_turn_0)
    assert [
        (f.data["bot"], f.data["applies_from_turn"]) for f in frames if f.event == "patch_applied"
    ] == [(0, 1), (1, 1)]
    openai_calls = [r["body"] for r in fake.requests("/v1/chat/completions")]
    anthropic_calls = [r["body"] for r in fake.requests("/v1/messages")]
    assert openai_calls[0]["messages"][0]["content"] == "You are Olive."
    assert "temperature" not in openai_calls[0]
    assert openai_calls[1]["messages"][0]["content"] == "You are Olive v2."  # turn 2
    assert openai_calls[1]["temperature"] == 0.9
    assert anthropic_calls[0]["system"] == "You are Anton v2."  # turn 1, Anton's first


# --- judge -------------------------------------------------------------------------------------


def _verdict(*scores: float, reason: str = "scripted") -> str:
    criteria = [
        {"name": name, "score": s, "reason": f"r{i}"}
        for i, (name, s) in enumerate(zip(["clear", "correct"], scores, strict=False))
    ]
    return json.dumps({"criteria": criteria, "reason": reason})


JUDGE = {"criteria": ["clear", "correct"], "subject": {"text": "2 + 2 = 4", "image": PNG_URL}}


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"])
async def test_judges_return_the_structured_answer_with_the_image(
    client: httpx.AsyncClient, fake: FakeProviders, model: str
) -> None:
    fake.script(reply=_verdict(1.0, 0.4, reason="mostly right"))
    job = (await client.post("/api/judgments", json={**JUDGE, "model": model})).json()
    await read_sse(client, job["events_url"])
    result = (await client.get(f"/api/jobs/{job['id']}")).json()["result"]
    assert result["score"] == 0.7 and result["pass"] is True and result["reason"] == "mostly right"
    assert [(c["name"], c["score"], c["pass"]) for c in result["criteria"]] == [
        ("clear", 1.0, True),
        ("correct", 0.4, False),
    ]
    assert result["model"] == model
    if model.startswith("openai/"):
        body = fake.requests("/v1/chat/completions")[0]["body"]
        assert body["response_format"]["type"] == "json_schema"
        assert body["messages"][1]["content"][1] == {
            "type": "image_url",
            "image_url": {"url": PNG_URL},
        }
    else:
        body = fake.requests("/v1/messages")[0]["body"]
        assert body["tool_choice"]["type"] == "tool"
        assert body["messages"][0]["content"][1]["source"]["type"] == "base64"


async def test_a_malformed_answer_is_retried_once_then_parse_error(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(replies=["not json", '{"criteria": []}'])
    job = (await client.post("/api/judgments", json={**JUDGE, "model": "openai/m"})).json()
    frames = await read_sse(client, job["events_url"])
    assert frames[-2].event == "error" and frames[-2].data["code"] == "parse_error"
    assert frames[-1].data["status"] == "failed"
    assert len(fake.requests("/v1/chat/completions")) == 2
    stored = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert stored["result"] is None


async def test_a_malformed_answer_then_a_good_one_succeeds(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(replies=["```json\n{oops", _verdict(1, 1)])
    job = (await client.post("/api/judgments", json={**JUDGE, "model": "openai/m"})).json()
    await read_sse(client, job["events_url"])
    assert (await client.get(f"/api/jobs/{job['id']}")).json()["result"]["score"] == 1.0


async def test_a_refusal_is_reported_as_such(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(refuse="I can't judge this.")
    job = (await client.post("/api/judgments", json={**JUDGE, "model": "openai/m"})).json()
    frames = await read_sse(client, job["events_url"])
    assert frames[-2].data["code"] == "refusal" and "can't judge" in frames[-2].data["message"]


async def test_samples_give_mean_and_spread_of_the_scripted_scores(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(replies=[_verdict(1.0, 1.0), _verdict(0.5, 0.5), _verdict(0.0, 0.0)])
    body = {**JUDGE, "model": "anthropic/claude-sonnet-4-5", "samples": 3}
    job = (await client.post("/api/judgments", json=body)).json()
    await read_sse(client, job["events_url"])
    result = (await client.get(f"/api/jobs/{job['id']}")).json()["result"]
    assert [s["score"] for s in result["samples"]] == [1.0, 0.5, 0.0]
    assert result["mean"] == result["score"] == 0.5
    assert result["spread"] == round((1 / 6) ** 0.5, 6)
    assert len(fake.requests("/v1/messages")) == 3


async def test_an_image_url_is_422_and_never_fetched(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    url = f"{fake.base}/cat.png"
    body = {"criteria": ["x"], "subject": {"image": url}, "model": "openai/m"}
    response = await client.post("/api/judgments", json=body)
    assert response.status_code == 422
    assert fake.requests() == []


async def test_a_reply_postgres_cannot_store_is_made_storable_not_lost(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    """A NUL in a provider's reply would fail the job at every attempt (Postgres refuses it in
    JSONB): it arrives as U+FFFD in the events, the result and the archived log."""
    fake.script(reply="before\u0000after")
    job, frames = await _chat(client, "openai/gpt-4o-mini")
    assert job["status"] == "succeeded", job
    assert job["result"]["content"] == "before\ufffdafter"
    assert "".join(f.data["delta"] for f in frames if f.event == "token") == "before\ufffdafter"
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        assert await redis.delete(f"job:{job['id']}:events") == 1  # now served from Postgres
    finally:
        await redis.aclose()
    archived = await read_sse(client, f"/api/jobs/{job['id']}/events")
    assert [(f.id, f.data) for f in archived] == [(f.id, f.data) for f in frames]
