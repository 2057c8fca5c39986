from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services.chat import submit_chat
from api.services.waiting import wait_for_done
from shared.repositories.jobs import JobRepository
from shared.schemas.chat import ChatInput
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
    job = await submit_chat(
        state,
        session,
        principal,
        payload,
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
