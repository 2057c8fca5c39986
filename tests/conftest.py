"""Fixtures on the real services: a fresh test database migrated with Alembic, a flushed Redis
database, and the real API, worker and beat processes started once per session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import bcrypt
import httpx
import pytest
import redis

from tests.support import env

env.apply()

from shared.db import create_engine, create_session_factory  # noqa: E402
from shared.settings import StoreSettings  # noqa: E402
from tests.fakes.control import FakeProviders  # noqa: E402
from tests.support.processes import ROOT, Stack  # noqa: E402

TEST_PASSWORD = "correct horse battery staple"


def _pg_dsn(database: str) -> str:
    return f"postgresql://postgres@{env.PG_HOST}:5432/{database}"


async def _recreate_database() -> None:
    connection = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{env.TEST_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{env.TEST_DATABASE}"')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def database() -> str:
    """A fresh database with every migration applied, as `alembic upgrade head` builds it."""
    await _recreate_database()
    migrate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await migrate.communicate()
    assert migrate.returncode == 0, output.decode()
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
async def sessions(database: str) -> AsyncIterator[object]:
    engine = create_engine(StoreSettings(), pool_size=5)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProviders]:
    """The fake provider server, which every real adapter of the stack points at."""
    fake = FakeProviders(tmp_path_factory.mktemp("fake") / "fake.log")
    yield fake
    fake.stop()


@pytest.fixture
def fake(providers: FakeProviders) -> FakeProviders:
    """The fake provider server, reset for this test."""
    providers.reset()
    return providers


@pytest.fixture(scope="session")
def stack(
    database: str,
    redis_db: redis.Redis,
    providers: FakeProviders,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    # Every provider is configured (against the fake), the mock stays the default model.
    env = {**os.environ, **providers.env(), "DEFAULT_MODEL": "mock/echo"}
    stack = Stack(workdir=workdir, env=env)
    try:
        stack.start_api()
        stack.start_worker("llm")
        stack.start_worker("sandbox", concurrency=2)
        stack.start_beat()
        stack.wait_ready(("llm", "sandbox"))
        yield stack
    finally:
        stack.stop()


async def create_user(sessions: object, name: str | None = None) -> tuple[str, str]:
    """A user in the database (bcrypt with a low cost factor to keep the tests quick)."""
    from shared.repositories.users import UserRepository

    name = name or f"user-{uuid.uuid4().hex[:10]}"
    password_hash = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    async with sessions.begin() as session:  # type: ignore[attr-defined]
        await UserRepository(session).upsert(name, password_hash)
    return name, TEST_PASSWORD


@pytest.fixture
async def user(sessions: object) -> tuple[str, str]:
    return await create_user(sessions)


@pytest.fixture
async def client(stack: Stack, user: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, auth=user, timeout=30) as http:
        yield http


@pytest.fixture
async def other_client(stack: Stack, sessions: object) -> AsyncIterator[httpx.AsyncClient]:
    other = await create_user(sessions)
    async with httpx.AsyncClient(base_url=stack.base_url, auth=other, timeout=30) as http:
        yield http


@pytest.fixture
async def anonymous(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        yield http
