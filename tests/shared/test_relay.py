"""The relay on a real Redis: one pub/sub connection, and a slow client never slows the others."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import redis.asyncio as aioredis

from api.relay import Relay
from shared import keys
from shared.eventlog import EventLog
from shared.schemas.events import TokenEvent
from shared.settings import JobSettings


async def test_a_slow_subscriber_is_dropped_and_the_others_get_everything(sessions) -> None:  # type: ignore[no-untyped-def]
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    relay = Relay(aioredis.Redis.from_url(os.environ["REDIS_URL"]), queue_size=8)
    await relay.start()
    events = EventLog(redis, sessions, JobSettings())
    job_id = uuid.uuid4()
    try:
        channel = keys.events_channel(job_id)
        async with relay.subscribe(channel) as slow, relay.subscribe(channel) as fast:
            received: list[str] = []

            async def drain() -> None:
                while len(received) < 50:
                    received.append((await fast.queue.get()).id)

            reader = asyncio.create_task(drain())
            published = [
                await events.publish(TokenEvent(job_id=job_id, delta=f"t{i}")) for i in range(50)
            ]
            await asyncio.wait_for(reader, 5)
            assert received == published
            assert slow.overflowed and slow.queue.qsize() == 8
            assert [slow.queue.get_nowait().id for _ in range(8)] == published[:8]
            assert relay.subscriber_count == 2
        assert relay.subscriber_count == 0
    finally:
        await relay.stop()
        await redis.delete(keys.events_stream(job_id))
        await redis.aclose()


async def test_all_subscribers_share_one_pubsub_connection() -> None:
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    relay = Relay(aioredis.Redis.from_url(os.environ["REDIS_URL"]), queue_size=8)
    await relay.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(20):
                channel = keys.events_channel(uuid.uuid4())
                for _ in range(3):  # three clients on each of 20 jobs
                    await stack.enter_async_context(relay.subscribe(channel))
            assert relay.subscriber_count == 60
            clients = await redis.client_list(_type="pubsub")
            # 20 job channels plus the relay's own channel, all on one connection.
            assert len([c for c in clients if int(c["sub"]) == 21]) == 1
        assert relay.subscriber_count == 0
    finally:
        await relay.stop()
        await redis.aclose()


async def test_a_lost_redis_connection_drops_clients_so_they_resume_by_id(sessions) -> None:  # type: ignore[no-untyped-def]
    """Messages published while the pub/sub connection is down are lost to it: every client
    is dropped (a reader blocked on an empty queue is woken), and new ones are served again."""
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    name = f"relay-test-{uuid.uuid4().hex[:8]}"  # to kill this relay's connection, no other
    relay = Relay(aioredis.Redis.from_url(os.environ["REDIS_URL"], client_name=name), 8)
    await relay.start()
    events = EventLog(redis, sessions, JobSettings())
    job_id = uuid.uuid4()
    channel = keys.events_channel(job_id)
    try:
        async with relay.subscribe(channel) as waiting:
            reader = asyncio.create_task(waiting.queue.get())
            await asyncio.sleep(0.1)
            [ours] = [c for c in await redis.client_list() if c["name"] == name]
            assert await redis.client_kill_filter(_id=ours["id"]) == 1
            assert await asyncio.wait_for(reader, 5) is None
            assert waiting.overflowed
        for _ in range(50):  # redis-py reconnects on the reader's next call
            try:
                async with relay.subscribe(channel) as fresh:
                    sent = await events.publish(TokenEvent(job_id=job_id, delta="again"))
                    got = await asyncio.wait_for(fresh.queue.get(), 2)
                    assert got is not None and got.id == sent
                    break
            except (TimeoutError, AssertionError):
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the relay did not serve clients after reconnecting")
    finally:
        await relay.stop()
        await redis.delete(keys.events_stream(job_id))
        await redis.aclose()
