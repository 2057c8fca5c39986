"""The asyncio Redis client every process builds at start-up, on a pool sized for load.

redis-py 6+ caps a default pool at 100 connections and raises `MaxConnectionsError` past that
(older versions had no cap). A worker with more than 100 jobs publishing tokens at the same
moment, or an API replaying more than 100 logs at once, then crashed jobs and requests under
load (found by `make bench`). The cap here is far above what a process's concurrency can
reach (a worker's threads, an API's in-flight requests); a `BlockingConnectionPool` would also
bound it, but costs ~25 µs more per command, and every token is one command.
"""

from __future__ import annotations

from redis.asyncio import ConnectionPool, Redis

MAX_CONNECTIONS = 2_000


def create_redis(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis:
    return Redis.from_pool(ConnectionPool.from_url(url, max_connections=max_connections))
