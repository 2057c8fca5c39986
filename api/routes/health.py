from __future__ import annotations

import json
import time

from fastapi import APIRouter, Response
from sqlalchemy import text

from api.deps import State
from shared import keys
from shared.queue import QUEUES

router = APIRouter(tags=["operations"])

_WORKER_FRESH_SECONDS = 30


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(state: State, response: Response) -> dict[str, object]:
    """Readiness: the database and Redis answer, and each queue has a live worker (a sandbox
    worker counts only if it can isolate code; `checks.sandbox` says how each one fared)."""
    checks: dict[str, object] = {}
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await state.redis.ping()
        checks["redis"] = "ok"
        since = time.time() - _WORKER_FRESH_SECONDS
        workers = {}
        for queue in QUEUES:
            workers[queue] = await state.redis.zcount(keys.workers(queue), since, "+inf")
        checks["workers"] = workers
        checks["sandbox"] = await _sandbox_probes(state, since)
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        workers = {}
    ok = (
        checks["database"] == "ok"
        and checks["redis"] == "ok"
        and all(workers.get(queue, 0) > 0 for queue in QUEUES)
    )
    response.status_code = 200 if ok else 503
    return {"status": "ready" if ok else "not ready", "checks": checks}


async def _sandbox_probes(state: State, since: float) -> dict[str, str]:
    """Each live sandbox worker's isolation probe: "isolated", or why it cannot run code."""
    probes: dict[str, str] = {}
    for hostname, raw in (await state.redis.hgetall(keys.sandbox_probes())).items():
        try:
            probe = json.loads(raw)
            if probe["seen"] < since:
                continue
            detail = "isolated" if probe["isolated"] else f"cannot isolate: {probe['detail']}"
            if not probe["isolated"] and probe["unsafe"]:
                detail = f"UNSAFE (runs code without isolation): {probe['detail']}"
        except (ValueError, KeyError, TypeError):
            continue
        name = hostname.decode() if isinstance(hostname, bytes) else str(hostname)
        probes[name] = detail
    return probes
