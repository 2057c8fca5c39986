"""Worker heartbeats for `/ready`: each worker scores itself in `switchyard:workers:{queue}`.

Runs in the worker's main process on a small thread, whatever the pool (prefork children and
pool threads come and go; the consumer that owns the queues does not).
"""

from __future__ import annotations

import threading
import time

import redis

from shared import keys
from shared.settings import Settings

INTERVAL_SECONDS = 5.0
_stop = threading.Event()
_state: dict[str, object] = {}


def start(settings: Settings, hostname: str, queues: list[str]) -> None:
    client = redis.Redis.from_url(settings.store.redis_url)
    _stop.clear()
    _state.update(client=client, hostname=hostname, queues=queues)
    thread = threading.Thread(
        target=_beat, args=(client, hostname, queues), daemon=True, name="switchyard-heartbeat"
    )
    thread.start()


def _beat(client: redis.Redis, hostname: str, queues: list[str]) -> None:
    while not _stop.is_set():
        try:
            now = time.time()
            with client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.zadd(keys.workers(queue), {hostname: now})
                    pipe.zremrangebyscore(keys.workers(queue), 0, now - 6 * INTERVAL_SECONDS)
                pipe.execute()
        except redis.RedisError:
            pass  # Redis is down: /ready reports that on its own
        _stop.wait(INTERVAL_SECONDS)


def stop() -> None:
    _stop.set()
    client = _state.get("client")
    if isinstance(client, redis.Redis):
        try:
            for queue in _state.get("queues", []):  # type: ignore[attr-defined]
                client.zrem(keys.workers(queue), str(_state["hostname"]))
        except redis.RedisError:
            pass
        client.close()
