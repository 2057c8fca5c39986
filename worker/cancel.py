"""Cooperative cancel: one pub/sub connection per worker process listens for cancel requests.

The API sets a durable flag (`job:{id}:cancel`) and publishes `cancel <job_id>` on the control
channel. A job registers its handler task here while it runs; a cancel message cancels that
task, which closes the provider stream or kills the sandbox from its `finally`. The flag is
checked right after registering (a message sent before then is not missed) and at every lease
renewal (a message lost in transit is not missed either).
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from shared import keys
from shared.logging import get_logger

log = get_logger(__name__)


class CancelWatcher:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._tasks: dict[str, asyncio.Task[object]] = {}
        self._cancelled: set[str] = set()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(keys.CONTROL_CHANNEL)
        self._reader = asyncio.create_task(self._read(pubsub), name="cancel-watcher")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=None)
                except RedisConnectionError:
                    # redis-py reconnects and resubscribes on the next read; the durable flag,
                    # checked at each lease renewal, covers what was sent meanwhile.
                    log.warning("cancel_watcher.redis_disconnected")
                    await asyncio.sleep(0.5)
                    continue
                if message is None or message.get("type") != "message":
                    continue
                command, _, job_id = message["data"].decode().partition(" ")
                if command == "cancel":
                    self.cancel(job_id)
        finally:
            await pubsub.aclose()

    def register(self, job_id: UUID, task: asyncio.Task[object]) -> None:
        self._tasks[str(job_id)] = task

    def unregister(self, job_id: UUID) -> None:
        self._tasks.pop(str(job_id), None)
        self._cancelled.discard(str(job_id))

    def cancel(self, job_id: UUID | str) -> None:
        task = self._tasks.get(str(job_id))
        if task is not None and not task.done():
            log.info("job.cancelling", job_id=str(job_id))
            self._cancelled.add(str(job_id))
            task.cancel()

    def was_cancelled(self, job_id: UUID) -> bool:
        return str(job_id) in self._cancelled

    async def flag_set(self, job_id: UUID) -> bool:
        return bool(await self._redis.exists(keys.cancel_flag(job_id)))
