"""The event log of a job: a capped Redis stream plus a pub/sub channel, archived in Postgres.

Publishing is one round trip (a Lua script appends with XADD, publishes the entry with its id,
and sets the stream's expiry), so a subscriber always learns the id a replay would give.
Channel payloads and replayed entries share one wire form, `StoredEvent`, whose `data` is the
event's JSON exactly as published: the relay forwards it without parsing or re-encoding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared import keys
from shared.db import SessionFactory
from shared.models import JobEvent
from shared.schemas.events import Event
from shared.settings import JobSettings
from shared.storable import storable

# KEYS[1] stream; ARGV: channel, maxlen, type, data, ttl_after_done, ttl_safety
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 't', ARGV[3], 'd', ARGV[4])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
if ARGV[3] == 'done' then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
else
  redis.call('EXPIRE', KEYS[1], ARGV[6], 'NX')
end
return id
"""
_SAFETY_TTL_SECONDS = 7 * 24 * 3600  # a stream whose job never finished still goes away


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    type: str
    data: str  # the event's JSON

    @classmethod
    def from_channel(cls, payload: str) -> StoredEvent:
        event_id, event_type, data = payload.split(" ", 2)
        return cls(event_id, event_type, data)


def event_id_key(event_id: str) -> tuple[int, int]:
    """Stream ids compare as (milliseconds, sequence), not as strings."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class EventLog:
    def __init__(self, redis: Redis, sessions: SessionFactory, settings: JobSettings) -> None:
        self._redis = redis
        self._sessions = sessions
        self._settings = settings
        self._script = redis.register_script(_PUBLISH)

    async def publish(self, event: Event) -> str:
        job_id = event.job_id
        data = event.model_dump_json()
        if "\\u0000" in data:  # Postgres could not archive it: see shared/storable.py
            data = json.dumps(storable(json.loads(data)), separators=(",", ":"))
        event_id = await self._script(
            keys=[keys.events_stream(job_id)],
            args=[
                keys.events_channel(job_id),
                self._settings.event_stream_maxlen,
                event.type,
                data,
                self._settings.event_stream_ttl_seconds,
                _SAFETY_TTL_SECONDS,
            ],
        )
        return _decode(event_id)

    async def replay_after(self, job_id: UUID, after: str | None) -> list[StoredEvent]:
        """Events after `after` (exclusive) from the Redis stream; all of them when None."""
        start = f"({after}" if after else "-"
        entries: list[Any] = (
            await self._redis.xrange(keys.events_stream(job_id), min=start, max="+") or []
        )
        return [
            StoredEvent(_decode(entry_id), _decode(fields[b"t"]), _decode(fields[b"d"]))
            for entry_id, fields in entries
        ]

    async def is_done(self, job_id: UUID, event_id: str) -> bool:
        """Whether `event_id` is the job's `done` event."""
        entries: list[Any] = (
            await self._redis.xrange(keys.events_stream(job_id), min=event_id, max=event_id) or []
        )
        return bool(entries) and entries[0][1].get(b"t") == b"done"

    async def stream_exists(self, job_id: UUID) -> bool:
        return bool(await self._redis.exists(keys.events_stream(job_id)))

    async def archive(self, job_id: UUID) -> int:
        """Copy the job's whole stream into Postgres (idempotent), for replay after expiry."""
        events = await self.replay_after(job_id, None)
        if not events:
            return 0
        rows = []
        for event in events:
            ms, seq = event_id_key(event.id)
            rows.append(
                {
                    "job_id": job_id,
                    "ms": ms,
                    "seq": seq,
                    "type": event.type,
                    "data": json.loads(event.data),
                }
            )
        async with self._sessions.begin() as session:
            # executemany with one cached statement: `.values(rows)` compiled a new statement
            # with 5 binds per event for every job (a tenth of a worker's CPU at 200 tokens).
            await session.execute(insert(JobEvent).on_conflict_do_nothing(), rows)
        return len(rows)

    async def archived_after(self, job_id: UUID, after: str | None) -> list[StoredEvent]:
        query = select(JobEvent).where(JobEvent.job_id == job_id)
        if after:
            ms, seq = event_id_key(after)
            query = query.where((JobEvent.ms > ms) | ((JobEvent.ms == ms) & (JobEvent.seq > seq)))
        async with self._sessions() as session:
            rows = (await session.scalars(query.order_by(JobEvent.ms, JobEvent.seq))).all()
        return [
            StoredEvent(
                f"{r.ms}-{r.seq}",
                r.type,
                json.dumps(r.data, separators=(",", ":"), ensure_ascii=False),
            )
            for r in rows
        ]
