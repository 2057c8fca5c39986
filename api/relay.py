"""Fan-out of job events to this process's clients over one Redis pub/sub connection.

Subscribe first, then replay: `follow()` subscribes to the job's channel (and waits for Redis
to confirm), reads the backlog from the stream, then drains live messages, dropping ids it
already sent. Each subscriber has a bounded queue; one that falls behind is dropped (its
stream ends, and the client resumes by id) so it never slows the others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from shared import keys
from shared.errors import ServiceUnavailable
from shared.eventlog import EventLog, StoredEvent, event_id_key
from shared.logging import get_logger
from shared.models import Job
from shared.schemas.events import DoneEvent
from shared.schemas.job_state import JobStatus, Usage

log = get_logger(__name__)

_SUBSCRIBE_TIMEOUT_SECONDS = 5.0
# A job that ended this recently may still be publishing its final events: follow it live.
_SETTLING = timedelta(seconds=10)


@dataclass(eq=False)
class Subscription:
    # None wakes a waiting reader to tell it it was dropped (see `drop`).
    queue: asyncio.Queue[StoredEvent | None]
    overflowed: bool = False

    def drop(self) -> None:
        """End this client's feed; it resumes by id. Wakes a reader blocked on an empty queue."""
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


@dataclass
class _Channel:
    subscribers: set[Subscription] = field(default_factory=set)
    confirmations: collections.deque[asyncio.Future[None]] = field(
        default_factory=collections.deque
    )


class Relay:
    def __init__(self, redis: Redis, queue_size: int) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._channels: dict[str, _Channel] = {}
        self._pubsub = redis.pubsub()
        self._reader: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(c.subscribers) for c in self._channels.values())

    async def start(self) -> None:
        # A private channel keeps the connection subscribed while no job is being followed.
        await self._pubsub.subscribe(f"switchyard:relay:{uuid.uuid4()}")
        self._reader = asyncio.create_task(self._read(), name="relay-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(asyncio.Queue(self._queue_size))
        state = self._channels.setdefault(channel, _Channel())
        state.subscribers.add(subscription)
        try:
            if len(state.subscribers) == 1:
                await self._subscribe(channel, state)
            if state.confirmations:
                try:
                    await asyncio.wait_for(
                        asyncio.shield(state.confirmations[-1]), _SUBSCRIBE_TIMEOUT_SECONDS
                    )
                except TimeoutError as exc:
                    raise ServiceUnavailable("the event relay did not answer; retry") from exc
            yield subscription
        finally:
            state.subscribers.discard(subscription)
            if not state.subscribers:
                if not state.confirmations:
                    self._channels.pop(channel, None)
                with contextlib.suppress(RedisConnectionError):
                    await self._pubsub.unsubscribe(channel)

    async def _subscribe(self, channel: str, state: _Channel) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        state.confirmations.append(confirmed)
        try:
            await self._pubsub.subscribe(channel)
        except Exception as exc:
            # Leave no confirmation behind that nobody will ever resolve.
            with contextlib.suppress(ValueError):
                state.confirmations.remove(confirmed)
            confirmed.cancel()
            raise ServiceUnavailable("the event relay cannot reach Redis; retry") from exc

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
            except RedisConnectionError:
                # redis-py resubscribes on reconnect, but what was published meanwhile is
                # gone: drop every client so each resumes by id from the stream.
                log.warning("relay.redis_disconnected", subscribers=self.subscriber_count)
                self._drop_all()
                await asyncio.sleep(0.5)
            except Exception:
                # One bad message must not end the feed of every stream in this process.
                log.exception("relay.dispatch_failed")

    def _drop_all(self) -> None:
        for state in self._channels.values():
            for subscription in state.subscribers:
                subscription.drop()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        state = self._channels.get(channel)
        if state is None:
            return
        kind = message["type"]
        if kind == "subscribe":
            if state.confirmations:
                future = state.confirmations.popleft()
                if not future.done():
                    future.set_result(None)
            if not state.subscribers and not state.confirmations:
                self._channels.pop(channel, None)
            return
        if kind != "message":
            return
        event = StoredEvent.from_channel(message["data"].decode())
        for subscription in state.subscribers:
            if subscription.overflowed:
                continue
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.drop()
                log.warning("relay.subscriber_dropped", channel=channel)


class EventFollower:
    """Gives one client a job's events after an id: backlog, then live, ending after `done`."""

    def __init__(self, relay: Relay, events: EventLog) -> None:
        self.relay = relay
        self.events = events

    async def follow(self, job: Job, after: str | None) -> AsyncIterator[StoredEvent]:
        async with self.relay.subscribe(keys.events_channel(job.id)) as subscription:
            backlog = await self.events.replay_after(job.id, after)
            if not backlog:
                if after and await self.events.is_done(job.id, after):
                    return  # the client already has the whole log
                if _terminal(job) and not await self.events.stream_exists(job.id):
                    for event in await self._from_archive(job, after):
                        yield event
                    return
            last = after
            for event in backlog:
                yield event
                last = event.id
                if event.type == "done":
                    return
            if _long_finished(job):
                # Its done never reached the log (the worker died right after finishing).
                for event in await self._from_archive(job, last):
                    yield event
                return
            async for event in _live(subscription, last):
                yield event

    async def _from_archive(self, job: Job, after: str | None) -> list[StoredEvent]:
        """The log from Postgres, ending with `done` (rebuilt from the job row if missing)."""
        archived = await self.events.archived_after(job.id, None)
        if not archived or archived[-1].type != "done":
            archived.append(
                _rebuilt_done(job, [e.id for e in archived] + ([after] if after else []))
            )
        if after is None:
            return archived
        return [e for e in archived if event_id_key(e.id) > event_id_key(after)]


def _rebuilt_done(job: Job, seen_ids: list[str]) -> StoredEvent:
    done = DoneEvent(
        job_id=job.id, status=JobStatus(job.status), usage=Usage.model_validate(job.usage or {})
    )
    finished = job.finished_at or datetime.now(UTC)
    key = (int(finished.timestamp() * 1000), 0)
    for seen in seen_ids:
        ms, seq = event_id_key(seen)
        key = max(key, (ms, seq + 1))
    return StoredEvent(f"{key[0]}-{key[1]}", "done", done.model_dump_json())


async def _live(subscription: Subscription, last: str | None) -> AsyncIterator[StoredEvent]:
    last_key = event_id_key(last) if last else (-1, -1)
    while True:
        if subscription.overflowed and subscription.queue.empty():
            return  # dropped for falling behind: the client resumes from its last id
        event = await subscription.queue.get()
        if event is None:
            return  # dropped (fell behind, or Redis reconnected): the client resumes by id
        key = event_id_key(event.id)
        if key <= last_key:
            continue
        last_key = key
        yield event
        if event.type == "done":
            return


def _terminal(job: Job) -> bool:
    return JobStatus(job.status).terminal


def _long_finished(job: Job) -> bool:
    if not _terminal(job):
        return False
    return job.finished_at is None or datetime.now(UTC) - job.finished_at > _SETTLING
