from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services import agents
from api.services.jobs import JobService
from api.state import AppState
from shared.models import Job
from shared.repositories.jobs import JobRepository
from shared.schemas.chat import ChatInput
from shared.schemas.job_state import JobKind
from shared.schemas.jobs import JobOut

router = APIRouter(prefix="/api", tags=["chat"])

IdempotencyKey = Annotated[str | None, Header(max_length=200)]


@router.post("/chat", response_model=JobOut, status_code=202)
async def create_chat(
    payload: ChatInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    wait: Annotated[bool, Query(description="answer with the finished reply")] = False,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """One-shot chat: a job whose reply streams as `token` events; `?wait=true` waits for it."""
    payload.model = await agents.resolve_model(
        state.redis, principal, JobKind.chat, payload.model, state.settings.providers
    )
    job = await JobService(state, session).submit(
        principal,
        JobKind.chat,
        payload,
        model=payload.model,
        idempotency_key=idempotency_key,
        request_id=request.state.request_id,
    )
    if wait:
        job_id = job.id
        await wait_for_done(state, job, state.settings.jobs.chat_wait_timeout_seconds)
        session.expire_all()
        job = await JobRepository(session).get(job_id) or job
        if job.finished_at is not None:
            response.status_code = 200
    return accepted(response, job)


async def wait_for_done(state: AppState, job: Job, seconds: float) -> bool:
    """Follow the job's log until `done`; False if it did not end within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            async for _ in state.follower.follow(job, None):
                pass
    except TimeoutError:
        return False
    return True
