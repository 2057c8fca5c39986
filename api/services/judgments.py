"""LLM judgments: the task's criteria checked and the judge model resolved, then submitted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services import agents
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Invalid, NotFound
from shared.models import Job
from shared.schemas.job_state import JobKind
from shared.schemas.judge import JudgeInput
from shared.tasks import Task, get_task


def judged_task(name: str, *, field: str = "task") -> Task:
    """The task named, which must have judge criteria (422 naming `field` otherwise)."""
    try:
        task = get_task(name)
    except NotFound as exc:
        raise Invalid(exc.message, field=field) from exc
    if not task.judge_criteria:
        raise Invalid(f"task {task.name!r} has no judge criteria", field=field)
    return task


async def submit_judgment(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    payload: JudgeInput,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    if payload.task:
        judged_task(payload.task)
    payload.model = await agents.resolve_model(
        state.redis, principal, JobKind.judge, payload.model, state.settings.providers
    )
    return await JobService(state, session).submit(
        principal,
        JobKind.judge,
        payload,
        model=payload.model,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
