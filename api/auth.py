"""HTTP Basic against bcrypt hashes, with a short in-memory cache of successful checks, and
short-lived signed tokens that open one job's stream (browsers cannot set headers on
EventSource or WebSocket).

bcrypt costs ~0.3 s of CPU per check, so a verified (user, password) pair is remembered for
`AUTH_CACHE_TTL_SECONDS`, keyed by an HMAC of the credentials (the password is never kept).
Failed attempts are counted in Redis per user name before any hashing, so guessing is capped
across API replicas.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

import bcrypt
from redis.asyncio import Redis

from shared import keys
from shared.db import SessionFactory
from shared.errors import RateLimited, Unauthorized
from shared.logging import get_logger
from shared.repositories.users import UserRepository
from shared.settings import AuthSettings

log = get_logger(__name__)

BCRYPT_MAX_BYTES = 72
DEV_USER = "dev"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and (for a stream token) the one job they may read."""

    user_id: UUID
    name: str
    job_scope: UUID | None = None


def hash_password(password: str) -> str:
    encoded = password.encode()
    if len(encoded) > BCRYPT_MAX_BYTES:
        raise ValueError(f"passwords are limited to {BCRYPT_MAX_BYTES} bytes (bcrypt)")
    return bcrypt.hashpw(encoded, bcrypt.gensalt()).decode()


def _check_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


class Authenticator:
    def __init__(self, sessions: SessionFactory, redis: Redis, settings: AuthSettings) -> None:
        self._sessions = sessions
        self._redis = redis
        self._settings = settings
        self._secret = settings.secret_key.encode() or secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[float, Principal]] = {}

    @property
    def secret(self) -> bytes:
        return self._secret

    async def basic(self, name: str, password: str) -> Principal:
        if len(password.encode()) > BCRYPT_MAX_BYTES:
            raise Unauthorized("invalid credentials")
        cache_key = hmac.digest(self._secret, f"{name}\0{password}".encode(), "sha256")
        cached = self._cache.get(cache_key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        await self._check_failures(name)
        principal = await self._verify(name, password)
        if principal is None:
            await self._count_failure(name)
            raise Unauthorized("invalid credentials")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[cache_key] = (now + self._settings.auth_cache_ttl_seconds, principal)
        return principal

    async def _verify(self, name: str, password: str) -> Principal | None:
        async with self._sessions() as session:
            user = await UserRepository(session).get_by_name(name)
        if user is None:
            # Hash anyway so a missing user costs what a wrong password costs.
            await asyncio.to_thread(_check_password, password, _dummy_hash())
            return None
        if not await asyncio.to_thread(_check_password, password, user.password_hash):
            return None
        return Principal(user_id=user.id, name=user.name)

    async def _check_failures(self, name: str) -> None:
        window = int(time.time() // 60)
        failures = await self._redis.get(keys.auth_failures(name, window))
        if failures is not None and int(failures) >= self._settings.auth_max_failures_per_minute:
            raise RateLimited("too many failed logins; try again later", retry_after=60)

    async def _count_failure(self, name: str) -> None:
        key = keys.auth_failures(name, int(time.time() // 60))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            await pipe.execute()

    # Stream tokens: base64url(json{"job","user","name","exp"}) "." base64url(hmac-sha256)

    def issue_stream_token(self, principal: Principal, job_id: UUID) -> tuple[str, int]:
        expires = int(time.time()) + self._settings.stream_token_ttl_seconds
        claims = {
            "job": str(job_id),
            "user": str(principal.user_id),
            "name": principal.name,
            "exp": expires,
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.digest(self._secret, body.encode(), "sha256"))
        return f"{body}.{signature}", expires

    def verify_stream_token(self, token: str) -> Principal:
        body, _, signature = token.partition(".")
        expected = _b64(hmac.digest(self._secret, body.encode(), "sha256"))
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthorized("invalid stream token")
        try:
            claims = json.loads(_unb64(body))
            principal = Principal(UUID(claims["user"]), claims["name"], UUID(claims["job"]))
            expires = int(claims["exp"])
        except (ValueError, KeyError, TypeError) as exc:
            raise Unauthorized("invalid stream token") from exc
        if expires < time.time():
            raise Unauthorized("stream token expired; request a new one")
        return principal


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _dummy_hash() -> str:
    return bcrypt.hashpw(b"switchyard-dummy", bcrypt.gensalt()).decode()
