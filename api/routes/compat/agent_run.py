"""The two-agent run plan (seeds/001): runs, their stream of token deltas, steering, export.

    POST  /api/run                   RunCreate {bots: [2], max_turns, topic} -> {id}
    GET   /api/stream/{id}           SSE, data-only frames:
                                     {"type": "token", "role": "bot0", "delta": ...}
                                     {"type": "turn_complete", "turn": n}
                                     {"type": "error", "message": ...}
                                     and last {"type": "done", "status": ...}
    PATCH /api/run/{id}/bot/{index}  BotPatch {prompt?, temperature?}: from the next turn
    POST  /api/run/{id}/stop         cancel
    GET   /api/export/{id}.json      the transcript so far, as a download

Auth is the native HTTP Basic (the plan's own: `/api/**` guarded unless DEV_MODE); starting
a run is limited to RUN_RATE_LIMIT_PER_MINUTE (10) per user, as the plan's slowapi limit was.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import Principal
from api.deps import CurrentUser, SessionDep, State, StreamReader
from api.services import validation, waiting
from api.services.event_ids import parse_after
from api.services.model_names import native_model
from api.services.runs import RunService
from api.state import AppState
from shared.models import Job
from shared.schemas.job_state import JobStatus
from shared.schemas.runs import BotConfig, BotPatch, RunExport, RunInput

router = APIRouter()

# The plan's run statuses: 'running', 'completed', 'cancelled', 'error'.
STATUS = {
    JobStatus.queued: "running",
    JobStatus.running: "running",
    JobStatus.succeeded: "completed",
    JobStatus.cancelled: "cancelled",
    JobStatus.failed: "error",
}
_STOP_WAIT_SECONDS = 5.0
# Lines end in "\n", which every SSE reader splits on (a hand-written fetch reader too).
SEP = "\n"


class BotCreate(BaseModel):
    """A bot as the plan's frontend sends it: a provider and a model (or `provider/model`),
    its `prompt`, its temperature."""

    # Unknown fields are ignored, as the plan's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field("", max_length=100)
    provider: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=200)
    prompt: str = Field(
        "", max_length=50_000, validation_alias=AliasChoices("prompt", "system_prompt")
    )
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1, le=32_000)


class RunCreate(BaseModel):
    # Unknown fields are ignored, as the plan's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    bots: list[BotCreate] = Field(min_length=2, max_length=2)
    max_turns: int = Field(6, ge=1, description="capped by the server's RUN_MAX_TURNS")
    # The plan's loop calls it `initial_topic`; its table, `topic`.
    topic: str = Field(
        min_length=1, max_length=50_000, validation_alias=AliasChoices("topic", "initial_topic")
    )


@router.post("/api/run")
async def start_run(
    body: RunCreate, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Start run, returns `{id}`."""
    bots = [await _native_bot(state, principal, bot) for bot in body.bots]
    payload = validation.build(RunInput, bots=bots, topic=body.topic, max_turns=body.max_turns)
    job = await RunService(state, session).submit(
        principal, payload, idempotency_key=None, request_id=request.state.request_id
    )
    return {"id": str(job.id), "status": STATUS[JobStatus(job.status)]}


async def _native_bot(state: AppState, principal: Principal, bot: BotCreate) -> BotConfig:
    model = await native_model(state, principal, bot.model, provider=bot.provider)
    fields = bot.model_dump(exclude={"provider", "model", "prompt"}, exclude_none=True)
    return validation.build(BotConfig, model=model, system_prompt=bot.prompt, **fields)


