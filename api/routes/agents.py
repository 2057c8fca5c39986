from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentUser, State
from api.services import agents
from shared.schemas.chat import ModelName
from shared.schemas.job_state import JobKind

router = APIRouter(prefix="/api", tags=["agents"])


class AgentChoice(BaseModel):
    """The default model per job kind; `null` goes back to the server's default."""

    model_config = ConfigDict(extra="forbid")

    chat: ModelName | None = None
    judge: ModelName | None = None


@router.get("/agents")
async def get_agents(principal: CurrentUser, state: State) -> dict[str, Any]:
    """Which model answers each kind of job when a request names none."""
    return await agents.defaults(state.redis, principal, state.settings.providers)


@router.put("/agents")
async def put_agents(body: AgentChoice, principal: CurrentUser, state: State) -> dict[str, Any]:
    choices = {JobKind(kind): model for kind, model in body.model_dump(exclude_unset=True).items()}
    await agents.choose(state.redis, principal, choices, state.settings.providers)
    return await agents.defaults(state.redis, principal, state.settings.providers)
