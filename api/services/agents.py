"""The default model per job kind (`/api/agents`): the user's choice, else the server's."""

from __future__ import annotations

from redis.asyncio import Redis

from api.auth import Principal
from shared import keys
from shared.providers import check_model
from shared.schemas.job_state import JobKind
from shared.settings import ProviderSettings

CHOOSABLE = (JobKind.chat, JobKind.judge)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def server_default(kind: JobKind, settings: ProviderSettings) -> str:
    if kind is JobKind.judge:
        return settings.default_judge_model()
    return settings.default_chat_model()


async def defaults(redis: Redis, principal: Principal, settings: ProviderSettings) -> dict:
    chosen = await redis.hgetall(keys.agents(principal.user_id))
    result = {}
    for kind in CHOOSABLE:
        mine = chosen.get(kind.value.encode())
        result[kind.value] = {
            "model": _text(mine) if mine else server_default(kind, settings),
            "source": "user" if mine else "server",
        }
    return result


async def default_model(
    redis: Redis, principal: Principal, kind: JobKind, settings: ProviderSettings
) -> str:
    mine = await redis.hget(keys.agents(principal.user_id), kind.value)
    return _text(mine) if mine else server_default(kind, settings)


async def resolve_model(
    redis: Redis,
    principal: Principal,
    kind: JobKind,
    asked: str | None,
    settings: ProviderSettings,
) -> str:
    """The model a request asked for, else the caller's default for `kind`; 422 if no
    configured provider serves it."""
    return check_model(asked or await default_model(redis, principal, kind, settings), settings)


async def choose(
    redis: Redis,
    principal: Principal,
    choices: dict[JobKind, str | None],
    settings: ProviderSettings,
) -> None:
    """Set (a model) or reset (None) the user's default for each kind given."""
    key = keys.agents(principal.user_id)
    for kind, model in choices.items():
        if model is None:
            await redis.hdel(key, kind.value)
        else:
            await redis.hset(key, kind.value, check_model(model, settings))
