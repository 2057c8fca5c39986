"""The OpenRouter chat's API, driven as its frontend did: post a message, then stream the reply."""

from __future__ import annotations

import httpx

from tests.support.clients import read_sse


async def _conversation(client: httpx.AsyncClient, **fields: object) -> dict:
    response = await client.post("/conversations", json={"title": "moons", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def _say(client: httpx.AsyncClient, conversation_id: str, content: str) -> dict:
    response = await client.post(
        f"/conversations/{conversation_id}/messages", json={"content": content}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_models_are_listed_as_data(client: httpx.AsyncClient) -> None:
    models = (await client.get("/models")).json()
    assert "mock/echo" in [m["id"] for m in models["data"]]


async def test_a_message_is_answered_over_the_stream(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo")
    cid = conversation["id"]
    asked = await _say(client, cid, "how many moons")
    assert asked["role"] == "user" and asked["content"] == "how many moons"

    frames = await read_sse(client, f"/conversations/{cid}/stream?model=mock/echo")
    assert [f.data for f in frames][-1] == {"done": True}
    assert "".join(f.data["content"] for f in frames[:-1]) == "how many moons"

    messages = (await client.get(f"/conversations/{cid}/messages")).json()
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "how many moons"),
        ("assistant", "how many moons"),
    ]
    again = await read_sse(client, f"/conversations/{cid}/stream?model=mock/echo")
    assert [f.data for f in again] == [f.data for f in frames]  # followed, not asked again
    assert len((await client.get(f"/conversations/{cid}/messages")).json()) == 2

    listed = (await client.get("/conversations")).json()
    assert [(c["id"], c["message_count"]) for c in listed] == [(cid, 2)]


async def test_conversations_are_read_renamed_and_deleted(client: httpx.AsyncClient) -> None:
    cid = (await _conversation(client))["id"]
    assert (await client.get(f"/conversations/{cid}")).json()["title"] == "moons"
    renamed = await client.patch(f"/conversations/{cid}", json={"title": "tides"})
    assert renamed.json()["title"] == "tides"
    assert (await client.delete(f"/conversations/{cid}")).status_code == 204
    assert (await client.get(f"/conversations/{cid}")).status_code == 404


async def test_the_stream_reports_a_failed_reply_then_done(client: httpx.AsyncClient) -> None:
    cid = (await _conversation(client))["id"]
    empty = await client.get(f"/conversations/{cid}/stream")
    assert empty.status_code == 409
    await _say(client, cid, "a b c d e f")
    frames = await read_sse(client, f"/conversations/{cid}/stream?model=mock/fail")
    assert frames[-1].data == {"done": True}
    assert frames[-2].data["code"] == "provider_unavailable"


async def test_another_users_conversation_is_404(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    cid = (await _conversation(client))["id"]
    await _say(client, cid, "mine")
    assert (await anonymous.get("/conversations")).status_code == 401
    for method, path, body in [
        ("GET", f"/conversations/{cid}", None),
        ("PATCH", f"/conversations/{cid}", {"title": "theirs"}),
        ("DELETE", f"/conversations/{cid}", None),
        ("GET", f"/conversations/{cid}/messages", None),
        ("POST", f"/conversations/{cid}/messages", {"content": "theirs"}),
        ("GET", f"/conversations/{cid}/stream", None),
    ]:
        response = await other_client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert (await other_client.get("/conversations")).json() == []
