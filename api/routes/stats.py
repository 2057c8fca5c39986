from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep, State
from api.services import stats
from shared.queue import QUEUES

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/stats")
async def get_stats(principal: CurrentUser, state: State, session: SessionDep) -> dict[str, Any]:
    """Your token usage per model, your jobs' latency percentiles, the queues' depth, and an
    energy/CO2 estimate (labelled as such, with its coefficients)."""
    usage = await stats.usage_by_model(session, principal.user_id)
    total = sum(row["input_tokens"] + row["output_tokens"] for row in usage)
    settings = state.settings.observability
    return {
        "usage": usage,
        "latency_seconds": await stats.latency(session, principal.user_id),
        "queues": {queue: await state.redis.llen(queue) for queue in QUEUES},
        "energy": stats.energy_estimate(
            total, settings.energy_wh_per_1k_tokens, settings.carbon_g_co2_per_kwh
        ),
    }
