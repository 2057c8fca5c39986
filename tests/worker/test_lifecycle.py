"""The job lifecycle across real processes: cancel, a worker killed mid-job, duplicates."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from shared.models import Job, User
from shared.queue import QUEUE_OF, TASKS, create_celery
from shared.repositories.jobs import JobRepository, NewJob
from shared.schemas.job_state import JobKind
from shared.settings import Settings
from tests.support.clients import Frame, read_sse
from tests.support.processes import Stack

SLOW = " ".join(f"s{i}" for i in range(30))


def _body(text: str, model: str = "mock/echo-slow") -> dict:
    return {"messages": [{"role": "user", "content": text}], "model": model}


async def _user_id(sessions, name: str) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.scalars(select(User.id).where(User.name == name))).one()


async def _queued_job(sessions, owner: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A job waiting in the queue (its message not yet taken by any worker)."""
    async with sessions.begin() as session:
        job, _ = await JobRepository(session).create(
            NewJob(kind=JobKind.chat, owner_id=owner, input=_body("never runs"), model="mock/echo")
        )
        return job.id


async def test_cancelling_a_queued_job_ends_it_at_once(
    client: httpx.AsyncClient,
    sessions,
    user: tuple[str, str],  # type: ignore[no-untyped-def]
) -> None:
    job_id = await _queued_job(sessions, await _user_id(sessions, user[0]))
    response = await client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    frames = await read_sse(client, f"/api/jobs/{job_id}/events", timeout=5)
    assert [(f.event, f.data["status"]) for f in frames] == [
        ("status", "cancelled"),
        ("done", "cancelled"),
    ]
    again = await client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_cancelling_a_streaming_job_stops_it_within_a_second(
    client: httpx.AsyncClient,
) -> None:
    job = (await client.post("/api/chat", json=_body(SLOW))).json()
    cancelled_at: list[float] = []

    async def cancel_after_two_tokens(frame: Frame) -> None:
        tokens = frame.event == "token"
        if tokens and not cancelled_at and int(frame.data["delta"].strip()[1:]) >= 1:
            cancelled_at.append(time.monotonic())
            response = await client.post(f"/api/jobs/{job['id']}/cancel")
            assert response.status_code == 200

    frames = await read_sse(client, job["events_url"], on_frame=cancel_after_two_tokens)

    assert frames[-1].event == "done" and frames[-1].data["status"] == "cancelled"
    assert frames[-1].at - cancelled_at[0] < 1.0
    late_tokens = [f for f in frames if f.event == "token" and f.at > cancelled_at[0] + 1.0]
    assert late_tokens == []
    stored = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert stored["status"] == "cancelled" and stored["cancel_requested_at"]
    partial = "".join(f.data["delta"] for f in frames if f.event == "token")
    assert stored["result"]["content"] == partial and stored["result"]["complete"] is False
    assert len(partial.split()) < 30


async def test_killed_worker_job_is_requeued_and_finishes(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    text = " ".join(f"k{i}" for i in range(8))
    job = (await client.post("/api/chat", json=_body(text))).json()
    killed: list[bool] = []

    async def kill_worker_after_two_tokens(frame: Frame) -> None:
        if frame.event == "token" and frame.data["delta"].startswith("k1") and not killed:
            stack.worker().kill()
            killed.append(True)
            stack.start_worker("llm")

    frames = await read_sse(
        client, job["events_url"], timeout=60, on_frame=kill_worker_after_two_tokens
    )

    statuses = [(f.data["status"], f.data["attempt"]) for f in frames if f.event == "status"]
    assert statuses == [("running", 1), ("queued", 1), ("running", 2)]
    assert frames[-1].event == "done" and frames[-1].data["status"] == "succeeded"
    last_attempt = frames[max(i for i, f in enumerate(frames) if f.event == "status") :]
    assert "".join(f.data["delta"] for f in last_attempt if f.event == "token") == text
    stored = (await client.get(f"/api/jobs/{job['id']}")).json()
    assert stored["status"] == "succeeded" and stored["attempt"] == 2
    assert stored["result"]["content"] == text


async def test_job_past_the_retry_cap_fails_with_a_clear_error(
    client: httpx.AsyncClient,
    sessions,
    user: tuple[str, str],  # type: ignore[no-untyped-def]
) -> None:
    job_id = await _queued_job(sessions, await _user_id(sessions, user[0]))
    async with sessions.begin() as session:  # as if its third worker died mid-job
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="running",
                attempt=3,
                started_at=datetime.now(UTC),
                lease_until=datetime.now(UTC) - timedelta(seconds=5),
            )
        )
    frames = await read_sse(client, f"/api/jobs/{job_id}/events", timeout=20)
    assert [f.event for f in frames] == ["error", "done"]
    assert frames[0].data["code"] == "worker_lost"
    assert "3 attempts" in frames[0].data["message"]
    assert frames[1].data["status"] == "failed"
    stored = (await client.get(f"/api/jobs/{job_id}")).json()
    assert stored["status"] == "failed" and stored["error"]["code"] == "worker_lost"


async def test_duplicate_deliveries_never_run_a_job_twice(client: httpx.AsyncClient) -> None:
    """Duplicates of the message arrive while the job streams: the worker has free slots, takes
    them, and the atomic claim refuses each one."""
    text = " ".join(f"d{i}" for i in range(10))
    job = (await client.post("/api/chat", json=_body(text, "mock/echo-slow"))).json()
    await read_sse(client, job["events_url"], limit=2)  # running: status and a first token
    celery = create_celery("test-duplicates", Settings())
    try:
        for _ in range(3):
            celery.send_task(TASKS[JobKind.chat], args=[job["id"]], queue=QUEUE_OF[JobKind.chat])
    finally:
        celery.close()
    frames = await read_sse(client, job["events_url"])
    await asyncio.sleep(0.5)  # let the duplicates reach the worker and be refused
    again = await read_sse(client, job["events_url"])
    assert again == frames
    assert [f.event for f in frames].count("status") == 1
    assert "".join(f.data["delta"] for f in frames if f.event == "token") == text
    assert (await client.get(f"/api/jobs/{job['id']}")).json()["attempt"] == 1
