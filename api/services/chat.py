"""One-shot chat jobs: the model resolved as the user chose it, then submitted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services import agents
from api.services.jobs import JobService
from api.state import AppState
from shared.models import Job
from shared.schemas.chat import ChatInput
from shared.schemas.job_state import JobKind


async def submit_chat(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    payload: ChatInput,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> Job:
    """Submit `payload` as a chat job, with the user's default model when it names none."""
    payload.model = await agents.resolve_model(
        state.redis, principal, JobKind.chat, payload.model, state.settings.providers
    )
    return await JobService(state, session).submit(
        principal,
        JobKind.chat,
        payload,
        model=payload.model,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
