"""Sliding-window rate limits counted in Redis, so they hold across API replicas.

Each subject has a sorted set of its accepted requests' times (Redis server time, so replicas
with skewed clocks agree). A request is accepted while fewer than `limit` lie in the last
`per_seconds`; a refused one is not counted, and learns when the oldest will age out.
"""

from __future__ import annotations

import math
import uuid

from redis.asyncio import Redis

from shared import keys
from shared.errors import RateLimited

# KEYS[1]: the subject's set. ARGV: limit, window (ms), a unique member.
# Returns 0 when accepted, else the milliseconds until a slot frees up.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, scope: str, subject: str, *, limit: int, per_seconds: int = 60) -> None:
        """Count one request; raise `RateLimited` (with Retry-After) past `limit` in any
        `per_seconds` window."""
        wait_ms = await self._script(
            keys=[keys.rate_limit(scope, subject)],
            args=[limit, per_seconds * 1000, uuid.uuid4().hex],
        )
        if int(wait_ms) > 0:
            raise RateLimited(
                f"rate limit of {limit} {scope} requests per {per_seconds} s reached",
                retry_after=max(1, math.ceil(int(wait_ms) / 1000)),
            )
