"""One asyncio event loop per worker process, with the resources built inside it.

Celery calls tasks synchronously (from prefork children or pool threads); each task hands its
coroutine to this process's loop and waits. So one process serves many I/O-bound jobs at once
(`--pool threads`), and the database engine, Redis pool and SDK clients are built once, inside
the loop that uses them. The runtime starts on first use in each process (fork-safe: a child
never inherits its parent's loop) and closes on worker shutdown.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import SessionFactory, create_engine, create_session_factory
from shared.eventlog import EventLog
from shared.redispool import create_redis
from shared.settings import Settings, get_settings
from worker.cancel import CancelWatcher
from worker.providers.registry import ProviderRegistry
from worker.sandbox.runner import Sandbox

T = TypeVar("T")


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    redis: Redis
    events: EventLog
    providers: ProviderRegistry
    http: httpx.AsyncClient
    cancels: CancelWatcher
    sandbox: Sandbox
    hostname: str

    @classmethod
    async def build(cls, settings: Settings) -> Resources:
        engine = create_engine(
            settings.store, pool_size=max(5, settings.jobs.llm_worker_concurrency)
        )
        sessions = create_session_factory(engine)
        redis = create_redis(settings.store.redis_url)
        cancels = CancelWatcher(redis)
        await cancels.start()
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            events=EventLog(redis, sessions, settings.jobs),
            providers=ProviderRegistry.from_settings(settings.providers),
            http=httpx.AsyncClient(timeout=settings.providers.provider_timeout_seconds),
            cancels=cancels,
            sandbox=Sandbox(settings.sandbox),
            hostname=f"{socket.gethostname()}:{os.getpid()}",
        )

    async def aclose(self) -> None:
        await self.cancels.stop()
        await self.providers.aclose()
        await self.http.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (it comes with uvicorn[standard]): every token a job streams
    costs a provider read and a Redis round trip on this one loop, and uvloop's I/O and
    scheduling cost a fraction of the pure-Python selector loop's (docs/benchmarks.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.pid = os.getpid()
        self.loop = _new_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="switchyard-loop", daemon=True
        )
        self._thread.start()
        self.resources: Resources = self.call(Resources.build(settings))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this process's loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        try:
            self.call(self.resources.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None or _runtime.pid != os.getpid():
            _runtime = Runtime(get_settings())
        return _runtime


def close_runtime() -> None:
    global _runtime
    with _lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None
