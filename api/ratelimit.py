"""Fixed-window rate limits counted in Redis, so they hold across API replicas."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from shared import keys
from shared.errors import RateLimited


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def hit(self, scope: str, subject: str, *, limit: int, per_seconds: int = 60) -> None:
        """Count one request; raise `RateLimited` (with Retry-After) past `limit` per window."""
        now = time.time()
        window = int(now // per_seconds)
        key = keys.rate_limit(scope, subject, window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, per_seconds * 2)
            count, _ = await pipe.execute()
        if count > limit:
            retry_after = max(1, int((window + 1) * per_seconds - now + 0.999))
            raise RateLimited(
                f"rate limit of {limit} {scope} requests per {per_seconds} s reached",
                retry_after=retry_after,
            )
