"""seeds/003, the OpenRouter chat, played as its frontend: list models, create a conversation
with a default model, post a message (with a model override), stream the reply over SSE,
read the history; plus the bonus endpoints.

Each assertion quotes the document line it rests on."""

from __future__ import annotations

import json

import httpx

from tests.fakes.control import FakeProviders
from tests.support.clients import read_sse


async def _conversation(client: httpx.AsyncClient, **fields: object) -> dict:
    response = await client.post("/conversations", json=fields)
    # "Returns full conversation object" ... "Proper HTTP status codes"
    assert response.status_code == 201, response.text
    return response.json()


async def test_models_come_with_their_cache_status(client: httpx.AsyncClient) -> None:
    body = (await client.get("/models")).json()
    # `return {"models": models_cache, "cached": True}`
    assert set(body) == {"models", "cached"} and isinstance(body["cached"], bool)
    assert "mock/echo" in [m["id"] for m in body["models"]]
    # "Implements 1-hour caching mechanism": asked again, it is the cache
    assert (await client.get("/models")).json()["cached"] is True


async def test_the_documented_flow(client: httpx.AsyncClient) -> None:
    # "Creates new conversation with optional `default_model`"
    conversation = await _conversation(client, default_model="mock/echo")
    # `"id": str, "default_model": str, "created_at": datetime, "updated_at": datetime`
    assert {"id", "default_model", "created_at", "updated_at"} <= conversation.keys()
    assert conversation["default_model"] == "mock/echo"
    assert conversation["messages"] == []  # "Initializes empty message array"
    cid = conversation["id"]

    posted = await client.post(f"/conversations/{cid}/messages", json={"content": "how many moons"})
    assert posted.status_code == 201
    message = posted.json()
    # "Returns message object with ID and timestamp"; `"role": "user" | "assistant"`
    assert {"id", "role", "content", "model", "timestamp"} <= message.keys()
    assert (message["role"], message["content"]) == ("user", "how many moons")

    # "Streams assistant responses via Server-Sent Events": `{'content': content}` ...
    frames = await read_sse(client, f"/conversations/{cid}/stream")
    data = [f.data for f in frames]
    # `yield f"data: {json.dumps({'done': True})}\n\n"`
    assert data[-1] == {"done": True}
    assert "".join(d["content"] for d in data[:-1]) == "how many moons"
    assert {f.event for f in frames} == {"message"}  # data-only: EventSource's onmessage

    # "Stores complete assistant response when done"
    history = (await client.get(f"/conversations/{cid}/messages")).json()
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "how many moons"),
        ("assistant", "how many moons"),
    ]
    assert history[1]["model"] == "mock/echo" and history[1]["timestamp"]
    # a stream reopened for the answered message follows that reply, not a new one
    again = await read_sse(client, f"/conversations/{cid}/stream")
    assert [f.data for f in again] == data
    # "Message count in conversation listings"
    listed = (await client.get("/conversations")).json()
    assert [(c["id"], c["message_count"]) for c in listed] == [(cid, 2)]


async def test_the_model_override_and_the_query_model(
    client: httpx.AsyncClient, fake: object
) -> None:
    cid = (await _conversation(client, default_model="mock/echo"))["id"]
    # "Accepts user message with optional model override"
    await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi", "model": "openai/gpt-4o-mini"}
    )
    frames = await read_sse(client, f"/conversations/{cid}/stream")
    assert "".join(f.data.get("content", "") for f in frames) == "Hello from the fake provider."
    # "Supports optional model query parameter"
    await client.post(f"/conversations/{cid}/messages", json={"content": "echo me"})
    frames = await read_sse(client, f"/conversations/{cid}/stream?model=mock/echo")
    assert "".join(f.data.get("content", "") for f in frames) == "echo me"
    # "Uses full conversation context"
    history = (await client.get(f"/conversations/{cid}/messages")).json()
    assert [m["model"] for m in history if m["role"] == "assistant"] == [
        "openai/gpt-4o-mini",
        "mock/echo",
    ]


async def test_patch_changes_the_default_model(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client)
    cid = conversation["id"]
    # "Updates conversation's `default_model`" ... "Returns updated conversation object"
    patched = await client.patch(f"/conversations/{cid}", json={"default_model": "mock/echo"})
    assert patched.status_code == 200
    assert patched.json()["default_model"] == "mock/echo"
    # "Updates `updated_at` timestamp"
    assert patched.json()["updated_at"] > conversation["updated_at"]
    # "Validates conversation exists"
    missing = "00000000-0000-0000-0000-000000000000"
    gone = await client.patch(f"/conversations/{missing}", json={"default_model": "mock/echo"})
    assert gone.status_code == 404


async def test_bonus_endpoints(client: httpx.AsyncClient) -> None:
    cid = (await _conversation(client, default_model="mock/echo"))["id"]
    await client.post(f"/conversations/{cid}/messages", json={"content": "tides"})
    await read_sse(client, f"/conversations/{cid}/stream")
    # "`GET /conversations/{id}` - Get conversation details"
    details = (await client.get(f"/conversations/{cid}")).json()
    assert details["id"] == cid and details["message_count"] == 2
    assert [m["content"] for m in details["messages"]] == ["tides", "tides"]
    # "`DELETE /conversations/{id}` - Delete conversations"
    deleted = await client.delete(f"/conversations/{cid}")
    assert deleted.status_code == 200 and deleted.json()["id"] == cid
    assert (await client.get(f"/conversations/{cid}")).status_code == 404


