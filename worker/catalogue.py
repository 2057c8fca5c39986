"""The model catalogue: each configured provider's models, shared by all API replicas.

Fetched hourly by beat and on `GET /api/models?refresh=true`; a provider that fails to list is
reported in `errors`, not fatal.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shared import keys
from shared.logging import get_logger
from shared.schemas.models import ModelCatalogue, ModelEntry
from worker.providers.base import Provider
from worker.runtime import Resources

log = get_logger(__name__)

CATALOGUE_TTL_SECONDS = 3600
_LIST_TIMEOUT_SECONDS = 15.0


async def _list(provider: Provider) -> list[ModelEntry]:
    async with asyncio.timeout(_LIST_TIMEOUT_SECONDS):
        models = await provider.list_models()
    return [
        ModelEntry(
            id=m.id,
            provider=m.provider,
            name=m.name or m.id.split("/", 1)[-1],
            context_length=m.context_length,
        )
        for m in models
    ]


async def refresh_catalogue(res: Resources) -> ModelCatalogue:
    providers = res.providers.all()
    results = await asyncio.gather(*(_list(p) for p in providers), return_exceptions=True)
    models: list[ModelEntry] = []
    errors: dict[str, str] = {}
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, BaseException):
            message = str(result) or type(result).__name__
            log.warning("catalogue.provider_failed", provider=provider.name, error=message)
            errors[provider.name] = message
        else:
            models.extend(result)
    catalogue = ModelCatalogue(models=models, errors=errors, fetched_at=datetime.now(UTC))
    await res.redis.set(keys.MODELS_CACHE, catalogue.model_dump_json(), ex=CATALOGUE_TTL_SECONDS)
    return catalogue
