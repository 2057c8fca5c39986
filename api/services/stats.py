"""Usage and latency figures for one user, with an energy/CO2 estimate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Float, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Job

PERCENTILES = (0.5, 0.95, 0.99)


def _tokens(direction: str) -> Any:
    return func.coalesce(cast(Job.usage[direction].astext, Integer), 0)


def _seconds(end: Any, start: Any) -> Any:
    return func.extract("epoch", end - start)


async def usage_by_model(session: AsyncSession, owner_id: UUID) -> list[dict[str, Any]]:
    query = (
        select(
            Job.model,
            func.count().label("jobs"),
            func.sum(_tokens("input_tokens")).label("input_tokens"),
            func.sum(_tokens("output_tokens")).label("output_tokens"),
            func.sum(func.coalesce(cast(Job.usage["cost"].astext, Float), 0.0)).label("cost"),
        )
        .where(Job.owner_id == owner_id)
        .group_by(Job.model)
        .order_by(Job.model)
    )
    return [
        {
            "model": row.model or "none",
            "jobs": row.jobs,
            "input_tokens": int(row.input_tokens),
            "output_tokens": int(row.output_tokens),
            "cost": round(float(row.cost), 6),
        }
        for row in (await session.execute(query)).all()
    ]


async def latency(session: AsyncSession, owner_id: UUID) -> dict[str, dict[str, float | None]]:
    measures = {
        "queue_wait": _seconds(Job.started_at, Job.created_at),
        "time_to_first_token": _seconds(Job.first_token_at, Job.created_at),
        "run_time": _seconds(Job.finished_at, Job.started_at),
    }
    columns = [
        func.percentile_cont(p).within_group(expression).label(f"{name}_{p}")
        for name, expression in measures.items()
        for p in PERCENTILES
    ]
    row = (await session.execute(select(*columns).where(Job.owner_id == owner_id))).one()
    return {
        name: {f"p{int(p * 100)}": _round(getattr(row, f"{name}_{p}")) for p in PERCENTILES}
        for name in measures
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def energy_estimate(total_tokens: int, wh_per_1k_tokens: float, g_co2_per_kwh: float) -> dict:
    kwh = total_tokens / 1000 * wh_per_1k_tokens / 1000
    return {
        "estimate": True,
        "note": "a rough estimate from token counts, not a measurement",
        "coefficients": {"wh_per_1k_tokens": wh_per_1k_tokens, "g_co2_per_kwh": g_co2_per_kwh},
        "kwh": round(kwh, 9),
        "g_co2": round(kwh * g_co2_per_kwh, 6),
    }
