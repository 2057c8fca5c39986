"""A user's usage report: tokens per model, latency percentiles, queue depths, and the
energy/CO2 estimate (labelled as an estimate, with its coefficients)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services import stats
from api.state import AppState
from shared.queue import QUEUES


async def usage_report(
    state: AppState, session: AsyncSession, principal: Principal
) -> dict[str, Any]:
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
