"""Sandboxed executions: what the server allows checked before the job is submitted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Invalid, NotFound
from shared.models import Job
from shared.schemas.execute import ExecuteInput
from shared.schemas.job_state import JobKind
from shared.tasks import get_task


async def submit_execution(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    payload: ExecuteInput,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    if payload.limits.enable_network and not state.settings.sandbox.enable_network:
        raise Invalid("network access is disabled on this server", field="limits.enable_network")
    if payload.task:
        try:
            get_task(payload.task)
        except NotFound as exc:
            raise Invalid(exc.message, field="task") from exc
    return await JobService(state, session).submit(
        principal,
        JobKind.execute,
        payload,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
