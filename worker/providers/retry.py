"""The one retry layer: a failure before the first token is retried with exponential backoff
and jitter (or after the provider's Retry-After); a failure after it ends the job, since the
tokens already streamed cannot be taken back. The SDKs' own retries are off (`max_retries=0`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

from shared.errors import ProviderRetryable
from shared.logging import get_logger
from shared.schemas.chat import ChatMessage
from worker.providers.base import Chunk, GenerationConfig, Provider

log = get_logger(__name__)

BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 30.0


def backoff(attempt: int) -> float:
    """0.5 s, 1 s, 2 s, … with ±25 % jitter, capped."""
    delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt)
    return delay * random.uniform(0.75, 1.25)


async def stream_with_retries(
    provider: Provider, messages: list[ChatMessage], config: GenerationConfig, *, retries: int
) -> AsyncIterator[Chunk]:
    for attempt in range(retries + 1):
        started = False
        try:
            async for chunk in provider.stream(messages, config):
                started = started or bool(chunk.delta or chunk.refusal)
                yield chunk
            return
        except ProviderRetryable as exc:
            if started or attempt == retries:
                raise
            delay = exc.retry_after if exc.retry_after is not None else backoff(attempt)
            delay = min(delay, MAX_DELAY_SECONDS)
            log.warning(
                "provider.retrying",
                provider=provider.name,
                attempt=attempt + 1,
                delay=round(delay, 3),
                error=exc.message,
            )
            await asyncio.sleep(delay)
