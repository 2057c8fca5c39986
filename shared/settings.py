"""Configuration, read once from the environment, grouped by the part of the system that owns it.

Every field has a default that points at the local services, so nothing needs setting on a
development machine. `get_settings()` is the only accessor; nothing reads `os.environ` directly.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ENV = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class StoreSettings(BaseSettings):
    """Postgres and Redis: shared by every process."""

    model_config = _ENV

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/switchyard"
    redis_url: str = "redis://127.0.0.1:6379/0"
    celery_broker_url: str = ""
    db_pool_size: int = 10

    @model_validator(mode="after")
    def _broker_defaults_to_redis(self) -> StoreSettings:
        if not self.celery_broker_url:
            self.celery_broker_url = self.redis_url
        return self

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value


class AuthSettings(BaseSettings):
    """The API's authentication, tokens and rate limits."""

    model_config = _ENV

    dev_mode: bool = False
    basic_auth_user: str = ""
    basic_auth_pw_hash: str = ""
    secret_key: str = ""
    stream_token_ttl_seconds: int = 3600
    auth_cache_ttl_seconds: int = 60
    auth_max_failures_per_minute: int = 20
    job_rate_limit_per_minute: int = 600
    run_rate_limit_per_minute: int = 10


class CorsSettings(BaseSettings):
    """Browser origins allowed to call the API (CORS_ORIGINS: comma-separated, e.g.
    `https://app.example.com,http://localhost:8080`). DEV_MODE adds the local dev servers."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix="CORS_"
    )

    origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            value = json.loads(value)
        elif isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(o).strip().rstrip("/") for o in value if str(o).strip()]
        return value


class JobSettings(BaseSettings):
    """The job lifecycle: leases, the reaper, the event log."""

    model_config = _ENV

    lease_seconds: float = 30.0
    lease_renew_seconds: float = 10.0
    reaper_interval_seconds: float = 15.0
    max_attempts: int = 3
    event_stream_maxlen: int = 100_000
    event_stream_ttl_seconds: int = 6 * 3600
    sse_keepalive_seconds: float = 15.0
    subscriber_queue_size: int = 1024
    chat_wait_timeout_seconds: float = 120.0
    llm_worker_concurrency: int = 32
    run_max_turns: int = 50


class ProviderSettings(BaseSettings):
    """LLM providers (used by the worker; the API only asks which ones are configured)."""

    model_config = _ENV

    openai_api_key: str = ""
    openai_base_url: str = ""
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""
    openrouter_api_key: str = ""
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    app_url: str = "http://localhost:8000"
    app_title: str = "Switchyard"
    mock_token_delay_ms: float = 20.0
    default_model: str = ""
    provider_max_retries: int = 3
    provider_timeout_seconds: float = 120.0
    model_prices: dict[str, list[float]] = Field(
        default_factory=dict, description="USD per 1M input/output tokens, by provider/model"
    )

    def configured(self) -> list[str]:
        """Provider names that can serve requests here; `mock` always can."""
        names = ["mock"]
        if self.openai_api_key:
            names.append("openai")
        if self.anthropic_api_key:
            names.append("anthropic")
        if self.openrouter_api_key:
            names.append("openrouter")
        return names

    def default_chat_model(self) -> str:
        if self.default_model:
            return self.default_model
        if self.openai_api_key:
            return "openai/gpt-4o-mini"
        if self.anthropic_api_key:
            return "anthropic/claude-sonnet-4-5"
        if self.openrouter_api_key:
            return "openrouter/meta-llama/llama-3.1-8b-instruct"
        return "mock/echo"

    def default_judge_model(self) -> str:
        model = self.default_chat_model()
        return "mock/judge" if model.startswith("mock/") else model


class SandboxSettings(BaseSettings):
    """The code sandbox (worker-sandbox only)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix="SANDBOX_"
    )

    allow_unsafe: bool = False  # run code without isolation where bwrap cannot (development only)
    enable_network: bool = False  # let an execution ask for a network namespace of its own
    python: str = ""  # absolute interpreter for sandboxed code; found under /usr when empty
    # Host uids sandboxed code runs as, one per job: uid .. uid + uid_count - 1, leased across
    # the host's workers with lock files in uid_lock_dir (default: <tmp>/switchyard-sandbox-uids).
    # Never root, or RLIMIT_NPROC is ignored and a fork bomb is unbounded. A worker that is not
    # root can only use its own uid (see docker-compose.yml): its range is that one uid.
    uid: int = Field(200_000, ge=1)
    uid_count: int = Field(1_000, ge=1)
    uid_lock_dir: str = ""
    tmpfs_size_mb: int = 64  # the writable scratch folder /tmp inside the sandbox
    # Server-side maxima (Judge0's names and units).
    max_cpu_time_limit: float = 15.0
    max_wall_time_limit: float = 20.0
    max_memory_limit: int = 512_000
    max_processes_and_or_threads: int = 120
    max_file_size: int = 4_096
    max_output_size: int = 4_096


class ObservabilitySettings(BaseSettings):
    model_config = _ENV

    log_level: str = "INFO"
    log_json: bool = True
    # Coefficients of the energy/CO2 estimate in /api/stats (an estimate, labelled as such).
    energy_wh_per_1k_tokens: float = 0.3
    carbon_g_co2_per_kwh: float = 400.0


class Settings(BaseSettings):
    model_config = _ENV

    store: StoreSettings = Field(default_factory=StoreSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
