from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import CurrentUser, SessionDep, State, StreamReader
from api.services.event_ids import parse_after
from api.services.jobs import JobService, job_out
from shared.models import Job
from shared.schemas.job_state import JobKind, JobStatus
from shared.schemas.jobs import JobOut, JobPage

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

RECONNECT_MS = 1000


class StreamToken(BaseModel):
    token: str
    expires_at: int
    events_url: str
    ws_url: str


@router.get("", response_model=JobPage)
async def list_jobs(
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        datetime | None, Query(description="created_at of the last item seen")
    ] = None,
) -> JobPage:
    jobs = await JobService(state, session).jobs.list_owned(
        principal.user_id, kind=kind, status=status, limit=limit, before=before
    )
    items = [job_out(job) for job in jobs]
    next_before = items[-1].created_at if len(items) == limit else None
    return JobPage(items=items, next_before=next_before)


@router.get("/{job_id}", response_model=JobOut)
async def get_job(
    job_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> JobOut:
    return job_out(await JobService(state, session).owned(principal, job_id))


@router.post("/{job_id}/cancel", response_model=JobOut)
async def cancel_job(
    job_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> JobOut:
    service = JobService(state, session)
    job = await service.cancel(await service.owned(principal, job_id))
    return job_out(job)


@router.post("/{job_id}/token", response_model=StreamToken)
async def stream_token(
    job_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> StreamToken:
    """A short-lived token that opens this job's event stream (for EventSource/WebSocket)."""
    await JobService(state, session).owned(principal, job_id)
    token, expires = state.auth.issue_stream_token(principal, job_id)
    return StreamToken(
        token=token,
        expires_at=expires,
        events_url=f"/api/jobs/{job_id}/events?token={token}",
        ws_url=f"/api/ws?token={token}",
    )


def accepted(response: Response, job: Job) -> JobOut:
    """A created job's answer: the job, and its URL in `Location`."""
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job_out(job)


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def job_events(
    job_id: UUID,
    request: Request,
    principal: StreamReader,
    state: State,
    session: SessionDep,
    after: Annotated[str | None, Query(description="resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """The job's event log over SSE: everything after `Last-Event-ID` (or `after`), live until
    `done`, with a `: keepalive` comment every 15 s."""
    job = await JobService(state, session).owned(principal, job_id)
    resume_from = parse_after(last_event_id or after)
    await session.close()  # the stream may last long; hold no connection meanwhile

    async def frames() -> AsyncIterator[ServerSentEvent]:
        # `retry` tells EventSource how soon to reconnect (with Last-Event-ID) if the stream
        # is cut, e.g. when this API process shuts down.
        yield ServerSentEvent(comment="stream", retry=RECONNECT_MS)
        async for event in state.follower.follow(job, resume_from):
            yield ServerSentEvent(id=event.id, event=event.type, data=event.data)

    return EventSourceResponse(
        frames(),
        ping=state.settings.jobs.sse_keepalive_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="keepalive"),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
