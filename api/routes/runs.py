from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import PlainTextResponse

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services.jobs import job_out
from api.services.runs import RunService, export_markdown
from shared.schemas.jobs import JobOut
from shared.schemas.runs import BotPatch, PatchOut, RunExport, RunInput

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.post("", response_model=JobOut, status_code=202)
async def create_run(
    payload: RunInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Two bots talk about `topic` for `max_turns` turns; events stream on the job."""
    job = await RunService(state, session).submit(
        principal, payload, idempotency_key=idempotency_key, request_id=request.state.request_id
    )
    return accepted(response, job)


@router.patch("/{run_id}/bots/{index}", response_model=PatchOut, status_code=202)
async def patch_bot(
    run_id: UUID,
    index: int,
    patch: BotPatch,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> PatchOut:
    """Change a bot from the next turn on; a `patch_applied` event confirms it."""
    service = RunService(state, session)
    stored = await service.patch_bot(await service.owned(principal, run_id), index, patch)
    await session.commit()
    return PatchOut.model_validate(stored)


@router.post("/{run_id}/stop", response_model=JobOut)
async def stop_run(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> JobOut:
    """Stop the run (the job cancel); the partial turn is kept, marked incomplete."""
    service = RunService(state, session)
    return job_out(await service.jobs.cancel(await service.owned(principal, run_id)))


@router.get("/{run_id}/export.json", response_model=RunExport)
async def export_json(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> RunExport:
    service = RunService(state, session)
    return await service.export(await service.owned(principal, run_id))


@router.get("/{run_id}/export.md", response_class=PlainTextResponse)
async def export_md(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> PlainTextResponse:
    service = RunService(state, session)
    export = await service.export(await service.owned(principal, run_id))
    return PlainTextResponse(export_markdown(export), media_type="text/markdown")
