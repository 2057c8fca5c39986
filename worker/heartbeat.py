"""Worker heartbeats for `/ready`: each worker scores itself in `switchyard:workers:{queue}`.

Runs in the worker's main process on a small thread, whatever the pool (prefork children and
pool threads come and go; the consumer that owns the queues does not).

A sandbox worker also publishes its isolation probe (worker/sandbox/probe.py) in
`switchyard:sandbox:probes`, and one that cannot isolate (unsafe mode off) does not score itself
in the sandbox queue: `/ready` counts it out and says why.
"""

from __future__ import annotations

import json
import threading
import time

import redis

from shared import keys
from shared.queue import SANDBOX_QUEUE
from shared.settings import Settings
from worker.sandbox import probe

INTERVAL_SECONDS = 5.0
_stop = threading.Event()
_state: dict[str, object] = {}


def start(settings: Settings, hostname: str, queues: list[str]) -> None:
    client = redis.Redis.from_url(settings.store.redis_url)
    _stop.clear()
    _state.update(client=client, hostname=hostname, queues=queues)
    unsafe = settings.sandbox.allow_unsafe
    thread = threading.Thread(
        target=_beat,
        args=(client, hostname, queues, unsafe),
        daemon=True,
        name="switchyard-heartbeat",
    )
    thread.start()


def _beat(client: redis.Redis, hostname: str, queues: list[str], unsafe: bool) -> None:
    probed = probe.at_start() if SANDBOX_QUEUE in queues else None
    refused = probed is not None and not probed.isolated and not unsafe
    while not _stop.is_set():
        try:
            now = time.time()
            with client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    if not (queue == SANDBOX_QUEUE and refused):
                        pipe.zadd(keys.workers(queue), {hostname: now})
                    pipe.zremrangebyscore(keys.workers(queue), 0, now - 6 * INTERVAL_SECONDS)
                if probed is not None:
                    state = {**probed.as_dict(), "unsafe": unsafe, "seen": now}
                    pipe.hset(keys.sandbox_probes(), hostname, json.dumps(state))
                pipe.execute()
            if probed is not None:
                _prune_probes(client, now - 6 * INTERVAL_SECONDS)
        except redis.RedisError:
            pass  # Redis is down: /ready reports that on its own
        _stop.wait(INTERVAL_SECONDS)


def _prune_probes(client: redis.Redis, before: float) -> None:
    """Drop the probes of sandbox workers that stopped beating (killed, not stopped)."""
    stale = []
    for name, raw in client.hgetall(keys.sandbox_probes()).items():
        try:
            seen = float(json.loads(raw)["seen"])
        except (ValueError, KeyError, TypeError):
            seen = 0.0
        if seen < before:
            stale.append(name)
    if stale:
        client.hdel(keys.sandbox_probes(), *stale)


def stop() -> None:
    _stop.set()
    client = _state.get("client")
    if isinstance(client, redis.Redis):
        try:
            for queue in _state.get("queues", []):  # type: ignore[attr-defined]
                client.zrem(keys.workers(queue), str(_state["hostname"]))
            client.hdel(keys.sandbox_probes(), str(_state["hostname"]))
        except redis.RedisError:
            pass
        client.close()
