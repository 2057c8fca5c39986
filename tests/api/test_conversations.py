"""Conversations: history kept, replies stored, and the four multitask strategies."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.clients import read_sse

SLOW_TEXT = " ".join(f"r{i}" for i in range(25))  # 5 s at mock/echo-slow's pace


async def _conversation(client: httpx.AsyncClient, **fields: object) -> dict:
    response = await client.post("/api/conversations", json={"title": "t", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def _say(client: httpx.AsyncClient, conversation: dict, content: str, **extra: object):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/conversations/{conversation['id']}/messages", json={"content": content, **extra}
    )


async def _wait_first_token(client: httpx.AsyncClient, job: dict) -> None:
    await read_sse(client, job["events_url"], limit=2)  # status, first token


async def _messages(client: httpx.AsyncClient, conversation: dict) -> list[dict]:
    response = await client.get(f"/api/conversations/{conversation['id']}/messages")
    assert response.status_code == 200
    return response.json()


async def test_crud_and_ownership(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    conversation = await _conversation(client, model="mock/echo", system_prompt="be brief")
    path = f"/api/conversations/{conversation['id']}"
    patched = await client.patch(path, json={"title": "renamed"})
    assert patched.json()["title"] == "renamed" and patched.json()["system_prompt"] == "be brief"
    listed = (await client.get("/api/conversations")).json()["items"]
    assert listed[0]["id"] == conversation["id"] and listed[0]["message_count"] == 0
    for method in ("GET", "PATCH", "DELETE"):
        response = await other_client.request(method, path, json={"title": "x"})
        assert response.status_code == 404
    assert (await other_client.get(f"{path}/messages")).status_code == 404
    assert (await _say(other_client, conversation, "hi")).status_code == 404
    assert (await client.patch(path, json={"model": "nope/x"})).status_code == 422
    assert (await client.patch(path, json={"title": None})).status_code == 422
    assert (await client.delete(path)).status_code == 204
    assert (await client.get(path)).status_code == 404


async def test_reply_is_stored_with_model_and_usage(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo")
    accepted = await _say(client, conversation, "hello history")
    assert accepted.status_code == 202
    job = accepted.json()["job"]
    frames = await read_sse(client, job["events_url"])
    assert [f.event for f in frames][-3:] == ["message", "result", "done"]
    stored = await _messages(client, conversation)
    assert [(m["role"], m["content"], m["complete"]) for m in stored] == [
        ("user", "hello history", True),
        ("assistant", "hello history", True),
    ]
    assert stored[1]["model"] == "mock/echo" and stored[1]["usage"]["output_tokens"] == 2
    assert stored[1]["job_id"] == job["id"] == stored[0]["job_id"]
    assert frames[-3].data["message"]["id"] == stored[1]["id"]
    count = (await client.get(f"/api/conversations/{conversation['id']}")).json()["message_count"]
    assert count == 2


async def test_enqueue_answers_in_order_after_the_running_reply(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    first = (await _say(client, conversation, "a b c d e")).json()["job"]
    second = (await _say(client, conversation, "f g", model="mock/echo")).json()["job"]
    await asyncio.gather(
        read_sse(client, first["events_url"]), read_sse(client, second["events_url"])
    )
    stored = await _messages(client, conversation)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "a b c d e"),
        ("assistant", "a b c d e"),
        ("user", "f g"),
        ("assistant", "f g"),
    ]
    one = (await client.get(f"/api/jobs/{first['id']}")).json()
    two = (await client.get(f"/api/jobs/{second['id']}")).json()
    assert two["first_token_at"] > one["finished_at"]


async def test_reject_refuses_while_a_reply_runs(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    first = (await _say(client, conversation, SLOW_TEXT)).json()["job"]
    await _wait_first_token(client, first)
    refused = await _say(client, conversation, "again", multitask_strategy="reject")
    assert refused.status_code == 409
    assert "still running" in refused.json()["detail"]
    await client.post(f"/api/jobs/{first['id']}/cancel")


async def test_concurrent_rejects_let_exactly_one_through(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    answers = await asyncio.gather(
        *(_say(client, conversation, f"race {i}", multitask_strategy="reject") for i in range(6))
    )
    assert sorted(r.status_code for r in answers) == [202] + [409] * 5
    [accepted] = [r.json() for r in answers if r.status_code == 202]
    await client.post(f"/api/jobs/{accepted['job']['id']}/cancel")


async def test_a_conversation_holds_a_bounded_line_of_waiting_replies(
    client: httpx.AsyncClient,
) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    queued = [(await _say(client, conversation, SLOW_TEXT)).json()["job"] for _ in range(8)]
    over = await _say(client, conversation, "one more")
    assert over.status_code == 409 and "waiting" in over.json()["detail"]
    rolled_back = await _say(client, conversation, "instead", multitask_strategy="rollback")
    assert rolled_back.status_code == 202
    for job in queued:
        frames = await read_sse(client, job["events_url"])
        assert frames[-1].data["status"] == "cancelled"


async def test_interrupt_keeps_what_the_reply_said(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    first = (await _say(client, conversation, SLOW_TEXT)).json()["job"]
    await _wait_first_token(client, first)
    second = (
        await _say(client, conversation, "next", model="mock/echo", multitask_strategy="interrupt")
    ).json()["job"]
    first_frames = await read_sse(client, first["events_url"])
    await read_sse(client, second["events_url"])
    assert first_frames[-1].data["status"] == "cancelled"
    stored = await _messages(client, conversation)
    roles = [(m["role"], m["complete"]) for m in stored]
    assert roles == [("user", True), ("assistant", False), ("user", True), ("assistant", True)]
    partial = "".join(f.data["delta"] for f in first_frames if f.event == "token")
    assert stored[1]["content"] == partial and SLOW_TEXT.startswith(partial)
    assert stored[3]["content"] == "next"


async def test_rollback_discards_the_running_reply(client: httpx.AsyncClient) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    first = (await _say(client, conversation, SLOW_TEXT)).json()["job"]
    await _wait_first_token(client, first)
    second = (
        await _say(
            client, conversation, "instead", model="mock/echo", multitask_strategy="rollback"
        )
    ).json()["job"]
    await read_sse(client, second["events_url"])
    assert (await client.get(f"/api/jobs/{first['id']}")).json()["status"] == "cancelled"
    stored = await _messages(client, conversation)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", SLOW_TEXT),
        ("user", "instead"),
        ("assistant", "instead"),
    ]


async def test_deleting_a_conversation_cancels_its_running_reply(
    client: httpx.AsyncClient,
) -> None:
    conversation = await _conversation(client, model="mock/echo-slow")
    job = (await _say(client, conversation, SLOW_TEXT)).json()["job"]
    await _wait_first_token(client, job)
    assert (await client.delete(f"/api/conversations/{conversation['id']}")).status_code == 204
    frames = await read_sse(client, job["events_url"])
    assert frames[-1].data["status"] == "cancelled"
    assert (await client.get(f"/api/jobs/{job['id']}")).json()["conversation_id"] is None


async def test_websocket_sends_a_message_and_streams_its_reply(
    client: httpx.AsyncClient,
    stack,
    user,  # type: ignore[no-untyped-def]
) -> None:
    import json

    import websockets

    from tests.support.clients import basic_header, ws_url

    conversation = await _conversation(client, model="mock/echo")
    async with websockets.connect(
        ws_url(stack.base_url), additional_headers=basic_header(*user)
    ) as socket:
        await socket.send(
            json.dumps(
                {
                    "op": "message",
                    "conversation_id": conversation["id"],
                    "content": "over the socket",
                }
            )
        )
        accepted = json.loads(await socket.recv())
        assert accepted["type"] == "message_accepted"
        assert accepted["message"]["content"] == "over the socket"
        events = []
        while not events or events[-1]["event"] != "done":
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if frame["type"] == "event":
                events.append(frame)
    assert all(e["job_id"] == accepted["job"]["id"] for e in events)
    tokens = "".join(e["data"]["delta"] for e in events if e["event"] == "token")
    assert tokens == "over the socket"
    stored = await _messages(client, conversation)
    assert [m["role"] for m in stored] == ["user", "assistant"]
