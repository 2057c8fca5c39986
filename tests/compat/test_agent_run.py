"""seeds/001, the two-agent run plan, played as its frontend: start a run, read the SSE
stream of token deltas and turn markers, steer a bot mid-run, stop, export.

Each assertion quotes the document line it rests on."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.fakes.control import FakeProviders
from tests.support.clients import Frame, read_sse
from tests.support.processes import Stack

BOTS = [
    {"provider": "mock", "model": "echo", "prompt": "You are bot zero.", "temperature": 0.7},
    {"provider": "mock", "model": "echo", "prompt": "You are bot one.", "temperature": 0.2},
]


async def _start(client: httpx.AsyncClient, **fields: object) -> str:
    body = {"bots": BOTS, "max_turns": 4, "topic": "tides and moons", **fields}
    response = await client.post("/api/run", json=body)
    # "| POST | `/api/run` | `RunCreate` (2 bots, max_turns, topic) | Start run, returns `{id}` |"
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_a_run_streams_token_deltas_and_turn_markers(client: httpx.AsyncClient) -> None:
    run_id = await _start(client)
    frames = await read_sse(client, f"/api/stream/{run_id}")
    # `yield {"type": "token", "role": f"bot{agent_idx}", "delta": delta}`: data-only frames,
    # read by EventSource's onmessage (no `event:` name)
    assert {f.event for f in frames} == {"message"}
    data = [f.data for f in frames]
    tokens = [d for d in data if d["type"] == "token"]
    # `agent_idx = turn % 2  # 0,1,0,1…`
    roles = [d["role"] for d in tokens]
    assert roles[0] == "bot0" and set(roles) == {"bot0", "bot1"}
    # `yield {"type": "turn_complete", "turn": turn}` for turn in range(max_turns)
    assert [d["turn"] for d in data if d["type"] == "turn_complete"] == [0, 1, 2, 3]
    # the first turn answers `messages = [{"role": "user", "content": initial_topic}]`
    first_turn = data[: next(i for i, d in enumerate(data) if d["type"] == "turn_complete")]
    assert "".join(d["delta"] for d in first_turn if d["type"] == "token") == "tides and moons"
    assert data[-1] == {"type": "done", "status": "completed"}
    # "`status: str  # 'running', 'completed', 'cancelled', 'error'`" ... "for `/export`"
    export = await client.get(f"/api/export/{run_id}.json")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]  # "transcript download"
    body = export.json()
    assert body["status"] == "completed" and body["error_message"] is None
    # `transcript.append(ChatMessage(role=f"bot{agent_idx}", content=full_content))`
    assert [m["role"] for m in body["transcript"]] == ["bot0", "bot1", "bot0", "bot1"]
    assert body["transcript"][0]["content"] == "tides and moons"
    assert [b["prompt"] for b in body["bots"]] == ["You are bot zero.", "You are bot one."]


async def test_the_stream_resumes_after_last_event_id(client: httpx.AsyncClient) -> None:
    run_id = await _start(client, max_turns=2)
    whole = await read_sse(client, f"/api/stream/{run_id}")
    # "Handle client disconnections gracefully": EventSource reconnects with Last-Event-ID
    rest = await read_sse(client, f"/api/stream/{run_id}", headers={"Last-Event-ID": whole[2].id})
    assert [f.data for f in rest] == [f.data for f in whole[3:]]


async def test_a_patched_bot_applies_from_the_next_turn(
    client: httpx.AsyncClient, fake: FakeProviders
) -> None:
    fake.script(token_delay_ms=30, reply="one two three four five six")
    bots = [
        {"provider": "openai", "model": "gpt-4o-mini", "prompt": "Zero.", "temperature": 0.7},
        {"provider": "openai", "model": "gpt-4o-mini", "prompt": "One.", "temperature": 0.9},
    ]
    run_id = await _start(client, bots=bots, max_turns=4)
    patched: list[dict] = []

    async def steer(frame: Frame) -> None:
        if frame.data["type"] == "token" and not patched:
            # "| PATCH | `/api/run/{id}/bot/{index}` | `BotPatch` (prompt?, temperature?) |"
            response = await client.patch(
                f"/api/run/{run_id}/bot/1", json={"prompt": "Be brief.", "temperature": 0.1}
            )
            assert response.status_code == 200, response.text
            patched.append(response.json())

    frames = await read_sse(client, f"/api/stream/{run_id}", on_frame=steer, timeout=60)
    assert patched[0]["bot"] == {"prompt": "Be brief.", "temperature": 0.1}
    assert frames[-1].data == {"type": "done", "status": "completed"}
    # "changes take effect on the very next turn": bot1's turns (1 and 3) use the patch
    sent = [r["body"] for r in fake.requests("/chat/completions")]
    assert len(sent) == 4
    assert [b["temperature"] for b in sent] == [0.7, 0.1, 0.7, 0.1]
    assert sent[1]["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_stop_cancels_the_run_and_export_keeps_the_partial_transcript(
    client: httpx.AsyncClient,
) -> None:
    bots = [dict(BOTS[0], model="echo-slow"), dict(BOTS[1], model="echo-slow")]
    run_id = await _start(client, bots=bots, max_turns=20, topic=" ".join(["word"] * 40))
    first: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_frame(frame: Frame) -> None:
        if not first.done():
            first.set_result(None)

    reading = asyncio.create_task(read_sse(client, f"/api/stream/{run_id}", on_frame=on_frame))
    await asyncio.wait_for(first, 30)
    # "| POST | `/api/run/{id}/stop` | – | Cancel background task |"  # noqa: RUF003
    stopped = await client.post(f"/api/run/{run_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json() == {"id": run_id, "status": "cancelled"}
    frames = await asyncio.wait_for(reading, 30)
    assert frames[-1].data == {"type": "done", "status": "cancelled"}
    # "| GET | `/api/export/{id}.json` | – | Final or partial transcript download |"  # noqa: RUF003
    export = (await client.get(f"/api/export/{run_id}.json")).json()
    assert export["status"] == "cancelled"
    assert len(export["transcript"]) < 20


async def test_a_provider_error_is_an_error_frame(client: httpx.AsyncClient) -> None:
    bots = [dict(BOTS[0], model="fail"), BOTS[1]]
    run_id = await _start(client, bots=bots, max_turns=2)
    data = [f.data for f in await read_sse(client, f"/api/stream/{run_id}")]
    # `yield {"type": "error", "message": error_msg}` with `f"Provider error: {str(e)}"`
    errors = [d for d in data if d["type"] == "error"]
    assert errors and errors[0]["message"].startswith("Provider error: ")
    export = (await client.get(f"/api/export/{run_id}.json")).json()
    # `status = "error"; error_message = error_msg`
    assert export["status"] == "error" and export["error_message"]


async def test_bad_runs_are_refused(client: httpx.AsyncClient) -> None:
    # "Ensure ... reject invalid input" (Pydantic schemas): one bot is not two
    one_bot = await client.post("/api/run", json={"bots": BOTS[:1], "topic": "x"})
    assert one_bot.status_code == 422
    no_topic = await client.post("/api/run", json={"bots": BOTS, "max_turns": 2})
    assert no_topic.status_code == 422
    bad_index = await client.patch(
        f"/api/run/{await _start(client, max_turns=1)}/bot/2", json={"prompt": "x"}
    )
    assert bad_index.status_code in (404, 422)


async def test_api_routes_need_basic_auth_unless_dev_mode(
    anonymous: httpx.AsyncClient, dev_client: httpx.AsyncClient
) -> None:
    # "All `/api/**` guarded by Basic Auth unless `DEV_MODE=true`."
    refused = await anonymous.post("/api/run", json={"bots": BOTS, "topic": "x"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    run_id = await _start(dev_client, max_turns=1)
    frames = await read_sse(dev_client, f"/api/stream/{run_id}")
    assert frames[-1].data == {"type": "done", "status": "completed"}
    # "| GET | `/health` | – | Health check endpoint for monitoring |"  # noqa: RUF003
    assert (await anonymous.get("/health")).status_code == 200


async def test_starting_runs_is_limited_to_10_a_minute(stack: Stack, sessions: object) -> None:
    from tests.conftest import create_user

    user = await create_user(sessions)
    async with httpx.AsyncClient(base_url=stack.base_url, auth=user, timeout=30) as client:
        body = {"bots": BOTS, "max_turns": 1, "topic": "x"}
        answers = [await client.post("/api/run", json=body) for _ in range(11)]
    # "`slowapi` decorator `@limiter.limit("10/minute")` on `/api/run`."
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429 and int(answers[10].headers["retry-after"]) > 0
    assert json.loads(answers[10].text)["code"] == "rate_limited"


async def test_a_fetch_reader_gets_plain_newline_frames(client: httpx.AsyncClient) -> None:
    # a bot as a frontend may keep it, with keys the plan's `BotConfig` never named: ignored
    bots = [{**bot, "name": f"Bot {i}", "color": "teal"} for i, bot in enumerate(BOTS)]
    run_id = await _start(client, bots=bots, max_turns=2)
    async with client.stream("GET", f"/api/stream/{run_id}") as response:
        raw = (await response.aread()).decode()
    # "SSE stream of token deltas & turn markers": every frame ends in a blank line, "\n\n",
    # so a reader splitting on it (or on "\n", taking `data: ` lines) gets whole JSON objects
    assert "\r" not in raw
    lines = [line[len("data: ") :] for line in raw.split("\n") if line.startswith("data: ")]
    data = [json.loads(line) for line in lines]
    # `yield {"type": "turn_complete", "turn": turn}`
    assert [d["turn"] for d in data if d["type"] == "turn_complete"] == [0, 1]
    assert all(part.startswith(("id: ", "data: ", ":")) for part in raw.split("\n\n") if part)


async def test_the_topic_by_its_loop_name(client: httpx.AsyncClient) -> None:
    # `messages = [{"role": "user", "content": initial_topic}]`: the loop's name for the topic
    body = {"bots": BOTS, "max_turns": 1, "initial_topic": "ebb and flow"}
    response = await client.post("/api/run", json=body)
    assert response.status_code == 200, response.text
    frames = await read_sse(client, f"/api/stream/{response.json()['id']}")
    tokens = [f.data["delta"] for f in frames if f.data["type"] == "token"]
    assert "".join(tokens) == "ebb and flow"


async def test_a_patch_as_the_frontend_sends_it(client: httpx.AsyncClient) -> None:
    bots = [dict(BOTS[0], model="echo-slow"), dict(BOTS[1], model="echo-slow")]
    run_id = await _start(client, bots=bots, max_turns=6, topic="word " * 30)
    url = f"/api/run/{run_id}/bot/0"
    # `bots: list[BotConfig]  # this dict may be patched at runtime via PATCH endpoint`: the
    # frontend may send the bot's whole edited dict back, keys and all
    edited = {**BOTS[0], "prompt": "Now be terse.", "color": "teal"}
    response = await client.patch(url, json=edited)
    assert response.status_code == 200, response.text
    bot = response.json()["bot"]
    assert bot["prompt"] == "Now be terse." and bot["model"] == "mock/echo"
    # "**pydantic**  – Schemas / validation": nothing to change, or out of range  # noqa: RUF003
    assert (await client.patch(url, json={})).status_code == 422
    assert (await client.patch(url, json={"temperature": 9})).status_code == 422
    assert (await client.post(f"/api/run/{run_id}/stop")).status_code == 200