async def test_bad_messages_are_refused(client: httpx.AsyncClient) -> None:
    cid = (await _conversation(client))["id"]
    # "Validates conversation exists and message not empty"
    for empty in ("", "   "):
        refused = await client.post(f"/conversations/{cid}/messages", json={"content": empty})
        assert refused.status_code == 422
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        await client.post(f"/conversations/{missing}/messages", json={"content": "x"})
    ).status_code == 404
    # nothing to answer yet
    assert (await client.get(f"/conversations/{cid}/stream")).status_code == 409
    # a model name is `vendor/model`; anything else is refused at once
    bad_model = await client.post("/conversations", json={"default_model": "no model"})
    assert bad_model.status_code == 422


async def test_a_failed_reply_is_reported_then_done(client: httpx.AsyncClient) -> None:
    cid = (await _conversation(client))["id"]
    await client.post(f"/conversations/{cid}/messages", json={"content": "a b c"})
    frames = await read_sse(client, f"/conversations/{cid}/stream?model=mock/fail")
    # "Handles errors gracefully": an `error` frame, then `done`
    assert frames[-1].data == {"done": True}
    assert frames[-2].data["error"]


async def test_works_without_auth_under_dev_mode_and_with_basic_otherwise(
    anonymous: httpx.AsyncClient, dev_client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    assert (await anonymous.get("/conversations")).status_code == 401
    cid = (await _conversation(dev_client, default_model="mock/echo"))["id"]
    await dev_client.post(f"/conversations/{cid}/messages", json={"content": "dev"})
    frames = await read_sse(dev_client, f"/conversations/{cid}/stream")
    assert frames[-1].data == {"done": True}
    # another user sees none of it
    assert (await other_client.get(f"/conversations/{cid}")).status_code == 404


async def test_openrouter_calls_carry_the_attribution_headers(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    model = "openrouter/meta-llama/llama-3.1-8b-instruct"
    cid = (await _conversation(client, default_model=model))["id"]
    await client.post(f"/conversations/{cid}/messages", json={"content": "hello"})
    frames = await read_sse(client, f"/conversations/{cid}/stream")
    assert frames[-1].data == {"done": True}
    sent = fake.requests("/openrouter/v1/chat/completions")
    # `"HTTP-Referer": APP_URL,      # Attribution`; `"X-Title": APP_TITLE,          # Attribution`
    assert sent[0]["headers"]["http-referer"] == "https://switchyard.test"
    assert sent[0]["headers"]["x-title"] == "Switchyard Tests"
    # `json={"model": selected_model, "messages": chat_messages, "stream": True}`
    assert sent[0]["body"]["model"] == "meta-llama/llama-3.1-8b-instruct"
    assert sent[0]["body"]["stream"] is True
    assert sent[0]["body"]["messages"][-1] == {"role": "user", "content": "hello"}


async def _raw_stream(client: httpx.AsyncClient, url: str) -> str:
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        return (await response.aread()).decode()


async def test_a_fetch_reader_gets_the_documents_framing(client: httpx.AsyncClient) -> None:
    # "Creates new conversation with optional `default_model`": a frontend may POST no body
    created = await client.post("/conversations")
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    # unknown keys a frontend keeps on its message objects are ignored, as pydantic did
    sent = {"content": "two words", "role": "user", "conversation_id": cid}
    assert (await client.post(f"/conversations/{cid}/messages", json=sent)).status_code == 201
    raw = await _raw_stream(client, f"/conversations/{cid}/stream?model=mock/echo")
    # `yield f"data: {json.dumps({'content': content})}\n\n"`: a reader that splits the body on
    # "\n\n" and strips "data: " (the document's own server does `line[6:]`) reads every frame
    assert "\r" not in raw
    frames = [part[6:] for part in raw.split("\n\n") if part.startswith("data: ")]
    data = [json.loads(frame) for frame in frames]
    # `yield f"data: {json.dumps({'done': True})}\n\n"`, byte for byte
    assert frames[-1] == json.dumps({"done": True})
    assert "".join(d["content"] for d in data[:-1]) == "two words"


async def test_an_openrouter_model_name_goes_through_openrouter(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    # the frontend's models are OpenRouter's, `vendor/model` ("Created conversation abc-123
    # with model openai/gpt-3.5-turbo"); a vendor that is no provider here is OpenRouter's
    model = "meta-llama/llama-3.1-8b-instruct"
    conversation = await _conversation(client, default_model=model)
    cid = conversation["id"]
    await client.post(f"/conversations/{cid}/messages", json={"content": "hello"})
    frames = await read_sse(client, f"/conversations/{cid}/stream")
    assert frames[-1].data == {"done": True} and "error" not in frames[-2].data
    sent = fake.requests("/openrouter/v1/chat/completions")
    assert sent[-1]["body"]["model"] == model
    # the model override and `?model=` take the same names
    await client.post(f"/conversations/{cid}/messages", json={"content": "x", "model": model})
    again = await read_sse(client, f"/conversations/{cid}/stream?model={model}")
    assert again[-1].data == {"done": True} and "error" not in again[-2].data


async def test_an_empty_model_is_no_model(client: httpx.AsyncClient) -> None:
    # "Creates new conversation with optional `default_model`", "Accepts user message with
    # optional model override", "Supports optional model query parameter": a frontend with no
    # model picked sends it empty (`?model=${selected}`), which is no model, not a bad one
    created = await client.post("/conversations", json={"default_model": ""})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    sent = await client.post(f"/conversations/{cid}/messages", json={"content": "hi", "model": ""})
    assert sent.status_code == 201 and sent.json()["model"] is None
    frames = await read_sse(client, f"/conversations/{cid}/stream?model=")
    assert frames[-1].data == {"done": True} and "error" not in frames[-2].data
