"""The model catalogue: every configured provider's models, shared through Redis."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from api.state import AppState
from shared import keys
from shared.errors import ServiceUnavailable
from shared.queue import REFRESH_MODELS_TASK
from shared.schemas.models import ModelCatalogue

_REFRESH_WAIT_SECONDS = 20.0


async def _cached(state: AppState) -> ModelCatalogue | None:
    raw = await state.redis.get(keys.MODELS_CACHE)
    return ModelCatalogue.model_validate_json(raw) if raw else None


async def catalogue(state: AppState, *, refresh: bool) -> ModelCatalogue:
    """The shared catalogue; fetched by a worker when missing or when asked to refresh."""
    current = await _cached(state)
    if current is not None and not refresh:
        return current
    asked_at = datetime.now(UTC)
    await asyncio.to_thread(state.celery.send_task, REFRESH_MODELS_TASK)
    deadline = time.monotonic() + _REFRESH_WAIT_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        fresh = await _cached(state)
        if fresh is not None and fresh.fetched_at >= asked_at:
            fresh.cached = False
            return fresh
    if current is not None:
        return current
    raise ServiceUnavailable("no worker answered the model catalogue request; try again")
