"""Two-agent runs on the real stack with the mock provider (the wire fakes cover providers)."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.clients import Frame, read_sse
from tests.support.processes import Stack


def _run(model0: str = "mock/echo", model1: str = "mock/echo", **extra: object) -> dict:
    return {
        "bots": [
            {"name": "Ada", "model": model0, "system_prompt": "You are Ada.", "temperature": 0.3},
            {"name": "Bob", "model": model1, "system_prompt": "You are Bob.", "max_tokens": 50},
        ],
        "topic": "tides and moons",
        "max_turns": 4,
        **extra,
    }


async def _create(client: httpx.AsyncClient, body: dict) -> dict:
    response = await client.post("/api/runs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


async def test_bots_alternate_for_max_turns(client: httpx.AsyncClient) -> None:
    run = await _create(client, _run())
    frames = await read_sse(client, run["events_url"])
    starts = [(f.data["turn"], f.data["bot"]) for f in frames if f.event == "turn_start"]
    assert starts == [(0, 0), (1, 1), (2, 0), (3, 1)]
    ends = [f for f in frames if f.event == "turn_end"]
    assert [e.data["content"] for e in ends] == ["tides and moons"] * 4
    tokens = [f for f in frames if f.event == "token"]
    assert {(t.data["turn"], t.data["bot"]) for t in tokens} == set(starts)
    assert frames[-1].data["status"] == "succeeded"
    job = (await client.get(f"/api/jobs/{run['id']}")).json()
    assert job["result"]["turns_completed"] == 4
    assert job["usage"]["output_tokens"] == 12


async def test_export_matches_the_stream_while_running_and_after(client: httpx.AsyncClient) -> None:
    run = await _create(client, _run("mock/echo-slow", "mock/echo-slow"))
    snapshots: list[tuple[list[Frame], dict]] = []
    seen: list[Frame] = []

    async def export_after_turn_end(frame: Frame) -> None:
        seen.append(frame)
        if frame.event == "turn_end" and frame.data["turn"] == 1:
            export = (await client.get(f"/api/runs/{run['id']}/export.json")).json()
            snapshots.append((list(seen), export))

    frames = await read_sse(client, run["events_url"], on_frame=export_after_turn_end)
    partial_frames, partial = snapshots[0]
    assert partial["status"] == "running"
    assert [t["content"] for t in partial["turns"]] == [
        f.data["content"] for f in partial_frames if f.event == "turn_end"
    ]
    final = (await client.get(f"/api/runs/{run['id']}/export.json")).json()
    assert final["status"] == "succeeded"
    ends = [f.data for f in frames if f.event == "turn_end"]
    assert [
        (t["turn"], t["bot"], t["model"], t["content"], t["usage"]) for t in final["turns"]
    ] == [(e["turn"], e["bot"], e["model"], e["content"], e["usage"]) for e in ends]
    assert [t["name"] for t in final["turns"]] == ["Ada", "Bob", "Ada", "Bob"]
    assert final["usage"]["output_tokens"] == sum(e["usage"]["output_tokens"] for e in ends)
    markdown = (await client.get(f"/api/runs/{run['id']}/export.md")).text
    assert "## Turn 4 — Bob (`mock/echo-slow`)" in markdown


async def test_patch_applies_from_the_next_turn(client: httpx.AsyncClient) -> None:
    run = await _create(client, _run("mock/echo-slow", "mock/echo-slow"))
    patched: list[dict] = []

    async def patch_during_turn_0(frame: Frame) -> None:
        if frame.event == "token" and frame.data["turn"] == 0 and not patched:
            response = await client.patch(
                f"/api/runs/{run['id']}/bots/0", json={"model": "mock/echo", "temperature": 1.2}
            )
            assert response.status_code == 202, response.text
            patched.append(response.json())

    frames = await read_sse(client, run["events_url"], on_frame=patch_during_turn_0)
    applied = [f.data for f in frames if f.event == "patch_applied"]
    assert applied == [
        {
            "job_id": run["id"],
            "type": "patch_applied",
            "bot": 0,
            "changes": {"model": "mock/echo", "temperature": 1.2},
            "applies_from_turn": 1,
        }
    ]
    models = [(f.data["turn"], f.data["model"]) for f in frames if f.event == "turn_start"]
    assert models == [
        (0, "mock/echo-slow"),
        (1, "mock/echo-slow"),
        (2, "mock/echo"),
        (3, "mock/echo-slow"),
    ]
    export = (await client.get(f"/api/runs/{run['id']}/export.json")).json()
    assert export["patches"][0]["applies_from_turn"] == 1
    assert export["bots"][0]["model"] == "mock/echo-slow"  # as created


async def test_a_patch_during_the_last_turn_is_a_409_not_a_silent_no_op(
    client: httpx.AsyncClient,
) -> None:
    run = await _create(client, _run("mock/echo-slow", "mock/echo-slow", max_turns=2))
    answers: list[httpx.Response] = []

    async def patch_during_last_turn(frame: Frame) -> None:
        if frame.event == "token" and frame.data["turn"] == 1 and not answers:
            answers.append(
                await client.patch(f"/api/runs/{run['id']}/bots/0", json={"temperature": 1.0})
            )

    frames = await read_sse(client, run["events_url"], on_frame=patch_during_last_turn)
    assert answers[0].status_code == 409 and "last turn" in answers[0].json()["detail"]
    assert not [f for f in frames if f.event == "patch_applied"]
    assert (await client.get(f"/api/runs/{run['id']}/export.json")).json()["patches"] == []


async def test_stop_ends_the_run_within_a_second_keeping_the_partial_turn(
    client: httpx.AsyncClient,
) -> None:
    body = _run("mock/echo-slow", "mock/echo-slow", topic=" ".join(f"w{i}" for i in range(20)))
    run = await _create(client, body)
    stopped_at: list[float] = []

    async def stop_mid_turn_1(frame: Frame) -> None:
        if frame.event == "token" and frame.data["turn"] == 1 and not stopped_at:
            stopped_at.append(frame.at)
            assert (await client.post(f"/api/runs/{run['id']}/stop")).status_code == 200

    frames = await read_sse(client, run["events_url"], on_frame=stop_mid_turn_1)
    assert frames[-1].event == "done" and frames[-1].data["status"] == "cancelled"
    assert frames[-1].at - stopped_at[0] < 1.0
    partial_end = [f.data for f in frames if f.event == "turn_end"][-1]
    assert partial_end["turn"] == 1 and partial_end["complete"] is False
    export = (await client.get(f"/api/runs/{run['id']}/export.json")).json()
    assert export["status"] == "cancelled"
    assert [(t["turn"], t["complete"]) for t in export["turns"]] == [(0, True), (1, False)]
    assert export["turns"][1]["content"] == partial_end["content"] != ""
    assert (
        await client.patch(f"/api/runs/{run['id']}/bots/1", json={"temperature": 0.1})
    ).status_code == 409


async def test_killed_worker_resumes_the_run_without_doubling_a_turn(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    run = await _create(client, _run("mock/echo-slow", "mock/echo-slow"))
    killed: list[bool] = []

    async def kill_during_turn_2(frame: Frame) -> None:
        if frame.event == "token" and frame.data["turn"] == 2 and not killed:
            killed.append(True)
            stack.worker().kill()
            stack.start_worker("llm")

    frames = await read_sse(client, run["events_url"], timeout=60, on_frame=kill_during_turn_2)
    statuses = [(f.data["status"], f.data["attempt"]) for f in frames if f.event == "status"]
    assert statuses == [("running", 1), ("queued", 1), ("running", 2)]
    assert frames[-1].data["status"] == "succeeded"
    export = (await client.get(f"/api/runs/{run['id']}/export.json")).json()
    assert [(t["turn"], t["bot"], t["complete"]) for t in export["turns"]] == [
        (0, 0, True),
        (1, 1, True),
        (2, 0, True),
        (3, 1, True),
    ]
    assert [t["attempt"] for t in export["turns"]] == [1, 1, 2, 2]
    resumed = frames[[f.event for f in frames].index("status", 1) + 1 :]
    assert [f.data["turn"] for f in resumed if f.event == "turn_start"] == [2, 3]


async def test_eleventh_run_in_a_minute_is_429_across_two_api_processes(
    stack: Stack, user: tuple[str, str]
) -> None:
    second = Stack(workdir=stack.workdir, env=stack.env)
    second.start_api()
    try:
        second.wait_ready(("llm",))
        body = _run(max_turns=1)
        async with httpx.AsyncClient(auth=user, timeout=30) as http:
            answers = await asyncio.gather(
                *[
                    http.post(f"{(stack if i % 2 else second).base_url}/api/runs", json=body)
                    for i in range(10)
                ]
            )
            assert [a.status_code for a in answers] == [202] * 10
            over = await http.post(f"{second.base_url}/api/runs", json=body)
        assert over.status_code == 429
        assert 1 <= int(over.headers["retry-after"]) <= 60
        assert "rate limit" in over.json()["detail"]
    finally:
        second.stop()


async def test_bad_runs_are_rejected_with_the_field_named(client: httpx.AsyncClient) -> None:
    one_bot = {**_run(), "bots": _run()["bots"][:1]}
    assert "bots" in str((await client.post("/api/runs", json=one_bot)).json())
    unknown = _run("nope/x")
    response = await client.post("/api/runs", json=unknown)
    assert response.status_code == 422 and response.json()["field"] == "model"
    run = await _create(client, _run(max_turns=1))
    bad_index = await client.patch(f"/api/runs/{run['id']}/bots/2", json={"temperature": 1})
    assert bad_index.status_code == 404
    empty = await client.patch(f"/api/runs/{run['id']}/bots/0", json={})
    assert empty.status_code == 422

