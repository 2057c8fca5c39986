"""The event log as clients see it: resume by id, late arrival, several clients, WebSocket."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import redis.asyncio as aioredis
import websockets

from tests.support.clients import Frame, basic_header, read_sse, ws_url
from tests.support.processes import Stack

WORDS = " ".join(f"w{i}" for i in range(12))
BODY = {"messages": [{"role": "user", "content": WORDS}], "model": "mock/echo"}


async def _submit(client: httpx.AsyncClient, body: dict = BODY) -> dict:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def _tokens(frames: list[Frame]) -> str:
    return "".join(f.data["delta"] for f in frames if f.event == "token")


async def test_resume_with_last_event_id_gets_exactly_the_rest(client: httpx.AsyncClient) -> None:
    job = await _submit(client)
    first = await read_sse(client, job["events_url"], limit=4)
    rest = await read_sse(client, job["events_url"], headers={"Last-Event-ID": first[-1].id})
    whole = await read_sse(client, job["events_url"])

    assert [f.id for f in first + rest] == [f.id for f in whole]
    assert first + rest == whole
    assert _tokens(whole) == WORDS
    assert whole[-1].event == "done"


async def test_resume_while_the_job_still_streams_gets_backlog_then_live_events(
    client: httpx.AsyncClient,
) -> None:
    """The reconnect lands mid-reply: part of the rest comes from the backlog, part live, and
    the seam between them has no gap and no duplicate."""
    words = "one two three four five six"
    job = await _submit(
        client, {"messages": [{"role": "user", "content": words}], "model": "mock/echo-slow"}
    )
    first = await read_sse(client, job["events_url"], limit=3)  # status + two tokens
    await asyncio.sleep(0.3)  # a token or two more land in the backlog meanwhile
    rest = await read_sse(client, job["events_url"], headers={"Last-Event-ID": first[-1].id})
    whole = await read_sse(client, job["events_url"])

    assert rest[0].event == "token", "some of the rest came from the backlog at once"
    assert rest[-1].at - rest[0].at > 0.3, "the tail of the reply arrived live"
    assert first + rest == whole
    assert _tokens(whole) == words


async def test_resume_with_after_query_parameter(client: httpx.AsyncClient) -> None:
    job = await _submit(client)
    whole = await read_sse(client, job["events_url"])
    for k in (1, 5, len(whole) - 1):
        rest = await read_sse(client, f"{job['events_url']}?after={whole[k - 1].id}")
        assert rest == whole[k:]


async def test_resume_after_done_ends_at_once(client: httpx.AsyncClient) -> None:
    job = await _submit(client)
    whole = await read_sse(client, job["events_url"])
    assert await read_sse(client, job["events_url"], headers={"Last-Event-ID": whole[-1].id}) == []


async def test_late_client_receives_the_whole_log(client: httpx.AsyncClient) -> None:
    job = (await client.post("/api/chat?wait=true", json=BODY)).json()
    assert job["status"] == "succeeded"
    frames = await read_sse(client, job["events_url"])
    assert frames[0].event == "status" and frames[-1].event == "done"
    assert _tokens(frames) == WORDS


async def test_two_clients_see_the_same_ids(client: httpx.AsyncClient) -> None:
    job = await _submit(client)
    one, two = await asyncio.gather(
        read_sse(client, job["events_url"]), read_sse(client, job["events_url"])
    )
    assert [f.id for f in one] == [f.id for f in two]
    assert one == two


async def test_websocket_carries_the_same_events_and_ids(
    client: httpx.AsyncClient, stack: Stack, user: tuple[str, str]
) -> None:
    job = await _submit(client)
    received: list[dict] = []
    async with websockets.connect(
        ws_url(stack.base_url), additional_headers=basic_header(*user)
    ) as socket:
        await socket.send(json.dumps({"op": "subscribe", "job_id": job["id"]}))
        assert json.loads(await socket.recv()) == {"type": "subscribed", "job_id": job["id"]}
        while not received or received[-1]["event"] != "done":
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert frame["type"] == "event" and frame["job_id"] == job["id"]
            received.append(frame)
    sse = await read_sse(client, job["events_url"])
    assert [(f["id"], f["event"], f["data"]) for f in received] == [
        (f.id, f.event, f.data) for f in sse
    ]


async def test_websocket_resumes_after_an_id_and_multiplexes_jobs(
    client: httpx.AsyncClient, stack: Stack, user: tuple[str, str]
) -> None:
    a = (await client.post("/api/chat?wait=true", json=BODY)).json()
    b = (await client.post("/api/chat?wait=true", json=BODY)).json()
    whole_a = await read_sse(client, a["events_url"])
    async with websockets.connect(
        ws_url(stack.base_url), additional_headers=basic_header(*user)
    ) as socket:
        await socket.send(
            json.dumps({"op": "subscribe", "job_id": a["id"], "after": whole_a[5].id})
        )
        await socket.send(json.dumps({"op": "subscribe", "job_id": b["id"]}))
        done: dict[str, list[str]] = {a["id"]: [], b["id"]: []}
        while sum(1 for ids in done.values() if ids and ids[-1] == "done") < 2:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if frame["type"] == "event":
                done[frame["job_id"]].append(frame["event"])
    assert len(done[a["id"]]) == len(whole_a) - 6
    assert done[b["id"]][0] == "status"


async def test_stream_is_rebuilt_from_postgres_after_redis_expiry(
    client: httpx.AsyncClient,
) -> None:
    job = (await client.post("/api/chat?wait=true", json=BODY)).json()
    before = await read_sse(client, job["events_url"])
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        assert await redis.delete(f"job:{job['id']}:events") == 1
    finally:
        await redis.aclose()
    after = await read_sse(client, job["events_url"])
    assert [(f.id, f.event, f.data) for f in after] == [(f.id, f.event, f.data) for f in before]
    rest = await read_sse(client, job["events_url"], headers={"Last-Event-ID": before[3].id})
    assert [f.id for f in rest] == [f.id for f in before[4:]]


async def test_bad_after_over_websocket_is_an_error_frame_not_a_dead_socket(
    client: httpx.AsyncClient, stack: Stack, user: tuple[str, str]
) -> None:
    job = (await client.post("/api/chat?wait=true", json=BODY)).json()
    async with websockets.connect(
        ws_url(stack.base_url), additional_headers=basic_header(*user)
    ) as socket:
        for after in (5, "nope", ["x"]):
            await socket.send(json.dumps({"op": "subscribe", "job_id": job["id"], "after": after}))
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert frame["type"] == "error" and frame["code"] == "invalid", frame
        # Already holding the whole log is no error: subscribed, nothing more, still alive.
        whole = await read_sse(client, job["events_url"])
        await socket.send(
            json.dumps({"op": "subscribe", "job_id": job["id"], "after": whole[-1].id})
        )
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "subscribed"
        await socket.send(json.dumps({"op": "ping"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "pong"}


async def test_bad_last_event_id_is_a_422(client: httpx.AsyncClient) -> None:
    job = await _submit(client)
    response = await client.get(job["events_url"], headers={"Last-Event-ID": "not-an-id"})
    assert response.status_code == 422
    assert response.json()["field"] == "after"
