"""The environment every test process shares: its own database and Redis database."""

from __future__ import annotations

import os

TEST_DATABASE = os.environ.get("SWITCHYARD_TEST_DATABASE", "switchyard_test")
TEST_REDIS_DB = os.environ.get("SWITCHYARD_TEST_REDIS_DB", "14")
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")

ENV = {
    "DATABASE_URL": f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{TEST_DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
    "SECRET_KEY": "test-secret-key",
    "DEV_MODE": "false",
    "LOG_JSON": "true",
    "MOCK_TOKEN_DELAY_MS": "5",
    # Short leases so a dead worker's job is recovered within seconds in the tests.
    "LEASE_SECONDS": "3",
    "LEASE_RENEW_SECONDS": "1",
    "REAPER_INTERVAL_SECONDS": "1",
    "MAX_ATTEMPTS": "3",
    "AUTH_MAX_FAILURES_PER_MINUTE": "1000",
    "JOB_RATE_LIMIT_PER_MINUTE": "100000",
    "OPENAI_API_KEY": "",
    "ANTHROPIC_API_KEY": "",
    "OPENROUTER_API_KEY": "",
    "BASIC_AUTH_USER": "",
    "BASIC_AUTH_PW_HASH": "",
}


def apply() -> None:
    os.environ.update(ENV)
