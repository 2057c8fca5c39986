from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep, State
from api.services.usage_report import usage_report

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/stats")
async def get_stats(principal: CurrentUser, state: State, session: SessionDep) -> dict[str, Any]:
    """Your token usage per model, your jobs' latency percentiles, the queues' depth, and an
    energy/CO2 estimate (labelled as such, with its coefficients)."""
    return await usage_report(state, session, principal)
