"""The two-agent run plan's API, mapped onto runs, job events and cancel:

    POST  /api/run                      -> POST /api/runs (bots may say `prompt`)
    GET   /api/stream/{id}              -> GET  /api/jobs/{id}/events
    PATCH /api/run/{id}/bot/{index}     -> PATCH /api/runs/{id}/bots/{index} ({prompt, temperature})
    POST  /api/run/{id}/stop            -> POST /api/runs/{id}/stop
    GET   /api/export/{id}.json         -> GET  /api/runs/{id}/export.json
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse

from api.deps import CurrentUser, SessionDep, State, StreamReader
from api.routes import jobs, runs
from shared.schemas.runs import BotPatch, PatchOut, RunExport, RunInput

router = APIRouter()


@router.post("/api/run", status_code=202)
async def start_run(
    payload: RunInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    job = await runs.create_run(payload, request, response, principal, state, session)
    return {
        "run_id": str(job.id),
        "stream_url": f"/api/stream/{job.id}",
        **job.model_dump(mode="json"),
    }


@router.get("/api/stream/{run_id}", response_class=EventSourceResponse)
async def stream_run(
    run_id: UUID,
    request: Request,
    principal: StreamReader,
    state: State,
    session: SessionDep,
    after: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    return await jobs.job_events(run_id, request, principal, state, session, after, last_event_id)


@router.patch("/api/run/{run_id}/bot/{index}", response_model=PatchOut, status_code=202)
async def patch_bot(
    run_id: UUID,
    index: int,
    patch: BotPatch,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> PatchOut:
    return await runs.patch_bot(run_id, index, patch, principal, state, session)


@router.post("/api/run/{run_id}/stop")
async def stop_run(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    job = await runs.stop_run(run_id, principal, state, session)
    return {"run_id": str(job.id), "status": job.status.value}


@router.get("/api/export/{run_id}.json", response_model=RunExport)
async def export_run(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> RunExport:
    return await runs.export_json(run_id, principal, state, session)