@router.get("/api/stream/{run_id}", response_class=EventSourceResponse)
async def stream_run(
    run_id: UUID,
    principal: StreamReader,
    state: State,
    session: SessionDep,
    after: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """SSE stream of token deltas & turn markers (resumable with Last-Event-ID)."""
    job = await RunService(state, session).owned(principal, run_id)
    resume_from = parse_after(last_event_id or after)
    await session.close()  # the stream may last long; hold no connection meanwhile
    return EventSourceResponse(
        _frames(state, job, resume_from),
        ping=state.settings.jobs.sse_keepalive_seconds,
        sep=SEP,
        ping_message_factory=lambda: ServerSentEvent(comment="keepalive", sep=SEP),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(state: AppState, job: Job, after: str | None) -> AsyncIterator[ServerSentEvent]:
    async for event in state.follower.follow(job, after):
        frame = _plan_frame(event.type, json.loads(event.data))
        if frame is not None:
            yield ServerSentEvent(id=event.id, data=json.dumps(frame), sep=SEP)


def _plan_frame(kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """A native run event as the plan's orchestrator yielded it (None: the plan had none)."""
    if kind == "token":
        return {"type": "token", "role": f"bot{data['bot']}", "delta": data["delta"]}
    if kind == "turn_end":
        return {"type": "turn_complete", "turn": data["turn"], "role": f"bot{data['bot']}"}
    if kind == "error":
        return {"type": "error", "message": f"Provider error: {data['message']}"}
    if kind == "done":
        return {"type": "done", "status": STATUS[JobStatus(data["status"])]}
    return None


class PlanBotPatch(BaseModel):
    """The plan's `BotPatch` (prompt?, temperature?), as lenient as the bot it changes: other
    keys are ignored, a model may come bare or with its provider (checked by `BotPatch`)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = Field(None, validation_alias=AliasChoices("prompt", "system_prompt"))
    temperature: float | None = None
    name: str | None = None
    provider: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=200)
    max_tokens: int | None = None


@router.patch("/api/run/{run_id}/bot/{index}")
async def patch_bot(
    run_id: UUID,
    index: int,
    body: PlanBotPatch,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Update bot config mid-conversation: it takes effect on the very next turn."""
    changes = body.model_dump(exclude_unset=True)
    provider = changes.pop("provider", None)
    if "prompt" in changes:
        changes["system_prompt"] = changes.pop("prompt")
    if changes.get("model"):
        changes["model"] = await native_model(state, principal, body.model, provider=provider)
    patch = validation.build(BotPatch, **changes)
    service = RunService(state, session)
    stored = await service.patch_bot(await service.owned(principal, run_id), index, patch)
    await session.commit()
    return {"id": str(run_id), "index": index, "bot": _plan_bot(stored.changes)}


@router.post("/api/run/{run_id}/stop")
async def stop_run(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Cancel the run; answers once it has stopped (or after a few seconds, still stopping)."""
    service = RunService(state, session)
    job = await service.jobs.cancel(await service.owned(principal, run_id))
    await session.close()
    await waiting.wait_for_done(state, job, _STOP_WAIT_SECONDS)
    job = await waiting.reload(session, run_id)
    return {"id": str(run_id), "status": STATUS[JobStatus(job.status)]}


@router.get("/api/export/{run_id}.json")
async def export_run(
    run_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> JSONResponse:
    """Final or partial transcript download."""
    service = RunService(state, session)
    export = await service.export(await service.owned(principal, run_id))
    return JSONResponse(
        _plan_export(export),
        headers={"Content-Disposition": f'attachment; filename="{run_id}.json"'},
    )


def _plan_export(export: RunExport) -> dict[str, Any]:
    native = export.model_dump(mode="json")
    error = export.error.message if export.error else None
    return {
        "id": native["id"],
        "topic": export.topic,
        "max_turns": export.max_turns,
        "status": STATUS[export.status],
        "error_message": error,
        "bots": [_plan_bot(bot) for bot in native["bots"]],
        "transcript": [
            {"role": f"bot{t.bot}", "content": t.content, "turn": t.turn, "complete": t.complete}
            for t in export.turns
        ],
        **{k: native[k] for k in ("usage", "created_at", "started_at", "finished_at")},
    }


def _plan_bot(fields: dict[str, Any]) -> dict[str, Any]:
    """A bot's fields with the plan's name for its system prompt, `prompt`."""
    bot = dict(fields)
    if "system_prompt" in bot:
        bot["prompt"] = bot.pop("system_prompt")
    return bot
