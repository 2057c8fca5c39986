"""Resources of one API process, built in the lifespan and reached through `api.deps`."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import Authenticator, Principal
from api.ratelimit import RateLimiter
from api.relay import EventFollower, Relay
from shared.db import SessionFactory, create_engine, create_session_factory
from shared.eventlog import EventLog
from shared.queue import create_celery
from shared.redispool import create_redis
from shared.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    redis: Redis
    events: EventLog
    relay: Relay
    follower: EventFollower
    auth: Authenticator
    limiter: RateLimiter
    celery: Celery
    dev_user: Principal | None = None

    @classmethod
    async def build(cls, settings: Settings) -> AppState:
        engine = create_engine(settings.store)
        sessions = create_session_factory(engine)
        redis = create_redis(settings.store.redis_url)
        events = EventLog(redis, sessions, settings.jobs)
        relay = Relay(Redis.from_url(settings.store.redis_url), settings.jobs.subscriber_queue_size)
        await relay.start()
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            events=events,
            relay=relay,
            follower=EventFollower(relay, events),
            auth=Authenticator(sessions, redis, settings.auth),
            limiter=RateLimiter(redis),
            celery=create_celery("switchyard-api", settings),
        )

    async def aclose(self) -> None:
        await self.relay.stop()
        await self.redis.aclose()
        await self.engine.dispose()
        self.celery.close()
